"""Users' own groups and the shipped groupings of other provinces, end to end: a groups file
reproduces a Theil T split computed by hand, a table's own ``region`` column is groups (not an
unknown column), bad groups files stop with one line naming the rows, and Jiangsu's shipped
苏南/苏中/苏北 split runs on shipped data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from click.testing import CliRunner

from gis.cli import main
from gis.units.boundaries import load_boundaries


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_csv(path):
    return pd.read_csv(path, dtype={"adcode": str, "group": str}, encoding="utf-8-sig", keep_default_na=False, na_values=[""])


def _zhejiang_table(tmp_path):
    """Rural income of every Zhejiang county (made-up values, distinct), and three groups:
    north (杭州, 湖州, 嘉兴, 绍兴, 宁波, 舟山 by adcode), the 温州–台州 coast (by name) and
    the rest; groups named in the file's own order C, A, B."""
    counties = load_boundaries("330000").counties.reset_index(drop=True)
    values = 20000 + 350 * np.arange(len(counties)) + 3000 * (counties["adcode"].str[2:4].astype(int) % 3)
    table = pd.DataFrame({"adcode": counties["adcode"], "year": 2022, "rural_income": values})
    data = tmp_path / "income.csv"
    table.to_csv(data, index=False, encoding="utf-8")
    prefix = counties["adcode"].str[:4]
    group = np.where(prefix.isin(["3301", "3302", "3304", "3305", "3306", "3309"]), "A北部",
                     np.where(prefix.isin(["3303", "3310"]), "B沿海", "C其他"))
    # Units by adcode, except the coast's, given by name only: both are matched.
    coast = group == "B沿海"
    rows = pd.DataFrame({"adcode": np.where(coast, "", counties["adcode"]), "name": np.where(coast, counties["name"], ""),
                         "group": group})
    rows = pd.concat([rows[rows["group"] == "C其他"], rows[rows["group"] != "C其他"]])  # C named first
    groups = tmp_path / "groups.csv"
    rows.to_csv(groups, index=False, encoding="utf-8")
    return counties, values.to_numpy(dtype=float), group, data, groups


def _theil_t(y: np.ndarray, g: np.ndarray):
    """Theil T and its split by hand: T = (1/n) Σ (y/μ) ln(y/μ); between = Σ_g (n_g/n)(μ_g/μ) ln(μ_g/μ);
    within = Σ_g (n_g/n)(μ_g/μ) T_g."""
    mu = y.mean()
    total = np.mean(y / mu * np.log(y / mu))
    between = within = 0.0
    for name in np.unique(g):
        part = y[g == name]
        share = len(part) / len(y) * part.mean() / mu
        between += share * np.log(part.mean() / mu)
        within += share * np.mean(part / part.mean() * np.log(part / part.mean()))
    return total, between, within


def test_a_groups_file_of_three_groups_reproduces_the_theil_t_split_by_hand(tmp_path):
    counties, values, group, data, groups = _zhejiang_table(tmp_path)
    out = tmp_path / "t.csv"
    result = run("inequality", "--data", data, "--indicator", "rural_income", "--groups-file", groups,
                 "--level", "counties", "-o", out)
    assert result.exit_code == 0, result.output
    assert "rows: 90 in = 90 matched + 0 reported" in result.output
    table = read_csv(out)
    theil = table[(table["measure"] == "theil_t") & table["group"].isna()].set_index("component")["value"]
    total, between, within = _theil_t(values, group)
    assert np.isclose(theil["total"], total, rtol=1e-12) and np.isclose(theil["between"], between, rtol=1e-12)
    assert np.isclose(theil["within"], within, rtol=1e-12)
    assert np.isclose(between + within, total)
    # Groups keep the file's order (C其他 first), not Unicode order (A, B, C).
    means = table[(table["component"] == "group_index") & (table["measure"] == "theil_t")]
    assert list(dict.fromkeys(means["group"])) == ["C其他", "A北部", "B沿海"]


def test_a_region_column_of_the_users_table_is_groups_not_an_unknown_column(tmp_path):
    counties, values, group, _, _ = _zhejiang_table(tmp_path)
    data = tmp_path / "with_region.csv"
    pd.DataFrame({"adcode": counties["adcode"], "year": 2022, "rural_income": values, "region": group}).to_csv(data, index=False)
    out = tmp_path / "r.csv"
    result = run("inequality", "--data", data, "--indicator", "rural_income", "--groups", "region", "--level", "counties", "-o", out)
    assert result.exit_code == 0, result.output
    assert "unknown column" not in result.output
    table = read_csv(out)
    theil = table[(table["measure"] == "theil_t") & table["group"].isna()].set_index("component")["value"]
    assert np.isclose(theil["between"], _theil_t(values, group)[1], rtol=1e-12)  # the user's region, not 浙东北/浙西南
    assert set(table.loc[table["component"] == "group_index", "group"]) == {"A北部", "B沿海", "C其他"}


def test_bad_groups_files_stop_with_one_line_naming_the_rows(tmp_path):
    counties, _, _, data, _ = _zhejiang_table(tmp_path)
    cases = {
        "two": ("adcode,group\n330102,甲\n330105,乙\n330102,乙\n", "in two groups", "330102", "row 2", "row 4"),
        "number": ("adcode,group\n330102,甲\n330105,3\n330106,4\n", "are numbers", "rows 3, 4"),
        "empty": ("adcode,group\n330102,甲\n330105,\n", "empty group", "row 3"),
        "unmatched": ("name,group\n上城区,甲\n不存在县,乙\n", "match no unit", "row 3", "不存在县"),
    }
    for name, (text, *expected) in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        result = run("inequality", "--data", data, "--indicator", "rural_income", "--groups-file", path,
                     "--level", "counties", "-o", tmp_path / f"{name}_out.csv")
        assert result.exit_code == 2, (name, result.output)
        error = [line for line in result.output.splitlines() if line.startswith("Error")]
        assert len(error) == 1 and all(e in error[0] for e in expected), (name, result.output)
        assert "Traceback" not in result.output


def test_jiangsu_inequality_by_su_nan_su_zhong_su_bei_on_shipped_data(tmp_path):
    out = tmp_path / "js.csv"
    result = run("inequality", "--province", "320000", "--groups", "region", "--level", "prefectures",
                 "--indicator", "resident_population", "-o", out)
    assert result.exit_code == 0, result.output
    table = read_csv(out)
    means = table[(table["component"] == "group_index") & (table["measure"] == "theil_t")]
    assert list(dict.fromkeys(means["group"])) == ["苏南", "苏中", "苏北"]  # the source's order
    theil = table[(table["measure"] == "theil_t") & table["group"].isna()].set_index("component")["value"]
    assert np.isclose(theil["between"] + theil["within"], theil["total"]) and theil["between"] > 0
    assert table["groups_source"].str.contains("苏南 南京 无锡 常州 苏州 镇江").all()
    assert table["source"].str.contains("人口普查").all()
    # 13 prefectures, all three groups present.
    assert int(table.loc[table["component"] == "n_units", "value"].iloc[0]) == 13


def test_zhejiang_groupings_are_refused_where_no_unit_belongs(tmp_path):
    result = run("inequality", "--province", "510000", "--groups", "mountain26", "--level", "counties",
                 "--indicator", "resident_population", "-o", tmp_path / "s.csv")
    assert result.exit_code == 2 and "no counties here belong to the shipped 山区26县" in result.output
    # 宁锡常's member list is incomplete in the sources: no split by it.
    result = run("inequality", "--province", "320000", "--groups", "pilot_zone", "--level", "counties",
                 "--indicator", "resident_population", "-o", tmp_path / "p.csv")
    assert result.exit_code == 2 and "incomplete" in result.output


def test_henan_inequality_by_the_xuchang_pilot_zone_and_shandong_refused(tmp_path):
    # 许昌's member list is complete (the whole prefecture): 许昌市 against Henan's other 市.
    out = tmp_path / "ha.csv"
    result = run("inequality", "--province", "410000", "--groups", "pilot_zone", "--level", "prefectures",
                 "--indicator", "resident_population", "-o", out)
    assert result.exit_code == 0, result.output
    table = read_csv(out)
    means = table[(table["component"] == "group_index") & (table["measure"] == "theil_t")]
    assert list(dict.fromkeys(means["group"])) == ["许昌", "试验区外 outside the pilot zones"]
    theil = table[(table["measure"] == "theil_t") & table["group"].isna()].set_index("component")["value"]
    assert np.isclose(theil["between"] + theil["within"], theil["total"]) and theil["between"] > 0
    assert table["groups_source"].str.contains("禹州市、长葛市、鄢陵县、襄城县、魏都区、建安区").all()
    # 济青's list is not: no split by it.
    result = run("inequality", "--province", "370000", "--groups", "pilot_zone", "--level", "counties",
                 "--indicator", "resident_population", "-o", tmp_path / "sd.csv")
    assert result.exit_code == 2 and "incomplete" in result.output


def test_group_colours_stay_distinct_to_20_and_neighbours_differ_past_that():
    import geopandas as gpd
    from shapely.geometry import box

    from gis.analysis.grouping import DISTINCT_20, OKABE_ITO, group_colours

    # 6 × 5 squares, each its own group: 30 groups, each touching up to 8 others (corners too).
    cells = [(i, j) for j in range(5) for i in range(6)]
    units = gpd.GeoDataFrame({"g": [f"g{k:02d}" for k in range(len(cells))]},
                             geometry=[box(i, j, i + 1, j + 1) for i, j in cells], crs="EPSG:4326")
    order = list(units["g"])
    colours = group_colours(units, "g", order)
    assert set(colours.values()) <= set(DISTINCT_20)
    index = {cell: g for cell, g in zip(cells, order)}
    for (i, j), g in index.items():
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                other = index.get((i + di, j + dj))
                if other is not None and other != g:
                    assert colours[other] != colours[g], (g, other)
    # Up to 20 groups every group has its own colour; up to 8 the colour-blind-safe set, in order.
    assert len(set(group_colours(units.iloc[:20], "g", order[:20]).values())) == 20
    assert list(group_colours(units.iloc[:3], "g", ["g02", "g00", "g01"]).values()) == list(OKABE_ITO[:3])


def test_index_scores_summarised_by_a_shipped_grouping(tmp_path):
    from pathlib import Path

    synthetic = Path(__file__).parents[1] / "data" / "SYNTHETIC_counties_90_2020_gbk.csv"
    out = tmp_path / "ix.csv"
    result = run("index", "--data", synthetic, "--allow-unmatched", "--indicators", "rural_income,hospital_beds_per_1000,share_aged_60plus",
                 "--by", "mountain26", "-o", out)
    assert result.exit_code == 0, result.output
    summary = read_csv(tmp_path / "ix.groups.csv")
    assert list(summary["group"]) == ["山区26县 mountain-26 counties", "其他县 other counties"]
    scores = read_csv(out)
    for row in summary.itertuples():
        part = scores[(scores["unit_group"] == row.group) & scores["integration_index"].notna()]
        assert row.units == len(part) and np.isclose(row.mean_integration_index, part["integration_index"].mean())


def test_geodetector_takes_a_groups_file_as_a_factor(tmp_path):
    counties, values, group, data, groups = _zhejiang_table(tmp_path)
    out = tmp_path / "gd.gpkg"
    result = run("geodetector", "--data", data, "--y", "rural_income", "--factors", "region", "--groups-file", groups,
                 "--year", "2022", "-o", out)
    assert result.exit_code == 0, result.output
    factors = read_csv(tmp_path / "gd.factors.csv").set_index("factor")
    assert set(factors.index) == {"region", "groups_file"}
    # q of the groups by hand: 1 − Σ_h N_h σ_h² / (N σ²).
    y = pd.Series(values)
    by = y.groupby(group)
    q = 1 - (by.count() * by.var(ddof=0)).sum() / (len(y) * y.var(ddof=0))
    assert np.isclose(factors.loc["groups_file", "q"], q, rtol=1e-9)


def test_a_groups_workbook_gives_the_same_split(tmp_path):
    _, values, group, data, groups = _zhejiang_table(tmp_path)
    book = tmp_path / "groups.xlsx"
    pd.read_csv(groups, dtype=str).to_excel(book, index=False)
    out = tmp_path / "x.csv"
    result = run("inequality", "--data", data, "--indicator", "rural_income", "--groups-file", book, "--level", "counties", "-o", out)
    assert result.exit_code == 0, result.output
    theil = read_csv(out).query("measure == 'theil_t' and component == 'between'")["value"].iloc[0]
    assert np.isclose(theil, _theil_t(values, group)[1], rtol=1e-12)
