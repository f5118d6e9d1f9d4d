"""Spec checks without holes and ``gis map`` that never replaces or pretends (issue 14, items 8, 9, 12)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from gis.cli import main
from gis.errors import GisError
from gis.maps import SpecError, load_spec
from gis.outputs.layer_specs import read_layer_spec

ROOT = Path(__file__).parents[2]
RATIO = (ROOT / "maps" / "prefecture_income_ratio.toml").read_text(encoding="utf-8")


def _spec(tmp_path, breaks: str, name="ratio.toml"):
    text = RATIO.replace('scheme = "fisher_jenks"\nclasses = 5', f'scheme = "user_breaks"\nbreaks = {breaks}')
    assert text != RATIO
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("breaks", ["[1.5, nan]", "[1.5, inf]", "[-inf, 1.5]", "[nan]"])
def test_user_breaks_must_be_finite(tmp_path, breaks):
    with pytest.raises(SpecError, match=r"views\[0\]\.breaks.*increasing finite upper class bounds"):
        load_spec(_spec(tmp_path, breaks))


def test_301_user_breaks_are_one_line(tmp_path):
    path = _spec(tmp_path, "[" + ", ".join(str(1 + i / 100) for i in range(301)) + "]")
    with pytest.raises(SpecError, match=r"301 breaks is too many; at most 8") as caught:
        load_spec(path)
    assert len(str(caught.value)) < 300
    result = CliRunner().invoke(main, ["map", str(path), "--out", str(tmp_path / "maps")])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_eight_user_breaks_still_draw(tmp_path):
    spec = load_spec(_spec(tmp_path, "[1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.2]"))
    assert spec.views[0].classes == 9


LAYER = (ROOT / "layers" / "prefectures.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize("old, new, key", [
    ('title = ', 'titel = "typo"\ntitle = ', "'titel'"),
    ('renderer = "graduated"', 'renderer = "graduated"\ncolour = "#ff0000"', "styles[0].'colour'"),
])
def test_layer_specs_refuse_unknown_keys(tmp_path, old, new, key):
    assert old in LAYER
    path = tmp_path / "prefectures.toml"
    path.write_text(LAYER.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(GisError, match=re.escape(f"unknown key {key}") + ".*allowed keys"):
        read_layer_spec(path)


def test_shipped_layer_specs_pass():
    for path in sorted((ROOT / "layers").glob("*.toml")):
        read_layer_spec(path)


def test_gis_map_refuses_to_replace_pages_names_chinese_files_and_fails_when_nothing_is_drawn(tmp_path):
    out = tmp_path / "maps"
    chinese = tmp_path / "收入倍差.toml"
    chinese.write_text(RATIO, encoding="utf-8")
    runner = CliRunner()
    first = runner.invoke(main, ["map", str(chinese), "--out", str(out)])
    assert first.exit_code == 0, first.output
    page = out / "收入倍差.html"
    drawn = page.read_bytes()
    again = runner.invoke(main, ["map", str(chinese), "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert page.read_bytes() == drawn
    assert runner.invoke(main, ["map", str(chinese), "--out", str(out), "--overwrite"]).exit_code == 0
    # A spec whose data are missing (a county table not given) is skipped: that is no success.
    skipped = runner.invoke(main, ["map", str(ROOT / "maps" / "county_income_gap.toml"), "--out", str(tmp_path / "other")])
    assert skipped.exit_code == 2, skipped.output
    assert "no map drawn: the spec was skipped" in skipped.output


def test_year_out_of_range_is_refused_before_any_column_is_made(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("地区,rural_income\n淳安,21000\n", encoding="utf-8")
    for year in ("-5", "1800", "3000"):
        result = CliRunner().invoke(main, ["check", "--data", str(table), "--year", year])
        assert result.exit_code == 2
        assert "--year" in result.output and "1949" in result.output and "rural_income_-5" not in result.output
