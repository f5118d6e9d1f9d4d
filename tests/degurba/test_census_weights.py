"""Census weights (gis.degurba.census_weights) and ``gis degurba units --unit-population``.

A made-up province of 4 × 4 km on the GHSL grid: prefecture A (two counties with figures) on
the left, prefecture B (a figure, counties without) on the right, so B's counties are fitted
from B's total; the fifth column lies outside every unit.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner

from gis.cli import main
from gis.degurba.census_weights import dasymetric_units, fit_rows, unit_totals
from gis.degurba.grid import GHSL_CRS, GhslWindow
from gis.degurba.rasters import write_class_geotiff, write_population_estimate
from gis.errors import GisError
from gis.units.boundaries import Boundaries

WINDOW = GhslWindow(row_off=5600, col_off=29700, height=4, width=5)
LEFT, BOTTOM, RIGHT, TOP = WINDOW.bounds
CODES = np.array([
    [30, 12, 21, 11, 255],
    [30, 12, 13, 11, 255],
    [23, 11, 12, 11, 255],
    [12, 11, 11, 10, 255],
], dtype=np.uint8)


def column_box(first, last=None):
    last = first if last is None else last
    return shapely.box(LEFT + 1000 * first, BOTTOM, LEFT + 1000 * (last + 1), TOP)


def frame(rows, **columns):
    data = pd.DataFrame(rows, columns=["adcode", "name", "geometry"])
    for key, value in columns.items():
        data[key] = value
    data["area_km2"] = shapely.area(data["geometry"].to_numpy()) / 1e6
    return gpd.GeoDataFrame(data, geometry="geometry", crs=GHSL_CRS)


@pytest.fixture(scope="module")
def boundaries():
    province = frame([("990000", "测试省", column_box(0, 3))])
    prefectures = frame([("990100", "甲市", column_box(0, 1)), ("990200", "乙市", column_box(2, 3))],
                        province_adcode="990000")
    counties = frame(
        [("990101", "甲一区", column_box(0)), ("990102", "甲二县", column_box(1)),
         ("990201", "乙一县", column_box(2)), ("990202", "乙二县", column_box(3))],
        prefecture_adcode=["990100", "990100", "990200", "990200"], province_adcode="990000",
    )
    return Boundaries("990000", "测试省", province, prefectures, counties, "synthetic")


def user_rows(**values):
    names = {"990101": "甲一区", "990102": "甲二县", "990100": "甲市", "990200": "乙市", "990201": "乙一县", "990000": "测试省"}
    return pd.DataFrame([
        {"adcode": code, "name": names[code], "year": 2020, "indicator": "resident_population", "value": float(v),
         "unit": "persons", "source": "test table, row 1"}
        for code, v in values.items()
    ])


DEFAULT_TOTALS = {"990101": 30_000, "990102": 1_000, "990200": 5_000, "990000": 36_000}


def test_counties_without_a_figure_share_their_prefectures_remainder(boundaries):
    totals, year, notes = unit_totals(boundaries, user_rows(**DEFAULT_TOTALS))
    assert year == 2020 and set(totals["origin"]) == {"user"} and "refitted" in notes[0]
    rows, county_row = fit_rows(boundaries, totals)
    assert rows["kind"].tolist() == ["county", "county", "prefecture remainder"]
    assert rows["total"].tolist() == [30_000, 1_000, 5_000]
    assert county_row.tolist() == [0, 1, 2, 2]
    # Only the province has a figure for B's side: its counties share the province's remainder.
    rows, _ = fit_rows(boundaries, unit_totals(boundaries, user_rows(**{"990101": 30_000, "990102": 1_000, "990000": 36_000}))[0])
    assert rows["kind"].tolist() == ["county", "county", "province remainder"] and rows["total"].iloc[2] == 5_000


def test_children_adding_up_to_more_than_their_parent_is_one_clear_error(boundaries):
    totals, _, _ = unit_totals(boundaries, user_rows(**{**DEFAULT_TOTALS, "990201": 6_000}))
    with pytest.raises(GisError, match=r"乙市 990200 is 5,000, but the units inside it that have a figure add up to 6,000"):
        fit_rows(boundaries, totals)


def test_estimate_adds_up_to_every_total_and_classes_follow_the_population(boundaries, tmp_path):
    result = dasymetric_units(boundaries, CODES, WINDOW, user_rows=user_rows(**DEFAULT_TOTALS))
    counties = result.counties.set_index("adcode")
    assert counties.loc[["990101", "990102"], "population_2020"].tolist() == pytest.approx([30_000, 1_000])
    assert counties.loc[["990201", "990202"], "population_2020"].sum() == pytest.approx(5_000)
    # B's denser county (suburban, rural cluster) gets more of B's people than the one of very low density.
    assert counties.loc["990201", "population_2020"] > 4 * counties.loc["990202", "population_2020"]
    assert counties["pop_total"].tolist() == pytest.approx(counties["population_2020"].tolist())
    assert counties.loc["990202", "pop_water"] == 0
    assert counties["density_2020"].tolist() == pytest.approx((counties["population_2020"] / 4).tolist())
    assert counties.loc["990201", "population_basis"] == "estimate: share of the remainder of 乙市 990200"
    assert counties.loc["990101", "population_basis"] == "your table 2020"
    assert set(counties["degurba_weights"]) == {"user_dasymetric"}
    # 甲一区: 2 km² urban centre, 1 dense cluster, 1 low density: a city with the fitted densities,
    # but not for every density in the bounds (urban centre 2·1 500 against a dense cluster of
    # up to 30 000: share 0.09), so unstable; 甲二县 has only rural cells: rural, stable.
    assert counties.loc["990101", "degurba_l1"] == 3 and not counties.loc["990101", "degurba_l1_stable"]
    assert counties.loc["990102", "degurba_l1"] == 1 and counties.loc["990102", "degurba_l1_stable"]
    prefectures = result.prefectures.set_index("adcode")
    assert prefectures["population_2020"].tolist() == pytest.approx([31_000, 5_000])
    assert prefectures.loc["990200", "population_basis"] == "your table 2020"
    # The grid holds every person once, and nothing outside the units.
    assert np.isnan(result.population[:, 4]).all()
    assert np.nansum(result.population, dtype="float64") == pytest.approx(36_000, rel=1e-6)
    assert result.population[3, 3] == 0  # water
    density = result.class_density.set_index("degurba_l2")
    assert (density["density_fitted"] >= density["density_lower"]).all()
    assert (density["density_fitted"] <= density["density_upper"]).all()
    assert density["population"].sum() == pytest.approx(36_000)
    # One row per density class: the urban centre by depth band, the other classes whole. Both
    # urban-centre cells of 甲一区 touch its low-density cells: all 2 km² in the 1 km band.
    table = result.class_density
    assert table["degurba_l2"].tolist() == [30] * 5 + [23, 22, 21, 13, 12, 11]
    assert table["depth_km"].iloc[:5].tolist() == ["1", "2", "3–4", "5–8", "≥ 9"] and table["depth_km"].iloc[5:].isna().all()
    assert table["density_class"].iloc[0] == "30, depth 1 km" and table["area_km2"].iloc[:5].tolist() == pytest.approx([2, 0, 0, 0, 0])
    assert (np.diff(table["density_fitted"].iloc[:5]) >= -1e-6).all()  # deeper at least as dense
    # Written as a float32 GeoTIFF on the GHSL grid, saying it is an estimate.
    path = write_population_estimate(tmp_path / "p.tif", result.population, WINDOW.transform, "test source")
    with rasterio.open(path) as tif:
        assert tif.dtypes == ("float32",) and tif.crs.to_string() == "ESRI:54009" and tif.transform == WINDOW.transform
        values = tif.read(1, masked=True)
        assert float(values.sum()) == pytest.approx(36_000, rel=1e-6) and values.mask[:, 4].all()
        assert tif.tags()["ESTIMATE"].startswith("yes") and tif.tags()["SOURCE"] == "test source"
        assert "bounded least squares" in tif.tags()["METHOD"]


@pytest.fixture(scope="module")
def cli_inputs(tmp_path_factory, boundaries):
    folder = tmp_path_factory.mktemp("units-population")
    grid = write_class_geotiff(folder / "grid_l2.tif", CODES, WINDOW.transform, level=2)
    units = boundaries.counties[["adcode", "name", "geometry"]].to_crs("EPSG:4326")
    units["people"] = [30_000, 1_000, 4_000, 1_000]
    units.to_file(folder / "units.gpkg", driver="GPKG")
    return folder, grid, units


def run_units(folder, grid, units_path, column="people", name="out.gpkg"):
    out = folder / name
    result = CliRunner().invoke(main, ["degurba", "units", "--grid", str(grid), "--units", str(units_path),
                                       "--unit-population", column, "--out", str(out)])
    return result, out


def test_degurba_units_with_a_population_column(cli_inputs):
    folder, grid, _ = cli_inputs
    result, out = run_units(folder, grid, folder / "units.gpkg")
    assert result.exit_code == 0, result.output
    written = pyogrio.read_dataframe(out, layer="degurba_units")
    assert written.crs.to_epsg() == 4326
    for column in ("degurba_l1", "degurba_l2", "degurba_l1_name", "degurba_l2_name", "share_urban_centre",
                   "degurba_l1_stable", "degurba_weights", "population"):
        assert column in written.columns, column
    assert written["pop_total"].tolist() == pytest.approx([30_000, 1_000, 4_000, 1_000], rel=1e-6)
    assert set(written["degurba_weights"]) == {"user_dasymetric"}
    assert written.loc[written["name"] == "甲一区", "degurba_l1"].item() == 3
    assert "fitted densities" in result.output and "30, depth 1 km: " in result.output and "; 23: " in result.output and "Level 1 stable for" in result.output


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([30_000, -5, 4_000, 1_000], "feature 2: -5 is not a population"),
        (["30000", "many", "4000", "1000"], "feature 2: 'many' is not a number"),
        ([None, None, None, None], "is empty for all 4 units"),
    ],
)
def test_bad_population_column_is_one_line_and_no_output(cli_inputs, values, message):
    folder, grid, units = cli_inputs
    bad = units.copy()
    bad["people"] = pd.Series(values, dtype="object" if isinstance(values[0], str) else "float64")
    path = folder / f"bad_{abs(hash(message))}.gpkg"
    bad.to_file(path, driver="GPKG")
    result, out = run_units(folder, grid, path, name=f"out_{abs(hash(message))}.gpkg")
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()[-1]) > 0 and "Traceback" not in result.output
    assert not out.exists()


def test_missing_column_units_outside_and_a_level1_grid_are_refused(cli_inputs, boundaries):
    folder, grid, units = cli_inputs
    result, out = run_units(folder, grid, folder / "units.gpkg", column="pop", name="nopop_out.gpkg")
    assert result.exit_code == 2 and "no column 'pop'" in result.output and "people" in result.output
    far = units.copy()
    far.loc[3, "geometry"] = shapely.affinity.translate(far.loc[3, "geometry"], xoff=5.0)
    far.to_file(folder / "far.gpkg", driver="GPKG")
    result, out = run_units(folder, grid, folder / "far.gpkg", name="far_out.gpkg")
    assert result.exit_code == 2 and "1 unit(s) do not overlap any classified cell of the grid (乙二县)" in result.output
    assert not out.exists()
    level1 = write_class_geotiff(folder / "grid_l1.tif", np.where(CODES == 255, 255, 1).astype(np.uint8), WINDOW.transform, level=1)
    with rasterio.open(level1, "r+") as tif:  # a Level 1 grid: codes 3/2/1
        tif.write(np.array([[3, 3, 2, 1, 255]] * 4, dtype=np.uint8), 1)
    result, out = run_units(folder, level1, folder / "units.gpkg", name="l1_out.gpkg")
    assert result.exit_code == 2 and "not Level 2 codes" in result.output and not out.exists()


@pytest.mark.parametrize(
    ("values", "dtype", "message"),
    [
        # issue 23, case 11: these reached the solver ("density constraints cannot all hold").
        ([True, False, True, True], "bool", "column 'people' holds true/false values, not numbers"),
        ([1, 1, 1, 1], "float64", "3 of 4 unit totals are 10x or more outside what their grid cells can hold, e.g. 甲一区: 1 "),
        ([3.0, 0.1, 0.4, 0.1], "float64", "expected resident population in persons (not 万人, households or shares)"),
    ],
)
def test_populations_that_cannot_be_populations_are_one_line(cli_inputs, values, dtype, message):
    folder, grid, units = cli_inputs
    bad = units.copy()
    bad["people"] = pd.Series(values, dtype=dtype)
    path = folder / f"implausible_{abs(hash(message))}.gpkg"
    bad.to_file(path, driver="GPKG")
    result, out = run_units(folder, grid, path, name=f"implausible_out_{abs(hash(message))}.gpkg")
    assert result.exit_code == 2, result.output
    assert message in result.output.strip().splitlines()[-1] and "Traceback" not in result.output
    assert not out.exists()


def test_a_few_implausible_totals_are_named_and_the_rest_classified(cli_inputs):
    from gis.degurba.census_weights import implausible_totals

    folder, grid, units = cli_inputs
    odd = units.copy()
    odd["people"] = [30_000, 1, 4_000, 1_000]  # 甲二县: one person where a thousand live
    odd.to_file(folder / "odd.gpkg", driver="GPKG")
    result, out = run_units(folder, grid, folder / "odd.gpkg", name="odd_out.gpkg")
    assert result.exit_code == 0, result.output
    assert "1 unit(s) whose people is 10x or more off what their grid cells hold (check the figures): 甲二县" in result.output
    # The rule itself: a tenth of the least, or ten times the most, the class areas allow.
    areas = np.array([[1.0, 0.0], [0.0, 2.0]])
    lower, upper = np.array([100.0, 10.0]), np.array([1000.0, 50.0])
    assert implausible_totals(areas, np.array([9.9, 20.0]), lower, upper).tolist() == [True, False]
    assert implausible_totals(areas, np.array([10.0, 1000.1]), lower, upper).tolist() == [False, True]
