"""``--rules`` on ``gis degurba grid`` / ``units`` and ``gis degurba compare`` on real files.

A 30 x 30 population GeoTIFF on the GHSL grid holds a town of 3 x 3 cells of 4 000 (36 000
persons): a dense urban cluster under the 2021 manual (urban centres need 50 000), an urban
centre when a rules file lowers that minimum to 30 000. The class GeoTIFFs record the rules,
and the comparison counts exactly those 9 cells (and the unit on them) as changed.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from click.testing import CliRunner

from gis.cli import main
from gis.degurba.grid import GHSL_CRS, GhslWindow
from support.rasters import HANGZHOU_30KM, write_on_grid

GRID = HANGZHOU_30KM
TOWN = (slice(10, 13), slice(10, 13))


def _population(path):
    population = np.full(GRID.shape, 100.0, dtype="float32")
    population[TOWN] = 4000
    return write_on_grid(path, population, GRID)


def _units(path):
    left, _, _, top = GRID.bounds
    boxes = [
        shapely.box(left + 10_000, top - 13_000, left + 13_000, top - 10_000),  # the town
        shapely.box(left + 20_000, top - 25_000, left + 25_000, top - 20_000),  # countryside
    ]
    frame = gpd.GeoDataFrame({"adcode": ["t1", "r1"], "name": ["镇<b>", "乡"]}, geometry=boxes, crs=GHSL_CRS)
    frame.to_crs("EPSG:4326").to_file(path)
    return path


def test_rules_file_changes_the_grid_and_is_recorded(tmp_path):
    population = _population(tmp_path / "pop.tif")
    rules = tmp_path / "uc30k.toml"
    rules.write_text("[urban_centre]\npopulation = 30000\n", encoding="utf-8")
    runner = CliRunner()
    manual, lowered = tmp_path / "manual.tif", tmp_path / "uc30k.tif"
    result = runner.invoke(main, ["degurba", "grid", "--population", str(population), "--out", str(manual)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["degurba", "grid", "--population", str(population), "--rules", str(rules), "--out", str(lowered)])
    assert result.exit_code == 0, result.output
    with rasterio.open(manual) as src:
        assert (src.read(1)[TOWN] == 23).all()
        assert src.tags()["DEGURBA_RULES"] == "manual-2021"
        assert src.tags()["DEGURBA_RULE_URBAN_CENTRE_POPULATION"] == "50000"
    with rasterio.open(lowered) as src:
        assert (src.read(1)[TOWN] == 30).all()
        assert src.tags()["DEGURBA_RULES"] == str(rules)
        assert src.tags()["DEGURBA_RULE_URBAN_CENTRE_POPULATION"] == "30000"
    with rasterio.open(tmp_path / "uc30k_l1.tif") as src:
        assert src.tags()["DEGURBA_RULE_URBAN_CENTRE_POPULATION"] == "30000"

    # The shortcut overrides the rules' distance, and says so in the recorded name.
    shortcut = tmp_path / "d3.tif"
    result = runner.invoke(main, [
        "degurba", "grid", "--population", str(population), "--rules", "ghsl-r2023a", "--sduc-distance-km", "1.5",
        "--out", str(shortcut),
    ])
    assert result.exit_code == 0, result.output
    with rasterio.open(shortcut) as src:
        assert src.tags()["DEGURBA_RULE_SEMI_DENSE_URBAN_CLUSTER_DISTANCE_KM"] == "1.5"
        assert src.tags()["DEGURBA_RULES"] == "ghsl-r2023a, semi_dense_urban_cluster.distance_km = 1.5"

    # Compare: the 9 town cells go from 23 to 30, the town unit from dense town to city.
    units = _units(tmp_path / "units.gpkg")
    out = tmp_path / "compare"
    result = runner.invoke(main, [
        "degurba", "compare", str(manual), str(lowered), "--units", str(units), "--population", str(population),
        "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "9 of 900 cells change class" in result.output and "1 of 2 units change Level 2 class" in result.output
    raw = (out / "cell_changes.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    cells = pd.read_csv(out / "cell_changes.csv", index_col=0, encoding="utf-8-sig")
    assert cells.loc["23 dense urban cluster", "30 urban centre"] == 9
    assert cells.loc["12 low density rural", "12 low density rural"] == 900 - 9
    assert int(cells.to_numpy().sum()) == 900
    unit_matrix = pd.read_csv(out / "unit_changes.csv", index_col=0, encoding="utf-8-sig")
    assert unit_matrix.loc["23 dense town", "30 city"] == 1
    assert unit_matrix.loc["12 dispersed rural area", "12 dispersed rural area"] == 1
    rows = pd.read_csv(out / "unit_classes.csv", encoding="utf-8-sig", dtype={"adcode": str})
    assert rows.set_index("adcode").loc["t1", ["degurba_l2_a", "degurba_l2_b", "changed"]].tolist() == [23, 30, True]
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "镇&lt;b&gt;" in page and "镇<b>" not in page  # user text escaped
    assert "manual-2021" in page and str(rules.name) in page
    assert "http://" not in page and "https://" not in page  # offline

    again = runner.invoke(main, ["degurba", "compare", str(manual), str(lowered), "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output


def test_units_records_rules_and_bad_rules_are_one_line(tmp_path):
    population = _population(tmp_path / "pop.tif")
    units = _units(tmp_path / "units.gpkg")
    runner = CliRunner()
    csv_path = tmp_path / "units.csv"
    result = runner.invoke(main, [
        "degurba", "units", "--population", str(population), "--units", str(units), "--rules", "ghsl-r2023a",
        "--out", str(csv_path),
    ])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(csv_path)
    assert table["degurba_rules"].str.startswith("rules ghsl-r2023a: ").all()

    bad = tmp_path / "bad.toml"
    bad.write_text("[urban_centre]\ncontiguity = 6\n", encoding="utf-8")
    for command in (["grid", "--population", str(population), "--out", str(tmp_path / "x.tif")],
                    ["units", "--population", str(population), "--units", str(units), "--out", str(tmp_path / "x.csv")]):
        result = runner.invoke(main, ["degurba", *command, "--rules", str(bad)])
        assert result.exit_code == 2
        assert f"{bad}: urban_centre.contiguity is 6; allowed: 4 or 8" in result.output
        assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    result = runner.invoke(main, ["degurba", "grid", "--population", str(population), "--rules", "nope", "--out", str(tmp_path / "x.tif")])
    assert result.exit_code == 2 and "--rules nope: not a preset" in result.output


def test_compare_refuses_grids_of_different_windows(tmp_path):
    from gis.degurba.rasters import write_class_geotiff

    a = write_class_geotiff(tmp_path / "a.tif", np.full((5, 5), 11, dtype=np.uint8), GRID.transform)
    other = GhslWindow(GRID.row_off + 1, GRID.col_off, 5, 5)
    b = write_class_geotiff(tmp_path / "b.tif", np.full((5, 5), 11, dtype=np.uint8), other.transform)
    result = CliRunner().invoke(main, ["degurba", "compare", str(a), str(b), "--out", str(tmp_path / "c")])
    assert result.exit_code == 2 and "different windows" in result.output


def test_flexurba_preset_and_unit_options_on_real_files(tmp_path):
    # flexurba-r2023a: the 36 000-person town is a dense urban cluster (23) as in the manual;
    # the GeoTIFF records the string rules. Units dissolved by a column: one row per value.
    population = _population(tmp_path / "pop.tif")
    units = tmp_path / "units.gpkg"
    frame = gpd.read_file(_units(units))
    frame["district"] = ["d1", "d1"]
    frame.to_file(units)
    runner = CliRunner()
    grid = tmp_path / "flexurba.tif"
    result = runner.invoke(main, ["degurba", "grid", "--population", str(population), "--rules", "flexurba-r2023a", "--out", str(grid)])
    assert result.exit_code == 0, result.output
    with rasterio.open(grid) as src:
        assert (src.read(1)[TOWN] == 23).all()
        assert src.tags()["DEGURBA_RULE_LEVEL2_CLUSTERS"] == "independent"
        assert src.tags()["DEGURBA_RULE_URBAN_CENTRE_EDGE_SMOOTHING"] == "R2023A"
    rules = tmp_path / "units.toml"
    rules.write_text('[units]\nlevel2 = "pairwise"\ncell_weights = "cell_centres"\n', encoding="utf-8")
    out = tmp_path / "districts.csv"
    result = runner.invoke(main, [
        "degurba", "units", "--grid", str(grid), "--population", str(population), "--units", str(units),
        "--dissolve-by", "district", "--rules", str(rules), "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert "dissolved by district: 1 units" in result.output and "GHSL's official workflow" in result.output
    table = pd.read_csv(out, encoding="utf-8-sig")
    assert table["district"].tolist() == ["d1"]
    # 9 town cells of 4 000 (36 000 in 23) and 25 countryside cells of 100 (2 500 in 11 or 12):
    # a dense town, each cell counted wholly.
    assert table["pop_dense_urban_cluster"].item() == 36000 and table["degurba_l2"].item() == 23
    result = runner.invoke(main, ["degurba", "units", "--grid", str(grid), "--units", str(units), "--dissolve-by", "county", "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "--dissolve-by county: no such column" in result.output
