"""CSVs the tool writes and output folders checked before work (issue 14, items 7 and 8)."""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from gis._files import escape_formula, write_csv
from gis.cli import main
from gis.degurba.grid import GHSL_CRS, GhslWindow
from gis.degurba.rasters import write_class_geotiff

HOSTILE_NAMES = ['=HYPERLINK("http://evil.example","点我")', "=cmd|' /C calc'!A0", "@SUM(A1)", "+1+1", "-2+3", "\tTAB", "淳安县"]


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _read_back(path):
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "expected UTF-8 with a byte-order mark"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def test_escape_formula_follows_owasp():
    assert [escape_formula(n) for n in HOSTILE_NAMES] == ["'" + n for n in HOSTILE_NAMES[:-1]] + ["淳安县"]
    assert escape_formula("a=b") == "a=b"


def test_write_csv_escapes_text_but_keeps_numbers_and_is_atomic_with_bom(tmp_path):
    frame = pd.DataFrame({"name": HOSTILE_NAMES, "value": np.arange(len(HOSTILE_NAMES)) - 3.5})
    path = write_csv(frame, tmp_path / "t.csv")
    rows = _read_back(path)
    assert rows[0] == ["name", "value"]
    assert [r[0] for r in rows[1:]] == [escape_formula(n) for n in HOSTILE_NAMES]
    assert [float(r[1]) for r in rows[1:]] == list(frame["value"])  # -3.5 stays a number
    assert not list(tmp_path.glob(".*partial-*"))


def test_degurba_units_csv_escapes_formulas_in_unit_names(tmp_path):
    window = GhslWindow(5000, 30000, 20, 20)
    codes = np.full(window.shape, 11, dtype=np.uint8)
    codes[5:15, 5:15] = 30
    grid = write_class_geotiff(tmp_path / "grid.tif", codes, window.transform, level=2)
    left, bottom, right, top = window.bounds
    cells = [box(left + i * 3000, bottom + 2000, left + i * 3000 + 2500, top - 2000) for i in range(len(HOSTILE_NAMES))]
    units = gpd.GeoDataFrame({"adcode": [f"33{i:04d}" for i in range(len(cells))], "name": HOSTILE_NAMES},
                             geometry=cells, crs=GHSL_CRS)
    units.to_file(tmp_path / "units.gpkg", driver="GPKG")
    out = tmp_path / "u.csv"
    result = run("degurba", "units", "--grid", grid, "--units", tmp_path / "units.gpkg", "--out", out)
    assert result.exit_code == 0, result.output
    rows = _read_back(out)
    names = [r[rows[0].index("name")] for r in rows[1:]]
    assert names == [escape_formula(n) for n in HOSTILE_NAMES]
    assert not any(n.startswith(("=", "@", "+", "-", "\t")) for n in names)


def test_template_csv_has_a_bom(tmp_path):
    result = run("template", "prefectures", "-o", tmp_path / "t.csv")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.csv").read_bytes().startswith(b"\xef\xbb\xbf#")


@pytest.mark.parametrize("command", [
    ["template", "counties", "-o", "{out}/t.xlsx"],
    ["degurba", "units", "--units", "counties", "--out", "{out}/u.csv"],
    ["index", "--data", "{table}", "--indicators", "rural_income", "-o", "{out}/i.csv"],
    ["inequality", "--data", "{table}", "--indicator", "rural_income", "--groups", "region", "-o", "{out}/q.csv"],
    ["geodetector", "--data", "{table}", "--y", "rural_income", "--factors", "region", "-o", "{out}/g.gpkg"],
    ["degurba", "compare", "{table}", "{table}", "--out", "{out}/cmp"],
])
def test_output_folders_that_cannot_be_written_are_one_line_before_any_work(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    table = tmp_path / "t.csv"
    table.write_text("adcode,year,rural_income\n330127,2020,21000\n", encoding="utf-8")
    result = run(*[part.format(out=blocker / "sub", table=table) for part in command])
    assert result.exit_code == 2, result.output
    assert "is a file, not a folder" in result.output
    assert "Traceback" not in result.output and "Result:" not in result.output  # before reading any table



def test_compare_population_without_units_is_one_line(tmp_path):
    grid = GhslWindow(row_off=5600, col_off=29700, height=4, width=4)
    path = write_class_geotiff(tmp_path / "a.tif", np.full(grid.shape, 11, dtype=np.uint8), grid.transform)
    result = run("degurba", "compare", str(path), str(path), "--population", str(path), "--out", str(tmp_path / "c"))
    assert result.exit_code == 2 and "--population weights the unit change matrix: give --units too" in result.output


def test_a_rules_file_that_is_not_utf8_is_one_line(tmp_path):
    from gis.degurba.rules import load_rules
    from gis.errors import GisError

    rules = tmp_path / "rules.toml"
    rules.write_bytes(b"\xff\xfe[urban_centre]\n")
    with pytest.raises(GisError, match="not valid TOML"):
        load_rules(str(rules))


def test_a_folder_named_like_a_map_spec_is_one_line(tmp_path):
    from gis.errors import SpecError
    from gis.maps import load_spec

    (tmp_path / "x.toml").mkdir()
    with pytest.raises(SpecError, match="cannot read the map spec"):
        load_spec(tmp_path / "x.toml")


def test_outputs_other_options_wrote_are_stale(tmp_path):
    """An area-weighted rebuild over a census build would leave the population estimate, and a
    build without --population the agreement CSVs: the plan lists them to refuse or remove."""
    from gis.build.run import BuildPlan

    plan = BuildPlan(tmp_path, "zhejiang", national=False, map_specs=(), with_degurba=True,
                     with_agreement=False, with_population_estimate=False)
    for path in (plan.population_estimate, plan.agreement, plan.agreement_summary):
        path.write_text("old")
    assert set(plan.stale_files()) == {plan.population_estimate, plan.agreement, plan.agreement_summary}
    census = BuildPlan(tmp_path, "zhejiang", False, (), True, True, True)
    assert census.stale_files() == [] and {census.agreement_summary, census.population_estimate} <= set(census.files())
