"""Bringing population and share rasters onto the GHSL 1 km grid, and class GeoTIFF output."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Geod, Transformer
from rasterio.transform import from_origin

from gis.degurba.grid import GHSL_CRS, GhslWindow, cell_areas_km2, snap_bounds
from gis.degurba.population import read_population, read_share
from gis.degurba.rasters import class_polygons, read_class_geotiff, write_class_geotiff
from gis.errors import GisError

ARC_30 = 1 / 120  # 30 arc-seconds in degrees
# A GHSL window over Hangzhou (row/col offsets from the global origin).
HANGZHOU = GhslWindow(row_off=5600, col_off=29700, height=40, width=50)


def write_tif(path, values, transform, crs, nodata=None, dtype="float32"):
    with rasterio.open(
        path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
        dtype=dtype, crs=crs, transform=transform, nodata=nodata,
    ) as dst:
        dst.write(values.astype(dtype), 1)
    return path


def test_snap_bounds_lands_on_the_global_grid():
    window = snap_bounds((-18_041_000 + 2500.0, 9_000_000 - 7200.0, -18_041_000 + 4100.0, 9_000_000 - 3000.0))
    assert window == GhslWindow(row_off=3, col_off=2, height=5, width=3)
    assert window.transform == Affine(1000, 0, -18_039_000, 0, -1000, 8_997_000)
    # Geographic bounds: every corner of the curved footprint is inside the window.
    window = snap_bounds((120.0, 30.0, 120.5, 30.4), "EPSG:4326")
    to_moll = Transformer.from_crs("EPSG:4326", GHSL_CRS, always_xy=True)
    xs, ys = to_moll.transform(np.array([120.0, 120.5, 120.0, 120.5]), np.array([30.0, 30.0, 30.4, 30.4]))
    left, bottom, right, top = window.bounds
    assert (xs >= left).all() and (xs <= right).all() and (ys >= bottom).all() and (ys <= top).all()
    assert (left + 18_041_000) % 1000 == 0 and (9_000_000 - top) % 1000 == 0


def test_geographic_30_arc_second_raster_keeps_its_total(tmp_path):
    rng = np.random.default_rng(0)
    population = rng.gamma(0.6, 400.0, size=(48, 60))
    population[0:3, 0:4] = -9999  # nodata
    transform = from_origin(120.0, 30.4, ARC_30, ARC_30)
    path = write_tif(tmp_path / "pop_4326.tif", population, transform, "EPSG:4326", nodata=-9999, dtype="float64")
    layer = read_population(path)
    expected_total = population[population != -9999].sum()
    assert layer.resampled
    assert layer.total == pytest.approx(expected_total, rel=0.005)
    assert layer.total == pytest.approx(expected_total, rel=1e-9)  # binning preserves it exactly
    assert is_on_global_grid(layer.transform)
    # Cells entirely outside the source footprint are nodata, not zero.
    assert np.isnan(layer.values).any()


def is_on_global_grid(transform) -> bool:
    return (transform.c + 18_041_000) % 1000 == 0 and (9_000_000 - transform.f) % 1000 == 0 and transform.a == 1000


def test_one_source_cell_is_split_in_proportion_to_area(tmp_path):
    # A single 30" cell of 1 000 persons, surrounded by zeros: each 1 km cell must get
    # 1 000 × (share of the source cell's area inside it), computed here with shapely.
    population = np.zeros((5, 5))
    population[2, 2] = 1000.0
    west, north = 120.013, 30.217
    transform = from_origin(west, north, ARC_30, ARC_30)
    path = write_tif(tmp_path / "one.tif", population, transform, "EPSG:4326", dtype="float64")
    layer = read_population(path)
    # The source cell as a densified polygon in Mollweide.
    lon0, lat1 = west + 2 * ARC_30, north - 2 * ARC_30
    lon1, lat0 = west + 3 * ARC_30, north - 3 * ARC_30
    ring = shapely.segmentize(shapely.box(lon0, lat0, lon1, lat1), ARC_30 / 50)
    to_moll = Transformer.from_crs("EPSG:4326", GHSL_CRS, always_xy=True)
    source_cell = shapely.transform(ring, lambda xy: np.column_stack(to_moll.transform(xy[:, 0], xy[:, 1])))
    rows, cols = np.nonzero(layer.values > 0)
    left, _, _, top = layer.window.bounds
    cells = shapely.box(left + cols * 1000, top - (rows + 1) * 1000, left + (cols + 1) * 1000, top - rows * 1000)
    expected = 1000.0 * shapely.area(shapely.intersection(cells, source_cell)) / source_cell.area
    assert layer.values[rows, cols].sum() == pytest.approx(1000.0)
    # Exact overlap: the only approximation is a straight edge between projected corners.
    np.testing.assert_allclose(layer.values[rows, cols], expected, atol=0.05)
    assert len(rows) >= 2  # the cell does straddle 1 km cells (the test means something)


def test_raster_on_the_ghsl_grid_is_used_cell_for_cell(tmp_path):
    rng = np.random.default_rng(1)
    population = rng.integers(0, 3000, size=HANGZHOU.shape).astype("float32")
    population[5, 7] = -200  # GHS-POP's nodata value
    path = write_tif(tmp_path / "ghs.tif", population, HANGZHOU.transform, "ESRI:54009", nodata=-200)
    layer = read_population(path)
    assert not layer.resampled
    assert layer.window == HANGZHOU
    assert layer.values.shape == population.shape and layer.transform == HANGZHOU.transform
    expected = population.astype("float64")
    expected[5, 7] = np.nan
    np.testing.assert_array_equal(layer.values, expected)
    # A sub-window of the same grid is read, not resampled, too.
    inner = GhslWindow(HANGZHOU.row_off + 10, HANGZHOU.col_off + 5, 8, 9)
    np.testing.assert_array_equal(read_population(path, inner).values, expected[10:18, 5:14])


def test_negative_population_is_an_error_naming_count_and_place(tmp_path):
    population = np.full(HANGZHOU.shape, 10.0)
    population[3, 4] = -5
    population[20, 30] = -1
    path = write_tif(tmp_path / "neg.tif", population, HANGZHOU.transform, "ESRI:54009")
    with pytest.raises(GisError) as error:
        read_population(path)
    message = str(error.value)
    assert "neg.tif" in message and "2 cell(s)" in message and "row 3 col 4" in message


def test_unreadable_and_unreferenced_files_are_user_errors(tmp_path):
    text = tmp_path / "not_a_raster.tif"
    text.write_text("hello")
    with pytest.raises(GisError, match="not_a_raster.tif"):
        read_population(text)
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", driver="GTiff", width=3, height=3, count=1, dtype="float32") as dst:
        dst.write(np.ones((1, 3, 3), dtype="float32"))
    with pytest.raises(GisError, match="no CRS"):
        read_population(bare)


def test_density_is_converted_with_true_cell_areas(tmp_path):
    density = np.full(HANGZHOU.shape, 1000.0)
    path = write_tif(tmp_path / "density.tif", density, HANGZHOU.transform, "ESRI:54009")
    layer = read_population(path, values="density")
    areas = cell_areas_km2(HANGZHOU.transform, HANGZHOU.shape, GHSL_CRS)
    np.testing.assert_allclose(layer.values, 1000.0 * areas)
    # Independent check of the areas: geodesic area of two cells' corner polygons.
    to_geo = Transformer.from_crs(GHSL_CRS, "EPSG:4326", always_xy=True)
    geod = Geod(ellps="WGS84")
    for row, col in ((0, 0), (39, 49)):
        x0, y0 = (HANGZHOU.transform.c + 1000 * col, HANGZHOU.transform.f - 1000 * row)
        lon, lat = to_geo.transform([x0, x0 + 1000, x0 + 1000, x0], [y0, y0, y0 - 1000, y0 - 1000])
        geodesic_km2 = abs(geod.polygon_area_perimeter(lon, lat)[0]) / 1e6
        assert areas[row, col] == pytest.approx(geodesic_km2, rel=1e-4)
    # Mollweide in PROJ is spherical: at 30°N a "1 km²" cell is not exactly 1 km².
    assert 0.99 < areas.mean() < 1.0


def test_share_rasters_are_averaged_onto_the_grid(tmp_path):
    # A 500 m land-share raster aligned with the GHSL grid: each 1 km cell averages 4 values.
    fine = np.zeros((HANGZHOU.height * 2, HANGZHOU.width * 2))
    fine[0::2, 0::2] = 1.0  # one of four sub-cells is land
    fine[:, -2:] = 1.0  # last column of 1 km cells: all land
    transform = Affine(500, 0, HANGZHOU.transform.c, 0, -500, HANGZHOU.transform.f)
    path = write_tif(tmp_path / "land.tif", fine, transform, "ESRI:54009")
    share = read_share(path, HANGZHOU).values
    np.testing.assert_allclose(share[:, :-1], 0.25)
    np.testing.assert_allclose(share[:, -1], 1.0)
    bad = write_tif(tmp_path / "pct.tif", fine * 100, transform, "ESRI:54009")
    with pytest.raises(GisError, match="expected shares between 0 and 1"):
        read_share(bad, HANGZHOU)


def test_class_geotiff_has_colours_names_nodata_and_round_trips(tmp_path):
    codes = np.full((4, 5), 11, dtype=np.uint8)
    codes[0, 0] = 30
    codes[1, 1:3] = 23
    codes[3, 4] = 255
    path = write_class_geotiff(tmp_path / "l2.tif", codes, HANGZHOU.transform, level=2)
    with rasterio.open(path) as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 255
        assert src.transform == HANGZHOU.transform
        assert src.colormap(1)[30][:3] == (255, 0, 0)
        assert src.colormap(1)[23][:3] == (0x73, 0x26, 0x00)
        assert src.colormap(1)[10][:3] == (0x7A, 0xB6, 0xF5)
        assert src.tags(1)["CLASS_30"] == "urban centre"
        np.testing.assert_array_equal(src.read(1), codes)
    assert not list(tmp_path.glob(".l2.*"))  # no temporary file left behind
    grid = read_class_geotiff(path)
    assert grid.window.shape == (4, 5) and grid.transform == HANGZHOU.transform


def test_failed_write_leaves_the_previous_file(tmp_path):
    path = write_class_geotiff(tmp_path / "l2.tif", np.full((3, 3), 12, np.uint8), HANGZHOU.transform)
    before = path.read_bytes()
    with pytest.raises(IndexError):
        write_class_geotiff(path, np.full((3,), 12, np.uint8), HANGZHOU.transform)  # 1-D: fails
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l2.tif"]


def test_polygons_merge_adjacent_cells_of_a_class():
    codes = np.array(
        [[30, 30, 12],
         [30, 12, 12],
         [255, 11, 30]],
        dtype=np.uint8,
    )
    polygons = class_polygons(codes, HANGZHOU.transform)
    assert polygons.crs.to_epsg() == 4326
    by_class = polygons.groupby("degurba_l2").size().to_dict()
    assert by_class == {11: 1, 12: 1, 30: 2}  # the lone 30 is not 4-connected to the others
    assert set(polygons["class_name"]) == {"urban centre", "low density rural", "very low density rural"}
    areas = polygons.to_crs(GHSL_CRS).area.round(-2).groupby(polygons["degurba_l2"]).sum() / 1e6
    assert areas.to_dict() == {11: 1.0, 12: 3.0, 30: 4.0}


def test_class_polygons_keep_holes_and_match_shapely_per_feature():
    """A ring of 12 around a 30 gives a polygon with a hole; the vectorised build equals
    shapely.geometry.shape of each GeoJSON feature GDAL traces, vertex for vertex; an all-nodata
    grid gives an empty layer."""
    import rasterio.features
    from shapely.geometry import shape

    codes = np.full((5, 5), 12, dtype=np.uint8)
    codes[2, 2] = 30
    codes[0, :] = 255
    polygons = class_polygons(codes, HANGZHOU.transform)
    ring = polygons[polygons["degurba_l2"] == 12].to_crs(GHSL_CRS).geometry.iloc[0]
    assert len(ring.interiors) == 1
    assert ring.area == pytest.approx(19e6, rel=1e-6)  # 20 valid cells less the 30
    expected = [shape(g) for g, _ in rasterio.features.shapes(codes, mask=codes != 255, transform=HANGZHOU.transform, connectivity=4)]
    assert shapely.equals_exact(polygons.to_crs(GHSL_CRS).geometry.values, expected, tolerance=1e-6).all()
    empty = class_polygons(np.full((3, 3), 255, dtype=np.uint8), HANGZHOU.transform)
    assert len(empty) == 0 and list(empty.columns) == ["degurba_l2", "class_name", "geometry"]


def test_class_polygons_in_two_processes_are_the_same_polygons():
    """Each process traces its share of the classes; on a patchy grid with holes, islands
    and classes of both shares side by side the set of polygons is that of one process."""
    rng = np.random.default_rng(3)
    codes = rng.choice(np.array([30, 23, 22, 21, 13, 12, 11, 10, 255], dtype=np.uint8), size=(60, 70),
                       p=[0.05, 0.03, 0.03, 0.1, 0.07, 0.3, 0.3, 0.02, 0.1])
    codes[20:40, 20:40] = 11
    codes[28:32, 28:32] = 12  # a hole in an 11 filled by the other process's class
    one = class_polygons(codes, HANGZHOU.transform, processes=1)
    two = class_polygons(codes, HANGZHOU.transform, processes=2)
    assert len(one) == len(two) > 500

    def key(frame):
        keys = zip(frame["degurba_l2"], shapely.to_wkb(shapely.normalize(frame.geometry.values)))
        return sorted(keys)

    assert key(one) == key(two)


def test_quad_box_overlap_equals_shapely_on_random_convex_quads():
    from gis.degurba._resample import quad_box_overlap

    rng = np.random.default_rng(7)
    n = 400
    # Convex quads: random parallelogram-ish shapes (corners of a sheared, rotated rectangle).
    centre = rng.uniform(0, 3000, size=(n, 2))
    width, height = rng.uniform(100, 2500, n), rng.uniform(100, 2500, n)
    angle, shear = rng.uniform(0, np.pi, n), rng.uniform(-0.5, 0.5, n)
    unit = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]])
    local_x = unit[None, :, 0] * width[:, None] + shear[:, None] * unit[None, :, 1] * height[:, None]
    local_y = unit[None, :, 1] * height[:, None]
    quad_x = centre[:, :1] + np.cos(angle)[:, None] * local_x - np.sin(angle)[:, None] * local_y
    quad_y = centre[:, 1:] + np.sin(angle)[:, None] * local_x + np.cos(angle)[:, None] * local_y
    box_x0, box_y0 = rng.uniform(0, 3000, n), rng.uniform(0, 3000, n)
    ours = quad_box_overlap(quad_x, quad_y, box_x0, box_y0, box_x0 + 1000, box_y0 + 1000)
    quads = shapely.polygons(np.stack([quad_x, quad_y], axis=-1))
    boxes = shapely.box(box_x0, box_y0, box_x0 + 1000, box_y0 + 1000)
    expected = shapely.area(shapely.intersection(quads, boxes))
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-6)
    assert (expected > 0).sum() > 100 and (expected < shapely.area(quads)).sum() > 100


def test_only_the_part_inside_the_window_is_counted(tmp_path):
    # A 10 km source cell half inside the window: half its population arrives.
    window = GhslWindow(HANGZHOU.row_off, HANGZHOU.col_off, 10, 10)
    transform = Affine(10_000, 0, window.transform.c - 5000, 0, -10_000, window.transform.f)
    path = write_tif(tmp_path / "coarse.tif", np.array([[1000.0]]), transform, "ESRI:54009", dtype="float64")
    layer = read_population(path, window)
    assert layer.total == pytest.approx(500.0)
    np.testing.assert_allclose(layer.values[:, :5], 10.0)  # 1000 / 100 km², 1 km² cells
    assert np.isnan(layer.values[:, 5:]).all()
