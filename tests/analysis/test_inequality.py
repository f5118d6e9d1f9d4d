"""Theil T/L, Dagum Gini decomposition and CV (gis.analysis.inequality)."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gis
from gis.analysis.inequality import coefficient_of_variation, dagum_gini, inequality_table, theil_decomposition
from gis.errors import GisError

DATA = Path(gis.__file__).parent / "data" / "330000"


# --- hand-worked examples, computed independently with plain Python loops ---------------------

def _loop_gini(y, w):
    W = sum(w)
    mu = sum(a * b for a, b in zip(w, y)) / W
    s = sum(w[i] * w[r] * abs(y[i] - y[r]) for i in range(len(y)) for r in range(len(y)))
    return s / (2 * W * W * mu)


def _loop_dagum(y, g, w):
    """Dagum 1997, eq. by eq., with explicit loops over pairs of units (weights = population)."""
    groups = sorted(set(g))
    W = sum(w)
    mu = sum(a * b for a, b in zip(w, y)) / W
    idx = {k: [i for i in range(len(y)) if g[i] == k] for k in groups}
    Wg = {k: sum(w[i] for i in idx[k]) for k in groups}
    mug = {k: sum(w[i] * y[i] for i in idx[k]) / Wg[k] for k in groups}
    p = {k: Wg[k] / W for k in groups}
    s = {k: Wg[k] * mug[k] / (W * mu) for k in groups}
    gw = 0.0
    for k in groups:
        gjj = sum(w[i] * w[r] * abs(y[i] - y[r]) for i in idx[k] for r in idx[k]) / (2 * Wg[k] ** 2 * mug[k])
        gw += gjj * p[k] * s[k]
    gnb = gt = 0.0
    for a, b in itertools.combinations(groups, 2):
        j, h = (a, b) if mug[a] >= mug[b] else (b, a)
        gjh = sum(w[i] * w[r] * abs(y[i] - y[r]) for i in idx[j] for r in idx[h]) / (Wg[j] * Wg[h] * (mug[j] + mug[h]))
        d = sum(w[i] * w[r] * max(y[i] - y[r], 0) for i in idx[j] for r in idx[h]) / (Wg[j] * Wg[h])
        pp = sum(w[i] * w[r] * max(y[r] - y[i], 0) for i in idx[j] for r in idx[h]) / (Wg[j] * Wg[h])
        D = (d - pp) / (d + pp)
        gnb += gjh * (p[j] * s[h] + p[h] * s[j]) * D
        gt += gjh * (p[j] * s[h] + p[h] * s[j]) * (1 - D)
    return gw, gnb, gt


def test_four_units_by_hand():
    # Four units, two groups, with populations: y in yuan, w in persons.
    y, g, w = [10.0, 20.0, 30.0, 60.0], ["A", "A", "B", "B"], [1.0, 3.0, 2.0, 2.0]
    # Theil T by hand: income shares v_i = w_i y_i / Σ w y, population shares q_i = w_i / W
    total_income = 10 + 60 + 60 + 120  # 250
    v = [10 / 250, 60 / 250, 60 / 250, 120 / 250]
    q = [1 / 8, 3 / 8, 2 / 8, 2 / 8]
    t = sum(a * math.log(a / b) for a, b in zip(v, q))
    l_ = sum(b * math.log(b / a) for a, b in zip(v, q))
    sA, sB, pA, pB = 70 / 250, 180 / 250, 4 / 8, 4 / 8
    t_between = sA * math.log(sA / pA) + sB * math.log(sB / pB)
    l_between = pA * math.log(pA / sA) + pB * math.log(pB / sB)
    result = theil_decomposition(y, g, w)
    assert total_income == 250
    assert result["theil_t"]["total"] == pytest.approx(t, rel=1e-12)
    assert result["theil_t"]["between"] == pytest.approx(t_between, rel=1e-12)
    assert result["theil_l"]["total"] == pytest.approx(l_, rel=1e-12)
    assert result["theil_l"]["between"] == pytest.approx(l_between, rel=1e-12)
    # within group A: T_A = Σ (v_i/sA) ln((v_i/sA)/(q_i/pA))
    t_a = sum((vi / sA) * math.log((vi / sA) / (qi / pA)) for vi, qi in zip(v[:2], q[:2]))
    assert result["theil_t"]["group_index"]["A"] == pytest.approx(t_a, rel=1e-12)
    gini = dagum_gini(y, g, w)
    assert gini["total"] == pytest.approx(_loop_gini(y, w), rel=1e-12)
    gw, gnb, gt = _loop_dagum(y, g, w)
    assert (gini["within"], gini["net_between"], gini["transvariation"]) == pytest.approx((gw, gnb, gt), rel=1e-12)
    # group B is richer (mean 45 vs 17.5): its pair label comes first
    assert list(gini["between_gini"]) == ["B|A"]


def test_unweighted_gini_with_no_overlap_has_no_transvariation():
    # Groups that do not overlap: every B exceeds every A, so D_BA = 1 and G_t = 0 (Dagum 1997).
    gini = dagum_gini([1, 2, 3, 10, 11, 12], ["A"] * 3 + ["B"] * 3)
    assert gini["transvariation"] == pytest.approx(0.0, abs=1e-15)
    assert gini["affluence"]["B|A"] == pytest.approx(1.0)


def test_cv_by_hand():
    y = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]  # mean 5, population sd 2
    assert coefficient_of_variation(y) == pytest.approx(0.4)
    assert coefficient_of_variation([1.0, 3.0], [3.0, 1.0]) == pytest.approx(math.sqrt(0.75) / 1.5)


# --- pysal `inequality` reference values (its docstrings, on libpysal's mexico.csv) -------------

def _mexico():
    libpysal = pytest.importorskip("libpysal")
    path = Path(libpysal.__file__).parent / "examples" / "mexico" / "mexico.csv"
    if not path.exists():
        pytest.skip("libpysal's mexico.csv is not installed")
    return pd.read_csv(path)


def test_theil_against_pysal_docstring_values():
    mexico = _mexico()
    # inequality.theil.TheilD docstring: bg and wg for pcgdp1940…2000 by hanson98 regimes
    bg = [0.0345889, 0.02816853, 0.05260921, 0.05931219, 0.03205257, 0.02963731, 0.03635872]
    wg = [0.17435454, 0.12405598, 0.0521202, 0.04263506, 0.06354856, 0.07547525, 0.0702496]
    total = [0.20894344, 0.15222451, 0.10472941, 0.10194725, 0.09560113, 0.10511256, 0.10660832]
    for i, decade in enumerate(range(1940, 2010, 10)):
        t = theil_decomposition(mexico[f"pcgdp{decade}"], mexico["hanson98"])["theil_t"]
        assert t["total"] == pytest.approx(total[i], abs=1e-8)
        assert t["between"] == pytest.approx(bg[i], abs=1e-8)
        assert t["within"] == pytest.approx(wg[i], abs=1e-8)


def test_gini_against_pysal():
    inequality = pytest.importorskip("inequality")
    mexico = _mexico()
    for decade in range(1940, 2010, 10):
        y = mexico[f"pcgdp{decade}"].to_numpy(dtype=float)
        ours = dagum_gini(y, mexico["hanson98"])["total"]
        assert ours == pytest.approx(inequality.gini.Gini(y).g, rel=1e-10)
    # pysal's own test value (inequality/tests/test_gini.py): Gini of pcgdp1940 = 0.35372 (4 dp)
    assert dagum_gini(mexico["pcgdp1940"], mexico["hanson98"])["total"] == pytest.approx(0.3537, abs=1e-4)


# --- identities, by property test ----------------------------------------------------------------

_unit = st.tuples(st.floats(0.5, 1e5), st.sampled_from("ABC"), st.floats(0.1, 1e3))


@settings(max_examples=150, deadline=None)
@given(st.lists(_unit, min_size=4, max_size=30).filter(lambda u: len({g for _, g, _ in u}) >= 2))
def test_decompositions_add_up(units):
    y = [a for a, _, _ in units]
    g = [b for _, b, _ in units]
    w = [c for _, _, c in units]
    for weights in (None, w):
        theil = theil_decomposition(y, g, weights)
        for m in ("theil_t", "theil_l"):
            part = theil[m]
            assert part["between"] + part["within"] == pytest.approx(part["total"], rel=1e-9, abs=1e-12)
            assert part["between"] >= -1e-12 and part["within"] >= -1e-12
            assert sum(part["within_contribution"].values()) == pytest.approx(part["within"], rel=1e-9, abs=1e-12)
        gini = dagum_gini(y, g, weights)
        parts = gini["within"] + gini["net_between"] + gini["transvariation"]
        assert parts == pytest.approx(gini["total"], rel=1e-9, abs=1e-12)
        assert 0 <= gini["total"] < 1


# --- errors ---------------------------------------------------------------------------------------

def _long(rows):
    return pd.DataFrame(rows, columns=["adcode", "year", "value", "group"])


def test_errors_name_the_unit_and_year():
    good = [("1", 2020, 1.0, "A"), ("2", 2020, 2.0, "A"), ("3", 2020, 3.0, "B")]
    with pytest.raises(GisError, match="at least 2 groups"):
        inequality_table(_long([(a, y, v, "A") for a, y, v, _ in good]))
    with pytest.raises(GisError, match=r"3 \(2020\)"):
        inequality_table(_long(good[:2] + [("3", 2020, float("nan"), "B")]))
    with pytest.raises(GisError, match=r"3 \(2020\)"):
        inequality_table(_long(good[:2] + [("3", 2020, float("inf"), "B")]))
    with pytest.raises(GisError, match=r"unit-year\(s\) missing.*3 \(2021\)"):
        inequality_table(_long(good + [("1", 2021, 1.0, "A"), ("2", 2021, 2.0, "A")]))
    with pytest.raises(GisError, match="at least 3 units"):
        inequality_table(_long(good[1:]))
    with pytest.raises(GisError, match="values > 0.*unit\\(s\\) 1"):
        inequality_table(_long([("1", 2020, 0.0, "A")] + good[1:]))
    with pytest.raises(GisError, match="lacks column"):
        inequality_table(_long(good), weight="population")
    # a constant indicator is not an error: there is no inequality
    flat = inequality_table(_long([(a, y, 5.0, g) for a, y, _, g in good]))
    assert np.allclose(flat.loc[flat["measure"] != "n", "value"], 0.0)


# --- the seed data: 表 3 of seed 004 (王瑜, 浙江 11 市 2000–2020) -------------------------------

def seed_incomes() -> pd.DataFrame:
    """Urban and rural per-capita income (yuan) of the 11 prefectures from 表 3's ratio r and
    gap g: rural = g / (r − 1), urban = r · rural; with the 浙东北 / 浙西南 grouping."""
    groups = pd.read_csv(DATA.parent / "groupings.csv", dtype={"adcode": str})
    region = groups[(groups["grouping"] == "region") & groups["adcode"].str.startswith("33")].set_index("adcode")["group"]
    seed = pd.read_csv(DATA / "indicators_seed.csv", dtype={"adcode": str})
    seed = seed[seed["indicator"].isin(["income_ratio", "income_gap"]) & seed["adcode"].isin(region.index)]
    wide = seed.pivot_table(index=["adcode", "name", "year"], columns="indicator", values="value").reset_index()
    wide = wide.dropna(subset=["income_ratio", "income_gap"])
    wide["rural_income"] = wide["income_gap"] / (wide["income_ratio"] - 1)
    wide["urban_income"] = wide["income_ratio"] * wide["rural_income"]
    wide["group"] = wide["adcode"].map(region)
    return wide


def seed_table() -> pd.DataFrame:
    incomes = seed_incomes()
    tables = []
    for indicator in ("income_ratio", "rural_income"):
        t = inequality_table(incomes.rename(columns={indicator: "value"})[["adcode", "year", "value", "group"]])
        tables.append(t.assign(indicator=indicator))
    return pd.concat(tables, ignore_index=True)


def test_seed_data_decomposition():
    incomes = seed_incomes()
    assert len(incomes) == 55 and incomes["group"].notna().all()
    assert sorted(incomes["year"].unique()) == [2000, 2005, 2010, 2015, 2020]
    # 杭州 2020: r = 1.77, g = 29966 → rural 38917, urban 68883 (the 2020 yearbook has 38700 / 68666)
    hz = incomes[(incomes["adcode"] == "330100") & (incomes["year"] == 2020)].iloc[0]
    assert hz["rural_income"] == pytest.approx(29966 / 0.77)
    table = seed_table()
    wide = table[table["group"] == ""].pivot_table(index=["indicator", "measure", "year"], columns="component", values="value")
    theil = wide.loc[(slice(None), "theil_t"), :]
    assert np.allclose(theil["between"] + theil["within"], theil["total"])
    gini = wide.loc[(slice(None), "gini"), :]
    assert np.allclose(gini["within"] + gini["net_between"] + gini["transvariation"], gini["total"])
    # The ratio's inequality across prefectures fell from 2000 to 2020 (丽水 3.57 → 2.05)
    ratio_gini = gini.loc[("income_ratio", "gini")]["total"]
    assert ratio_gini[2020] < ratio_gini[2000]
    # In 2020 浙西南's ratios are all above 浙东北's but 台州 / 温州 overlap little: mostly between-group
    assert gini.loc[("income_ratio", "gini", 2020), "net_between"] > gini.loc[("income_ratio", "gini", 2020), "within"]
