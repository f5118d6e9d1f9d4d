"""Population rasters that used to lose people without a word, crash, or exhaust memory
(issue 23, cases 6, 12, 13): each is read exactly or refused in one line before any work."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

import gis.degurba.population as population_module
from gis.cli import main
from gis.degurba.grid import GhslWindow, check_window_size
from gis.degurba.population import read_population, read_population_chunked
from gis.errors import GisError


def _write(path, values, transform, crs="EPSG:4326", nodata=-1.0):
    values = np.asarray(values, dtype="float64")
    with rasterio.open(path, "w", driver="GTiff", width=values.shape[1], height=values.shape[0], count=1,
                       dtype="float64", crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(values, 1)
    return path


def _people(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 500, size=shape).astype("float64")


def _cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result, result.output.strip().splitlines()[-1] if result.output.strip() else ""


# --- case 12: south-up rasters (positive y pixel size) --------------------------------------

def test_a_south_up_raster_reads_as_its_north_up_twin(tmp_path):
    values = _people((40, 50))
    north = _write(tmp_path / "north.tif", values, Affine(0.01, 0, 120.0, 0, -0.01, 30.4))
    # The same cells stored bottom row first: origin at the southern edge, y pixel size +0.01.
    south = _write(tmp_path / "south.tif", values[::-1], Affine(0.01, 0, 120.0, 0, 0.01, 30.0))
    a, b = read_population(north), read_population(south)
    assert a.window == b.window
    np.testing.assert_array_equal(np.isnan(a.values), np.isnan(b.values))
    np.testing.assert_allclose(np.nan_to_num(b.values), np.nan_to_num(a.values), rtol=1e-12, atol=1e-9)
    assert b.total == pytest.approx(values.sum(), rel=1e-9)


def test_a_south_up_raster_classifies_through_the_cli(tmp_path):
    values = _people((40, 50), seed=3) * 20
    south = _write(tmp_path / "south.tif", values[::-1], Affine(0.01, 0, 120.0, 0, 0.01, 30.0))
    result, last = _cli("degurba", "grid", "--population", south, "--out", tmp_path / "g.tif")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and (tmp_path / "g.tif").exists()


def test_the_chunked_reader_flips_south_up_rasters_too(tmp_path):
    values = _people((30, 30), seed=5)
    north = _write(tmp_path / "north.tif", values, Affine(0.01, 0, 120.0, 0, -0.01, 30.3))
    south = _write(tmp_path / "south.tif", values[::-1], Affine(0.01, 0, 120.0, 0, 0.01, 30.0))
    lazy, window = read_population_chunked(south, chunk=8)
    # Block by block is the whole read up to floating-point summation order.
    np.testing.assert_allclose(np.nan_to_num(lazy.compute()), np.nan_to_num(read_population(north, window).values),
                               rtol=1e-7, atol=1e-5)


def test_a_rotated_raster_is_refused_in_one_line(tmp_path):
    path = _write(tmp_path / "rotated.tif", _people((10, 10)), Affine(0.01, 0.001, 120.0, 0.001, -0.01, 30.1))
    with pytest.raises(GisError, match=r"rotated.tif: the raster is rotated .* warp it first"):
        read_population(path)


# --- case 6: past the poles, infinite cells --------------------------------------------------

def test_a_raster_past_the_north_pole_is_refused_naming_the_rows(tmp_path):
    # 1° cells from 92°N down to 80°N: rows 0 and 1 lie north of the pole.
    path = _write(tmp_path / "arctic.tif", np.full((12, 20), 10.0), Affine(1, 0, 0, 0, -1, 92))
    with pytest.raises(GisError, match=r"arctic.tif: latitudes 80° to 92° reach past the poles \(rows 0 to 1 lie north of 90°\)"):
        read_population(path)
    result, last = _cli("degurba", "grid", "--population", path, "--out", tmp_path / "g.tif")
    assert result.exit_code == 2 and "reach past the poles" in last and "Traceback" not in result.output
    assert not (tmp_path / "g.tif").exists()


def test_a_raster_past_the_south_pole_names_its_last_rows(tmp_path):
    path = _write(tmp_path / "antarctic.tif", np.full((10, 20), 1.0), Affine(1, 0, 0, 0, -1, -82))
    with pytest.raises(GisError, match=r"rows 8 to 9 lie south of -90°"):
        read_population(path)


def test_an_infinite_cell_is_refused_naming_it(tmp_path):
    values = _people((20, 20))
    values[7, 11] = np.inf
    path = _write(tmp_path / "inf.tif", values, Affine(0.01, 0, 120.0, 0, -0.01, 30.2))
    with pytest.raises(GisError, match=r"inf.tif: 1 cell\(s\) have infinite population, e.g. row 7 col 11 .*: inf"):
        read_population(path)
    on_grid = GhslWindow(row_off=5600, col_off=29700, height=20, width=20)
    grid_path = _write(tmp_path / "inf_grid.tif", values, on_grid.transform, crs="ESRI:54009")
    with pytest.raises(GisError, match=r"infinite population, e.g. row 7 col 11"):
        read_population(grid_path)


def test_an_infinite_cell_in_a_late_strip_names_its_row_in_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(population_module, "SOURCE_CELLS_PER_STRIP", 100)  # 5 rows a strip
    values = _people((40, 20))
    values[33, 4] = -np.inf
    path = _write(tmp_path / "late.tif", values, Affine(0.01, 0, 120.0, 0, -0.01, 30.4))
    with pytest.raises(GisError, match=r"row 33 col 4"):
        read_population(path)


# --- case 13: memory bounded by the target, not by the source --------------------------------

def test_strips_give_the_same_grid_as_one_read(tmp_path, monkeypatch):
    values = _people((120, 90), seed=9)
    values[50:60, 10:30] = np.nan
    path = _write(tmp_path / "pop.tif", values, Affine(0.003, 0, 120.0, 0, -0.003, 30.36), nodata=-1)
    whole = read_population(path)
    reads = []
    original = population_module._read_masked

    def recording(dataset, window=None, boundless=None):
        out = original(dataset, window, boundless)
        reads.append(out.size)
        return out

    monkeypatch.setattr(population_module, "SOURCE_CELLS_PER_STRIP", 900)  # 10 rows of 90
    monkeypatch.setattr(population_module, "_read_masked", recording)
    strips = read_population(path, whole.window)
    assert len(reads) >= 12 and max(reads) <= 900
    np.testing.assert_array_equal(np.isnan(strips.values), np.isnan(whole.values))
    # The same overlaps, corners projected from each strip's own transform (float noise).
    np.testing.assert_allclose(np.nan_to_num(strips.values), np.nan_to_num(whole.values), rtol=1e-7, atol=1e-4)
    assert strips.total == pytest.approx(np.nansum(values), rel=1e-9)


def test_a_fine_raster_is_never_read_whole(tmp_path, monkeypatch):
    # 10 m cells, 3 000 x 3 000 (9 M cells): read in strips of at most the budget.
    n = 3000
    path = tmp_path / "fine.tif"
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32", crs="EPSG:32650",
                       transform=Affine(10, 0, 300000, 0, -10, 3400000), nodata=-1, tiled=True,
                       blockxsize=256, blockysize=256, SPARSE_OK=True) as dst:
        dst.write(np.full((256, 256), 2.0, dtype="float32"), 1, window=rasterio.windows.Window(1000, 1000, 256, 256))
    biggest = []
    original = population_module._read_masked
    monkeypatch.setattr(population_module, "SOURCE_CELLS_PER_STRIP", 1_000_000)
    monkeypatch.setattr(population_module, "_read_masked",
                        lambda *a, **k: (lambda out: (biggest.append(out.size), out)[1])(original(*a, **k)))
    layer = read_population(path)
    assert max(biggest) <= 1_000_000
    # Strips of whole blocks (256 rows); only the two holding the one written block are read.
    assert len(biggest) == 2
    assert layer.total == pytest.approx(2.0 * 256 * 256, rel=1e-7)


def test_mostly_empty_strips_project_only_their_valid_cells_with_the_same_result(tmp_path):
    from gis.degurba._resample import resample_to_grid
    from gis.degurba.grid import snap_bounds

    values = np.full((200, 300), np.nan)
    values[40:43, 100:140] = _people((3, 40), seed=2)  # 2 % of the cells: the sparse path
    transform = Affine(0.002, 0, 120.0, 0, -0.002, 30.4)
    target = snap_bounds((120.0, 30.0, 120.6, 30.4), "EPSG:4326")
    sparse = resample_to_grid(values, transform, "EPSG:4326", target)
    dense = resample_to_grid(np.nan_to_num(values), transform, "EPSG:4326", target)  # zeros: the full-grid path
    np.testing.assert_allclose(np.nan_to_num(sparse), np.nan_to_num(dense), rtol=1e-12, atol=1e-12)
    assert np.nansum(sparse) == pytest.approx(np.nansum(values), rel=1e-8)


def test_a_window_too_large_for_memory_is_refused_before_allocating():
    world = GhslWindow(row_off=0, col_off=0, height=18_000, width=36_000)
    with pytest.raises(GisError, match=r"the world is 18,000 × 36,000 km of the 1 km grid \(648,000,000 cells, 4.8 GiB"):
        check_window_size(world, "the world")
    check_window_size(GhslWindow(0, 0, 5000, 4000), "China")  # a national window is fine


def test_units_far_apart_are_refused_naming_the_size(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    # One small box in Alaska, one in New Zealand: their bounding box spans the Pacific.
    units = gpd.GeoDataFrame({"name": ["alaska", "nz"]},
                             geometry=[box(-150.1, 61.1, -150.0, 61.2), box(174.7, -41.3, 174.8, -41.2)], crs="EPSG:4326")
    path = tmp_path / "far.gpkg"
    units.to_file(path)
    result, last = _cli("degurba", "units", "--units", path, "--out", tmp_path / "u.gpkg")
    assert result.exit_code == 2, result.output
    assert "bounding box is" in last and "GiB per float64 array" in last and "Traceback" not in result.output
    assert not (tmp_path / "u.gpkg").exists()


# --- case 1: units without data are not "mostly uninhabited" ---------------------------------

def _units_around_the_grid(tmp_path):
    """Three boxes in ESRI:54009 against the 30 x 30 km test window: inside (10 x 10 km), half
    outside across its east edge (10 x 10 km, 5 km outside), and over Paris (no grid at all)."""
    import geopandas as gpd
    from shapely.geometry import box

    from tests.support.rasters import HANGZHOU_30KM

    left, bottom, right, top = HANGZHOU_30KM.bounds
    units = gpd.GeoDataFrame(
        {"name": ["inside", "half", "paris"]},
        geometry=[box(left + 5_000, bottom + 5_000, left + 15_000, bottom + 15_000),
                  box(right - 5_000, bottom + 10_000, right + 5_000, bottom + 20_000),
                  box(180_000, 5_900_000, 190_000, 5_910_000)],
        crs="ESRI:54009",
    )
    path = tmp_path / "units.gpkg"
    units.to_file(path)
    return path


def test_units_off_the_grid_get_no_class_and_count_all_their_area_as_nodata(tmp_path):
    import pandas as pd

    from tests.support.rasters import write_on_grid

    raster = write_on_grid(tmp_path / "pop.tif", np.full((30, 30), 2_000.0))  # all urban centre
    result, last = _cli("degurba", "units", "--population", raster, "--units", _units_around_the_grid(tmp_path),
                        "--out", tmp_path / "u.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "u.csv", encoding="utf-8-sig").set_index("name")
    assert table.loc["inside", "degurba_l2"] == 30 and table.loc["inside", "nodata_km2"] == 0
    # Half outside: the 50 km² beyond the grid are counted, and at exactly half it keeps its class.
    assert table.loc["half", "nodata_km2"] == pytest.approx(50.0, rel=1e-6)
    assert table.loc["half", "nodata_share"] == pytest.approx(0.5, rel=1e-6)
    assert table.loc["half", "degurba_l2"] == 30
    # Off the grid: all 100 km² without data, no class (was 11, "mostly uninhabited", nodata 0).
    assert table.loc["paris", "nodata_km2"] == pytest.approx(100.0, rel=1e-6)
    assert table.loc["paris", "nodata_share"] == pytest.approx(1.0)
    assert pd.isna(table.loc["paris", "degurba_l2"]) and pd.isna(table.loc["paris", "degurba_l1"])
    assert pd.isna(table.loc["paris", "degurba_l2_name"]) and pd.isna(table.loc["paris", "share_urban_centre"])
    assert "1 unit(s) have no class" in result.output


def test_a_unit_mostly_on_nodata_cells_gets_no_class(tmp_path):
    import pandas as pd

    from tests.support.rasters import write_on_grid

    values = np.full((30, 30), 2_000.0)
    values[:, :20] = -200  # nodata west of column 20: the inside box (columns 5-14) has none
    raster = write_on_grid(tmp_path / "pop.tif", values)
    result, _ = _cli("degurba", "units", "--population", raster, "--units", _units_around_the_grid(tmp_path),
                     "--out", tmp_path / "u.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "u.csv", encoding="utf-8-sig").set_index("name")
    assert table.loc["inside", "nodata_km2"] == pytest.approx(100.0, rel=1e-6)
    assert pd.isna(table.loc["inside", "degurba_l2"])
