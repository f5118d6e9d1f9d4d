"""``--map`` of gis index, gis geodetector and gis inequality end to end on the SYNTHETIC
county table: the page's embedded units and views are read back and checked against the
command's own outputs (CSV / GeoPackage) and the province's units."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from gis.analysis.mcda import GRADES
from gis.cli import main
from gis.maps.numbers import NO_DATA
from support.maps import embedded_payload

SYNTHETIC = Path(__file__).parents[1] / "data" / "SYNTHETIC_counties_90_2020_gbk.csv"
#: A file name that is also markup: it reaches the page as the data source and must stay text.
HOSTILE_NAME = "<b>x&y<i>.csv"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture()
def hostile_table(tmp_path):
    path = tmp_path / HOSTILE_NAME
    shutil.copy(SYNTHETIC, path)
    return path


def _page(path: Path):
    text = path.read_text(encoding="utf-8")
    config, units = embedded_payload(text)
    by_name = {f["properties"]["n"]: f["properties"] for f in units["features"]}
    return text, config, by_name


def _assert_escaped(text: str, config: dict) -> None:
    """The hostile file name is cited as the data source, as escaped text only."""
    assert "<b>x" not in text
    assert any("数据来源 Data: &lt;b&gt;x&amp;y&lt;i&gt;.csv" in a for a in config["attributions"])


def test_index_map_scores_grades_obstacles_and_unverified_coupling_note(tmp_path, hostile_table, zhejiang):
    out, page_path = tmp_path / "ix.csv", tmp_path / "ix.html"
    result = run("index", "--data", hostile_table, "--allow-unmatched",
                 "--indicators", "rural_income,income_ratio,hospital_beds_per_1000,elderly_care_beds_per_1000_elderly",
                 "--groups", "income=rural_income,income_ratio;services=hospital_beds_per_1000,elderly_care_beds_per_1000_elderly",
                 "-o", out, "--map", page_path)
    assert result.exit_code == 0, result.output
    assert f"wrote {page_path}" in result.output
    text, config, units = _page(page_path)
    assert set(units) == set(zhejiang.counties["name"])  # every county, scored or not
    assert [v["label"].split(" / ")[0] for v in config["views"]] == [
        "综合得分：熵权综合指数", "耦合协调等级（C：王淑佳等 2021 式，未核对原文）"]
    assert "transcribed from secondary citations" in text and "未核对原文印刷公式" in text
    assert config["views"][1]["colors"] == ["#a50026", "#d73027", "#f46d43", "#fdae61", "#fee090",
                                            "#e0f3f8", "#abd9e9", "#74add1", "#4575b4", "#313695"]
    scores = pd.read_csv(out, dtype={"adcode": str}).set_index("name")
    for name, props in units.items():
        row = scores.loc[name]
        if pd.isna(row["integration_index"]):
            assert props["k"] == [[-1], [-1]] and props["t"][0] == [NO_DATA], name
            continue
        assert props["t"][0] == [f"{row['integration_index']:.3f}"]
        grade = [label for _, label in GRADES].index(row["coordination_grade"])
        assert props["k"][1] == [grade], name
        popup = {label.split(" / ")[0]: value for label, _, value, _ in props["pop"]}
        assert popup["排名（2020年）"] == str(int(row["rank"]))
        assert popup["耦合协调等级（2020年）"] == row["coordination_grade"]
    # Quintiles: five classes, each holding about a fifth of the 85 scored counties.
    counts = np.bincount([p["k"][0][0] for p in units.values() if p["k"][0][0] >= 0], minlength=5)
    assert len(counts) == 5 and counts.min() >= 15
    # The top obstacle named in the popup is the one ranked 1 in the obstacles table.
    obstacles = pd.read_csv(tmp_path / "ix.obstacles.csv", dtype={"adcode": str})
    first = obstacles[obstacles["obstacle_rank"] == 1].set_index("name")["label_zh"]
    popup = {label.split(" / ")[0]: value for label, _, value, _ in units["上城区"]["pop"]}
    assert popup["主要障碍因子（障碍度）（2020年）"].startswith(first["上城区"] + " ")
    assert popup["主要障碍因子（障碍度）（2020年）"].count("；") == 2  # three indicators
    _assert_escaped(text, config)


def test_index_map_without_groups_draws_the_score_only(tmp_path):
    result = run("index", "--data", SYNTHETIC, "--allow-unmatched", "--indicators", "rural_income,hospital_beds_per_1000",
                 "-o", tmp_path / "ix.csv", "--map", tmp_path / "ix.html")
    assert result.exit_code == 0, result.output
    text, config, _ = _page(tmp_path / "ix.html")
    assert len(config["views"]) == 1 and "王淑佳" not in text


def test_index_map_refuses_a_wrong_suffix_before_any_work(tmp_path):
    result = run("index", "--data", SYNTHETIC, "--indicators", "rural_income,income_ratio", "-o", tmp_path / "ix.csv",
                 "--map", tmp_path / "ix.png")
    assert result.exit_code == 2 and "--map" in result.output and ".html" in result.output
    assert not (tmp_path / "ix.csv").exists()


def test_geodetector_map_one_view_per_factor_with_q(tmp_path, hostile_table, zhejiang):
    out, page_path = tmp_path / "gd.gpkg", tmp_path / "gd.html"
    result = run("geodetector", "--data", hostile_table, "--allow-unmatched", "--y", "rural_income",
                 "--factors", "share_aged_60plus,region,prefecture", "--discretize", "quantiles:4", "-o", out, "--map", page_path)
    assert result.exit_code == 0, result.output
    text, config, units = _page(page_path)
    assert set(units) == set(zhejiang.counties["name"])
    factors = pd.read_csv(tmp_path / "gd.factors.csv").set_index("factor")
    labels = [v["label"] for v in config["views"]]
    assert len(labels) == 3
    for label, factor in zip(labels, ["share_aged_60plus", "region", "prefecture"]):
        assert f"q = {factors.loc[factor, 'q']:.3f}" in label
    assert labels[0].startswith("60岁及以上人口比重：分位数 4 层")
    assert len(config["views"][0]["colors"]) == 4 and len(config["views"][2]["colors"]) == 11
    assert "11 类超过 8 色" in text  # the legend says the prefecture colours are not colour-blind safe
    strata = pyogrio.read_dataframe(out, layer="geodetector_units", read_geometry=False).set_index("name")
    assert strata["stratum_share_aged_60plus"].nunique() == 4
    for name, props in units.items():
        if name not in strata.index:  # left out of the analysis: no data in every view
            assert props["k"] == [[-1], [-1], [-1]], name
            continue
        region = props["t"][1][0]
        assert region == strata.loc[name, "stratum_region"]
        assert props["t"][2][0] == strata.loc[name, "stratum_prefecture"]
        # Ordered strata: class k is labelled "k+1: low – high" and the GeoPackage's code is k.
        assert props["t"][0][0].startswith(f"{int(strata.loc[name, 'stratum_share_aged_60plus']) + 1}: "), name
        assert props["k"][0][0] == int(strata.loc[name, "stratum_share_aged_60plus"])
    assert sum(p["k"][0] == [-1] for p in units.values()) == 90 - len(strata)
    _assert_escaped(text, config)


def test_inequality_map_groups_and_values_per_year(tmp_path, hostile_table, zhejiang):
    page_path = tmp_path / "iq-map.html"
    result = run("inequality", "--data", hostile_table, "--allow-unmatched", "--level", "counties", "--indicator", "rural_income",
                 "--groups", "mountain26", "-o", tmp_path / "iq.csv", "--map", page_path)
    assert result.exit_code == 0, result.output
    text, config, units = _page(page_path)
    assert set(units) == set(zhejiang.counties["name"])
    (view,) = config["views"]
    assert view["label"] == "分组：山区26县与其他 / Groups: mountain-26 counties and the rest"
    assert view["colors"] == ["#e69f00", "#56b4e9"]  # Okabe–Ito
    layer = pyogrio.read_dataframe(tmp_path / "iq.gpkg", layer="inequality_rural_income_units", read_geometry=False).set_index("name")
    for name, props in units.items():
        value = layer.loc[name, "rural_income_2020"]
        popup = {(label.split(" / ")[0], year): text for label, year, text, _ in props["pop"]}
        if pd.isna(value):
            assert props["k"] == [[-1]] and popup[("农村常住居民人均可支配收入", 2020)] == NO_DATA.replace(" ", "\u00a0"), name
        else:
            assert props["t"][0][0] == layer.loc[name, "group"]
            assert popup[("农村常住居民人均可支配收入", 2020)] == f"{value:,.0f}\u00a0元"
    mountain = [n for n, p in units.items() if p["t"][0][0].startswith("山区26县")]
    assert len(mountain) >= 20
    assert sum(p["k"] == [[-1]] for p in units.values()) == int(layer["rural_income_2020"].isna().sum())
    _assert_escaped(text, config)


def test_inequality_map_may_not_replace_the_chart_page(tmp_path):
    result = run("inequality", "--indicator", "rural_income", "--groups", "region", "-o", tmp_path / "iq.csv",
                 "--map", tmp_path / "iq.html")
    assert result.exit_code == 2 and "chart page" in result.output
    assert not (tmp_path / "iq.csv").exists()
