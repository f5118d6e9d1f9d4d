"""The analysis kit end to end: gis inequality, index (panel, TOPSIS, obstacles, coupling),
geodetector and lisa's FDR / island options, on the seed data and the SYNTHETIC table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from gis.analysis.inequality import inequality_table
from gis.cli import main

SYNTHETIC = Path(__file__).parents[1] / "data" / "SYNTHETIC_counties_90_2020_gbk.csv"
SEED = Path(__file__).parents[2] / "gis" / "data" / "330000" / "indicators_seed.csv"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_csv(path):
    frame = pd.read_csv(path, dtype={"adcode": str, "group": str}, encoding="utf-8-sig", keep_default_na=False, na_values=[""])
    return frame.assign(group=frame["group"].fillna("")) if "group" in frame else frame


# --------------------------------------------------------------------------------------------
# gis inequality


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ineq") / "rural.csv"
    result = run("inequality", "--indicator", "rural_income", "--groups", "region", "-o", out)
    assert result.exit_code == 0, result.output
    return out, result


def test_seed_rural_income_by_region_2000_2020(seed_run):
    out, result = seed_run
    table = read_csv(out)
    assert sorted(table["year"].unique()) == [2000, 2005, 2010, 2015, 2020]
    # Recompute from the seed file itself: rural = g / (r − 1) for the 11 prefectures.
    seed = pd.read_csv(SEED, dtype={"adcode": str})
    seed = seed[seed["adcode"].str.endswith("00") & (seed["adcode"] != "330000")]
    wide = seed.pivot_table(index=["adcode", "year"], columns="indicator", values="value").dropna(subset=["income_ratio", "income_gap"])
    wide["value"] = wide["income_gap"] / (wide["income_ratio"] - 1)
    north = {"330100", "330200", "330400", "330500", "330600", "330900"}
    frame = wide.reset_index().assign(group=lambda f: np.where(f["adcode"].isin(north), "浙东北", "浙西南"))
    expected = inequality_table(frame[["adcode", "year", "value", "group"]])
    merged = table.merge(expected, on=["year", "measure", "component", "group"], suffixes=("", "_expected"))
    assert len(merged) == len(expected)
    assert np.allclose(merged["value"], merged["value_expected"], rtol=1e-12)
    totals = table[(table["measure"] == "theil_t") & (table["group"] == "")].pivot(index="year", columns="component", values="value")
    assert np.allclose(totals["between"] + totals["within"], totals["total"])
    assert (table.loc[table["measure"] == "n", "value"] == 11).all()
    # Every row says where the values come from and that they are estimates, with the accuracy.
    assert table["source"].str.contains("estimate 估算").all() and table["source"].str.contains("表3").all()
    assert table["source"].str.contains(r"±0\.\d\d–0\.\d\d %").all()
    assert "55 unit-year(s) without incomes" in result.output


def test_seed_outputs_gpkg_and_offline_page(seed_run):
    out, _ = seed_run
    gpkg, page = out.with_suffix(".gpkg"), out.with_suffix(".html")
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers["inequality_rural_income_units"] == "MultiPolygon" and layers["inequality_rural_income"] is None
    units = pyogrio.read_dataframe(gpkg, layer="inequality_rural_income_units", read_geometry=False)
    assert len(units) == 11 and set(units["group"]) == {"浙东北", "浙西南"}
    assert units.set_index("name").loc["杭州市", "rural_income_2000"] == pytest.approx(5172 / 1.15)
    with sqlite3.connect(gpkg) as db:
        qml = db.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'inequality_rural_income_units'").fetchone()[0]
    assert "&quot;group&quot; = '浙东北'" in qml or "\"group\" = '浙东北'" in qml
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 5  # group means + Theil T, Theil L, Gini, CV
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    assert "<title>浙江省农村常住居民人均可支配收入的差异及其分解" in html
    assert "estimate 估算" in html and "组间 between" in html and "超变密度 transvariation" in html


def test_inequality_population_weights_from_the_census(tmp_path):
    out = tmp_path / "w.csv"
    result = run("inequality", "--indicator", "urban_income", "--groups", "pilot_zone", "--weights", "population", "-o", out)
    assert result.exit_code == 0, result.output
    assert "weights: 2020 census resident population, used for every year" in result.output
    table = read_csv(out)
    assert table["weights"].str.contains("population_2020.csv").all()
    assert set(table.loc[table["component"] == "group_index", "group"]) == {"嘉湖片区", "试验区外 outside the pilot zones"}


def test_inequality_on_counties_by_prefecture_reports_units_without_values(tmp_path):
    result = run("inequality", "--data", SYNTHETIC, "--allow-unmatched", "--indicator", "rural_income",
                 "--groups", "prefecture", "--level", "counties", "-o", tmp_path / "c.csv")
    assert result.exit_code == 0, result.output
    assert "Left out (3 of 90 counties, no value of rural_income in any year): 余杭区 (330110)" in result.output
    table = read_csv(tmp_path / "c.csv")
    assert len(table[table["component"] == "group_gini"]) == 11


def test_inequality_bad_input(tmp_path):
    one = run("inequality", "--indicator", "rural_income", "--groups", "mountain26", "-o", tmp_path / "a.csv")
    assert one.exit_code == 2 and "--groups mountain26 groups counties; use --level counties" in one.output
    # One group: every county of the 嘉湖 pilot zone only.
    rows = "adcode,year,rural_income\n" + "\n".join(f"{a},2020,{v}" for a, v in [("330402", 40000), ("330411", 41000), ("330421", 42000)])
    (tmp_path / "jh.csv").write_text(rows, encoding="utf-8")
    result = run(
        "inequality", "--data", tmp_path / "jh.csv", "--indicator", "rural_income", "--groups", "pilot_zone", "--level", "counties", "-o", tmp_path / "b.csv"
    )
    assert result.exit_code == 2 and "at least 2 groups; all units are in '嘉湖片区'" in result.output
    # A constant indicator has no inequality to decompose — and a missing year is named.
    rows = "adcode,year,rural_income\n" + "\n".join(f"{a},{y},30000" for a in ("330100", "330200", "330300", "330700") for y in (2019, 2020))
    varied = "adcode,year,rural_income\n" + "\n".join(
        f"{a},{y},{30000 + 100 * i}" for i, a in enumerate(("330100", "330200", "330300", "330700")) for y in (2019, 2020)
    )
    (tmp_path / "flat.csv").write_text(varied + "\n330400,2020,30000\n", encoding="utf-8")
    result = run("inequality", "--data", tmp_path / "flat.csv", "--indicator", "rural_income", "--groups", "region", "-o", tmp_path / "c.csv")
    assert result.exit_code == 2 and "1 unit-year(s) missing" in result.output and "330400 (2019)" in result.output
    (tmp_path / "flat.csv").write_text(rows, encoding="utf-8")
    result = run("inequality", "--data", tmp_path / "flat.csv", "--indicator", "rural_income", "--groups", "region", "-o", tmp_path / "d.csv")
    assert result.exit_code == 2 and "same value (30000) for every unit" in result.output
    assert not (tmp_path / "d.csv").exists()


# --------------------------------------------------------------------------------------------
# gis index


def test_index_topsis_obstacles_and_corrected_coupling(tmp_path):
    out = tmp_path / "ix.csv"
    result = run("index", "--data", SYNTHETIC, "--allow-unmatched", "--method", "entropy_topsis",
                 "--indicators", "rural_income,income_ratio,hospital_beds_per_1000,elderly_care_beds_per_1000_elderly",
                 "--groups", "income=rural_income,income_ratio;services=hospital_beds_per_1000,elderly_care_beds_per_1000_elderly",
                 "-o", out)
    assert result.exit_code == 0, result.output
    scores = read_csv(out)
    scored = scores.dropna(subset=["topsis_closeness"])
    assert len(scores) == 90 and len(scored) == 85
    assert scored.sort_values("topsis_closeness", ascending=False)["rank"].iloc[0] == 1
    # The corrected two-system C: sqrt[(1 − |U1 − U2|) · min/max].
    u1, u2 = scored["U_income"], scored["U_services"]
    c = np.sqrt((1 - (u1 - u2).abs()) * np.minimum(u1, u2) / np.maximum(u1, u2))
    assert np.allclose(scored["coupling_c"], c)
    assert np.allclose(scored["coordination_d"], np.sqrt(c * (0.5 * u1 + 0.5 * u2)))
    assert set(scored["coordination_grade"]) <= {"极度失调 extreme imbalance", "严重失调 serious imbalance", "中度失调 moderate imbalance",
                                                  "轻度失调 mild imbalance", "濒临失调 on the verge of imbalance", "勉强协调 barely coordinated",
                                                  "初级协调 primary coordination", "中级协调 intermediate coordination",
                                                  "良好协调 good coordination", "优质协调 high-quality coordination"}
    obstacles = read_csv(tmp_path / "ix.obstacles.csv")
    sums = obstacles.groupby("adcode")["obstacle_degree"].sum()
    assert np.allclose(sums, 1.0) and len(sums) == 85
    method = (tmp_path / "ix.method.txt").read_text(encoding="utf-8")
    assert "王淑佳, 孔伟, 任亮, 治丹丹, 戴彬婷 (2021)" in method and "793–810" in method and "优质协调" in method
    assert "could not be read here" in method
    frame = pyogrio.read_dataframe(tmp_path / "ix.gpkg", layer="index_units", read_geometry=False)
    assert len(frame) == 90 and {"topsis_closeness_2020", "coordination_grade_2020"} <= set(frame.columns)


def test_index_panel_uses_one_weight_set_across_years(tmp_path):
    # Three prefectures whose values all rise by the same amount: one weight set makes 2020
    # better than 2019 for each, which per-year weights (min-max within a year) could not show.
    rows = ["adcode,year,rural_income,hospital_beds_per_1000"]
    for i, a in enumerate(["330100", "330200", "330300"]):
        for y, bump in ((2019, 0), (2020, 1)):
            rows.append(f"{a},{y},{30000 + 1000 * i + 500 * bump},{5 + i * 0.5 + bump * 0.25}")
    (tmp_path / "p.csv").write_text("\n".join(rows), encoding="utf-8")
    args = ("index", "--data", tmp_path / "p.csv", "--level", "prefectures", "--indicators", "rural_income,hospital_beds_per_1000")
    needs_year = run(*args, "-o", tmp_path / "x.csv")
    assert needs_year.exit_code == 2 and "--years all" in needs_year.output
    result = run(*args, "--years", "all", "-o", tmp_path / "panel.csv")
    assert result.exit_code == 0, result.output
    scores = read_csv(tmp_path / "panel.csv").dropna(subset=["integration_index"])
    assert len(scores) == 6
    by_unit = scores.pivot(index="adcode", columns="year", values="integration_index")
    assert (by_unit[2020] > by_unit[2019]).all()
    weights = read_csv(tmp_path / "panel.weights.csv")
    assert (weights["n"] == 6).all() and (weights["years"] == "2019,2020").all()
    assert "Units without an index — missing inputs (8)" in result.output  # the other 8 prefectures


# --------------------------------------------------------------------------------------------
# gis geodetector


def test_geodetector_end_to_end(tmp_path):
    out = tmp_path / "gd.gpkg"
    result = run("geodetector", "--data", SYNTHETIC, "--allow-unmatched", "--y", "rural_income",
                 "--factors", "share_aged_60plus,region", "--discretize", "quantiles:4", "-o", out)
    assert result.exit_code == 0, result.output
    layers = dict(pyogrio.list_layers(out))
    assert layers["geodetector_units"] == "MultiPolygon"
    assert {"geodetector_factors", "geodetector_interactions", "geodetector_risk_means", "geodetector_discretization"} <= set(layers)
    units = pyogrio.read_dataframe(out, layer="geodetector_units", read_geometry=False)
    assert units["stratum_share_aged_60plus"].nunique() == 4 and set(units["stratum_region"]) == {"浙东北", "浙西南"}
    # q of the region factor recomputed here: 1 − SSW/SST.
    y = units["rural_income"].to_numpy()
    ssw = units.groupby("stratum_region")["rural_income"].apply(lambda v: ((v - v.mean()) ** 2).sum()).sum()
    q = 1 - ssw / ((y - y.mean()) ** 2).sum()
    factors = read_csv(tmp_path / "gd.factors.csv").set_index("factor")
    assert factors.loc["region", "q"] == pytest.approx(q)
    assert factors.loc["share_aged_60plus", "scheme"] == "quantiles" and factors.loc["share_aged_60plus", "k"] == 4
    assert "Interaction detector" in result.output and "Left out (3 of 90 counties" in result.output


def test_geodetector_bad_input(tmp_path):
    bad = run(
        "geodetector",
        "--data",
        SYNTHETIC,
        "--allow-unmatched",
        "--y",
        "rural_income",
        "--factors",
        "region",
        "--discretize",
        "wavy:3",
        "-o",
        tmp_path / "a.gpkg",
    )
    assert bad.exit_code == 2 and "--discretize wavy:3: expected optimal" in bad.output
    unknown = run("geodetector", "--data", SYNTHETIC, "--allow-unmatched", "--y", "rural_income", "--factors", "soil", "-o", tmp_path / "a.gpkg")
    assert unknown.exit_code == 2 and "unknown indicator(s) or factor(s) soil" in unknown.output


# --------------------------------------------------------------------------------------------
# gis lisa: islands, FDR, ranges


def test_lisa_islands_reported_or_linked_and_fdr(tmp_path):
    base = ("lisa", "--data", SYNTHETIC, "--allow-unmatched", "--indicator", "rural_income", "--permutations", "199")
    excluded = run(*base, "-o", tmp_path / "a.gpkg")
    assert excluded.exit_code == 0, excluded.output
    assert "嵊泗县 (330922): no queen neighbour with a value (island); --islands knn:K links it instead" in excluded.output
    linked = run(*base, "--islands", "knn:2", "--fdr", "-o", tmp_path / "b.gpkg")
    assert linked.exit_code == 0, linked.output
    assert "Island 嵊泗县 (330922) linked to its 2 nearest:" in linked.output
    assert "Benjamini–Hochberg FDR at 0.05" in linked.output
    frame = pyogrio.read_dataframe(tmp_path / "b.gpkg", read_geometry=False).set_index("name")
    assert frame.loc["嵊泗县", "lisa_links"].startswith("knn:2 → ")
    assert (frame["lisa_p_cutoff"] < 0.05).all()
    assert ((frame["lisa_cluster"] != "not significant") == (frame["lisa_p"] <= frame["lisa_p_cutoff"])).all()


@pytest.mark.parametrize("option, value, message", [
    ("--alpha", "0", "'0' is outside 1e-06 to 0.5"),
    ("--alpha", "0.6", "'0.6' is outside 1e-06 to 0.5"),
    ("--alpha", "nan", "'nan' is outside"),
    ("--permutations", "18", "18 is not in the range 19<=x<=99999"),
    ("--permutations", "100000", "not in the range 19<=x<=99999"),
    ("--islands", "knn:0", "expected 'exclude' or 'knn:K' with K from 1 to 10"),
    ("--islands", "nearest", "expected 'exclude' or 'knn:K'"),
])
def test_lisa_option_ranges(tmp_path, option, value, message):
    result = run("lisa", "--data", SYNTHETIC, "--indicator", "rural_income", option, value, "-o", tmp_path / "x.gpkg")
    assert result.exit_code == 2 and message in result.output


def test_lisa_on_too_few_units_says_how_many_are_needed(tmp_path):
    rows = "adcode,year,rural_income\n330100,2020,40000\n330200,2020,41000\n330500,2020,39000\n330600,2020,42000\n330400,2020,38000\n"
    (tmp_path / "five.csv").write_text(rows, encoding="utf-8")
    result = run("lisa", "--data", tmp_path / "five.csv", "--level", "prefectures", "--indicator", "rural_income", "-o", tmp_path / "x.gpkg")
    assert result.exit_code == 2
    assert "LISA on 5 units cannot find any significant unit at alpha 0.05" in result.output and "needs at least" in result.output


# --------------------------------------------------------------------------------------------
# On the shipped census indicators, with no table of the user's


def test_the_four_analyses_run_on_sichuans_census_indicators_without_a_table(tmp_path):
    living = "share_households_tap_water,share_households_toilet,share_households_bath,avg_years_schooling"
    index = run("index", "--province", "510000", "--level", "counties", "--indicators", living, "--year", "2020",
                "-o", tmp_path / "index.csv", "--map", tmp_path / "index.html")
    assert index.exit_code == 0, index.output
    assert "no --data: using the data shipped for 510000" in index.output and "census county tabulations" in index.output
    scores = read_csv(tmp_path / "index.csv")
    assert len(scores) == 183 and scores["integration_index"].notna().sum() == 183
    assert "《中国人口普查分县资料—2020》" in (tmp_path / "index.html").read_text(encoding="utf-8")  # the values' source

    inequality = run("inequality", "--province", "510000", "--level", "counties", "--indicator", "share_aged_65plus",
                     "--groups", "prefecture", "--year", "2020", "-o", tmp_path / "ineq.csv")
    assert inequality.exit_code == 0, inequality.output
    table = read_csv(tmp_path / "ineq.csv")
    assert set(table["year"]) == {2020} and table["source"].str.contains("中国人口普查分县资料").all()

    detector = run("geodetector", "--province", "510000", "--level", "counties", "--y", "share_aged_65plus",
                   "--factors", "share_employed_agriculture,prefecture", "--year", "2020", "-o", tmp_path / "gd.gpkg")
    assert detector.exit_code == 0, detector.output
    assert "share_employed_agriculture" in detector.output and "q = " in detector.output

    lisa = run("lisa", "--province", "510000", "--level", "counties", "--indicator", "share_aged_65plus",
               "--year", "2020", "--permutations", "199", "-o", tmp_path / "hot.gpkg")
    assert lisa.exit_code == 0, lisa.output
    assert "LISA of share_aged_65plus_2020 over 183 units" in lisa.output
