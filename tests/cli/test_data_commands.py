"""The commands end to end: gis template, check, index and lisa (on the SYNTHETIC yearbook table)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
from click.testing import CliRunner

from gis.cli import main

SYNTHETIC = Path(__file__).parents[1] / "data" / "SYNTHETIC_counties_90_2020_gbk.csv"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_template_xlsx_and_csv_round_trip_through_check(tmp_path):
    xlsx = tmp_path / "counties.xlsx"
    result = run("template", "counties", "--province", "330000", "-o", xlsx)
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(xlsx, read_only=True)
    assert book.sheetnames == ["data", "indicators 指标说明"]
    header = next(book["data"].iter_rows(values_only=True))
    assert header[:4] == ("adcode", "name", "prefecture", "year") and "rural_income" in header
    csv_path = tmp_path / "prefectures.csv"
    assert run("template", "prefectures", "--year", "2020", "-o", csv_path).exit_code == 0
    text = csv_path.read_text(encoding="utf-8-sig")
    assert "# rural_income | 农村常住居民人均可支配收入 | yuan (元)" in text
    assert "adcode,name,resident_income_2020," in text
    result = run("check", "--data", csv_path)
    assert result.exit_code == 0, result.output
    assert "rows: 11 in = 11 matched + 0 reported" in result.output
    assert run("template", "counties", "-o", xlsx).exit_code == 2  # refuses to overwrite


def test_check_prints_the_report_and_fails_on_unmatched_rows():
    result = run("check", "--data", SYNTHETIC)
    assert result.exit_code == 2
    assert "encoding GBK" in result.output
    assert "rows: 91 in = 88 matched + 3 reported" in result.output
    assert "Error: 3 row(s)/value(s) could not be joined" in result.output
    assert run("check", "--data", SYNTHETIC, "--allow-unmatched").exit_code == 0


def test_index_writes_scores_and_weights(tmp_path):
    out = tmp_path / "index.csv"
    result = run(
        "index", "--data", SYNTHETIC, "--allow-unmatched",
        "--indicators", "rural_income,income_ratio,hospital_beds_per_1000,elderly_care_beds_per_1000_elderly",
        "--groups", "income=rural_income,income_ratio;services=hospital_beds_per_1000,elderly_care_beds_per_1000_elderly",
        "-o", out,
    )
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out, dtype={"adcode": str}, encoding="utf-8-sig")
    weights = pd.read_csv(tmp_path / "index.weights.csv", encoding="utf-8-sig")
    assert len(scores) == 90  # every county, with or without an index
    assert weights["weight"].sum() == 1.0 or abs(weights["weight"].sum() - 1) < 1e-9
    no_index = scores[scores["integration_index"].isna()]
    assert set(no_index["name"]) >= {"临平区", "钱塘区", "余杭区"}
    assert (no_index["missing_inputs"] != "").all()
    assert scores["coordination_d"].dropna().between(0, 1).all()
    assert "Units without an index — missing inputs" in result.output


def test_lisa_writes_a_geopackage_layer(tmp_path):
    out = tmp_path / "lisa.gpkg"
    result = run("lisa", "--data", SYNTHETIC, "--allow-unmatched", "--indicator", "urban_income", "--permutations", "199", "-o", out)
    assert result.exit_code == 0, result.output
    layers = [name for name, _ in pyogrio.list_layers(out)]
    assert layers == ["lisa_urban_income_2020"]
    frame = gpd.read_file(out, layer="lisa_urban_income_2020")
    assert {"lisa_i", "lisa_p", "lisa_cluster"} <= set(frame.columns)
    assert "Left out" in result.output and "no value for urban_income_2020" in result.output


def test_lisa_map_shows_the_clusters_and_left_out_units_as_no_data(tmp_path):
    page_path = tmp_path / "lisa.html"
    result = run("lisa", "--data", SYNTHETIC, "--allow-unmatched", "--indicator", "urban_income", "--permutations", "199",
                 "-o", tmp_path / "lisa.geojson", "--map", page_path)
    assert result.exit_code == 0, result.output
    assert f"wrote {page_path}" in result.output
    page = page_path.read_text(encoding="utf-8")
    assert "<title>浙江省城镇常住居民人均可支配收入（2020年）空间集聚" in page
    assert "高—高（热点）" in page and "不显著" in page and "暂无数据 / no data" in page
    assert "数据来源 Data: SYNTHETIC_counties_90_2020_gbk.csv" in page
    frame = gpd.read_file(tmp_path / "lisa.geojson")
    assert len(frame) < 90  # 临平区 and others without a value were left out of the analysis...
    assert page.count('"n":"临平区"') + page.count('"n": "临平区"') == 1  # ...but are on the map


# --------------------------------------------------------------------------------------------
# gis build --data: the user's table in the GeoPackage and the maps


def test_build_with_a_table_fails_on_unmatched_rows_and_writes_nothing(tmp_path):
    result = run("build", "--data", SYNTHETIC, "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "rows: 91 in = 88 matched + 3 reported" in result.output
    assert "江干区" in result.output and "--allow-unmatched" in result.output
    assert not (tmp_path / "out").exists()


def test_build_with_a_table_joins_it_everywhere(built_with_table):
    out, result = built_with_table
    # Every row accounted for, and the shipped values the table replaces are named.
    assert "rows: 91 in = 88 matched + 3 reported" in result.output
    assert "浙江省 (330000) share_aged_60plus 2020: your value 24" in result.output
    assert "replaces the shipped 18.7" in result.output
    gpkg = out / "zhejiang.gpkg"
    counties = pyogrio.read_dataframe(gpkg, layer="counties", read_geometry=False).set_index("name")
    assert counties.loc["上城区", "urban_income_2020"] == 63692
    assert counties.loc["上城区", "rural_income_2020"] == 38545
    assert abs(counties.loc["上城区", "income_ratio_2020"] - 63692 / 38545) < 1e-9
    assert pd.isna(counties.loc["临平区", "urban_income_2020"])  # its row (old 余杭区) was reported
    sources = pyogrio.read_dataframe(gpkg, layer="sources")
    row = sources[(sources["layer"] == "counties") & (sources["column"] == "urban_income_2020")]
    assert row["source"].tolist() == ["SYNTHETIC_counties_90_2020_gbk.csv"]
    # The county maps that use these indicators appear; a view with no values is left out.
    for name in ("county_income_gap", "county_ageing_services"):
        assert f"wrote {out / 'maps' / name}.html" in result.output
    # Said in planners' words: what the view needs and the command that supplies it.
    assert "义务教育阶段每千名学生专任教师数。用 gis template counties" in result.output
    assert "teachers_per_1000_pupils_<year>" not in result.output
    page = (out / "maps" / "county_ageing_services.html").read_text(encoding="utf-8")
    assert "每千名老年人养老床位数" in page and "数据来源 Data: SYNTHETIC_counties_90_2020_gbk.csv" in page


def test_build_without_tables_skips_the_maps_that_need_them(built_zhejiang):
    out, result = built_zhejiang
    assert not (out / "maps" / "county_income_gap.html").exists()
    assert "county_income_gap.toml: map skipped" in result.output
    index = (out / "maps" / "index.html").read_text(encoding="utf-8")
    assert 'href="county_degurba.html"' in index and 'href="county_income_gap.html"' not in index
