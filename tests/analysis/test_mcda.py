"""Panel entropy, entropy-TOPSIS, obstacle degree and coupling coordination (gis.analysis.mcda)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from gis.analysis.mcda import (
    coordination_grade,
    coupling_coordination,
    coupling_degree,
    entropy_weights,
    minmax_normalise,
    obstacle_degree,
    panel_entropy_index,
    topsis,
)
from gis.errors import GisError

# 4 units × 3 indicators (income yuan: better high; ratio: worse high; doctors per 1000: better high)
RAW = pd.DataFrame({"income": [30000.0, 40000, 50000, 60000], "ratio": [2.4, 2.0, 1.8, 1.6], "doctors": [3.0, 2.0, 4.0, 3.0]}, index=list("ABCD"))
DIRS = {"income": "higher_better", "ratio": "higher_worse", "doctors": "higher_better"}


def _loops():
    """The whole chain with plain Python loops, independently of the module."""
    cols = list(RAW.columns)
    x = {}
    for c in cols:
        lo, hi = min(RAW[c]), max(RAW[c])
        x[c] = [((v - lo) if DIRS[c] == "higher_better" else (hi - v)) / (hi - lo) for v in RAW[c]]
    n = len(RAW)
    d = {}
    for c in cols:
        s = sum(x[c])
        e = -sum((v / s) * math.log(v / s) for v in x[c] if v > 0) / math.log(n)
        d[c] = 1 - e
    w = {c: d[c] / sum(d.values()) for c in cols}
    v = [[w[c] * x[c][i] for c in cols] for i in range(n)]
    best = [max(v[i][k] for i in range(n)) for k in range(3)]
    worst = [min(v[i][k] for i in range(n)) for k in range(3)]
    close = []
    for i in range(n):
        dp = math.sqrt(sum((v[i][k] - best[k]) ** 2 for k in range(3)))
        dm = math.sqrt(sum((v[i][k] - worst[k]) ** 2 for k in range(3)))
        close.append(dm / (dp + dm))
    obstacle = []
    for i in range(n):
        dev = [w[c] * (1 - x[c][i]) for c in cols]
        obstacle.append([t / sum(dev) for t in dev])
    return w, close, obstacle


def test_chain_against_python_loops():
    w, close, obstacle = _loops()
    norm = minmax_normalise(RAW, DIRS)
    weights = entropy_weights(norm)["weight"]
    assert weights.to_dict() == pytest.approx(w, rel=1e-12)
    assert topsis(norm, weights)["closeness"].tolist() == pytest.approx(close, rel=1e-12)
    assert obstacle_degree(norm, weights).to_numpy() == pytest.approx(np.array(obstacle), rel=1e-12)


def test_against_pymcdm_and_scikit_criteria():
    norm = minmax_normalise(RAW, DIRS)
    weights = entropy_weights(norm)["weight"]
    pymcdm = pytest.importorskip("pymcdm")
    ref = pymcdm.methods.TOPSIS()(norm.to_numpy(), weights.to_numpy(), np.ones(3))
    assert topsis(norm, weights)["closeness"].to_numpy() == pytest.approx(ref, rel=1e-12)
    weighters = pytest.importorskip("skcriteria.preprocessing.weighters")
    assert weights.to_numpy() == pytest.approx(weighters.entropy_weights(norm.to_numpy()), rel=1e-12)


def test_panel_normalises_over_all_years():
    rows = []
    for year, shift in ((2010, 0.0), (2020, 10000.0)):
        for unit in RAW.index:
            for ind in RAW.columns:
                value = RAW.loc[unit, ind] + (shift if ind == "income" else 0.0)
                rows.append((unit, year, ind, value))
    long = pd.DataFrame(rows, columns=["adcode", "year", "indicator", "value"])
    result = panel_entropy_index(long, DIRS, groups={"economy": ["income", "ratio"], "services": ["doctors"]})
    s = result.scores.set_index(["adcode", "year"])
    # the same unit with a higher income in 2020 scores higher than in 2010: comparable over time
    assert (s.xs(2020, level="year")["index"] > s.xs(2010, level="year")["index"]).all()
    assert result.weights["weight"].sum() == pytest.approx(1.0)
    assert result.obstacles.groupby(["adcode", "year"])["obstacle"].sum().dropna().to_numpy() == pytest.approx(1.0)
    assert set(s.columns) >= {"closeness", "U_economy", "U_services", "coupling_c", "coordination_d", "grade"}
    with pytest.raises(GisError, match=r"D \(2020\) doctors"):
        panel_entropy_index(long.drop(long.index[-1]), DIRS)


def test_coupling_forms():
    u = pd.DataFrame({"a": [0.2, 0.5, 0.9, 0.0], "b": [0.8, 0.5, 0.3, 0.0]})
    trad = coupling_degree(u, "traditional")
    expected = [2 * math.sqrt(a * b) / (a + b) if a + b else 0.0 for a, b in zip(u["a"], u["b"])]
    assert trad == pytest.approx(expected)
    wang = coupling_degree(u, "wang2021")
    expected = [math.sqrt((1 - abs(a - b)) * min(a, b) / max(a, b)) if max(a, b) else 0.0 for a, b in zip(u["a"], u["b"])]
    assert wang == pytest.approx(expected)
    # three systems, traditional form: C = [Π U / (mean U)^3]^(1/3)
    u3 = pd.DataFrame({"a": [0.2], "b": [0.4], "c": [0.6]})
    assert coupling_degree(u3, "traditional")[0] == pytest.approx((0.2 * 0.4 * 0.6 / 0.4**3) ** (1 / 3))
    spread = (0.2 + 0.4 + 0.2) / 3
    assert coupling_degree(u3, "wang2021")[0] == pytest.approx(math.sqrt((1 - spread) * ((0.2 / 0.6) * (0.4 / 0.6) * 1.0) ** 0.5))
    cc = coupling_coordination(u, alpha=[0.5, 0.5])
    assert cc["coordination_d"].to_numpy() == pytest.approx(np.sqrt(wang * (0.5 * u["a"] + 0.5 * u["b"])))


@pytest.mark.parametrize(
    "original, modified",
    # 王淑佳 等 2021 表 8 (2008): 北京, 秦皇岛, 承德 — original C and modified C of the same U1, U2
    [(0.9989, 0.9404), (0.6821, 0.3006), (0.6101, 0.2700)],
)
def test_wang2021_consistent_with_table_8(original, modified):
    # From the original C = 2√r/(1+r) recover r = min/max; the modified form then implies
    # |U1 − U2| = 1 − C_mod²/r, and max U = |U1 − U2|/(1 − r) must lie in (0, 1].
    s = (2 - math.sqrt(4 - 4 * original**2)) / (2 * original)
    r = s * s
    gap = 1 - modified**2 / r
    top = gap / (1 - r)
    assert 0 < gap < 1 and 0 < top <= 1
    u = pd.DataFrame({"a": [top * r], "b": [top]})
    assert coupling_degree(u, "traditional")[0] == pytest.approx(original, abs=1e-4)
    assert coupling_degree(u, "wang2021")[0] == pytest.approx(modified, abs=1e-4)


def test_grades():
    labels = coordination_grade([0.0, 0.05, 0.1, 0.45, 0.5, 0.899, 0.9, 1.0])
    assert [label.split()[0] for label in labels] == ["极度失调", "极度失调", "严重失调", "濒临失调", "勉强协调", "良好协调", "优质协调", "优质协调"]


def test_errors():
    with pytest.raises(GisError, match="same value"):
        minmax_normalise(RAW.assign(doctors=3.0), DIRS)
    with pytest.raises(GisError, match="direction"):
        minmax_normalise(RAW, {**DIRS, "doctors": "neutral"})
    with pytest.raises(GisError, match="not finite for B"):
        minmax_normalise(RAW.assign(income=[1.0, np.inf, 2, 3]), DIRS)
    with pytest.raises(GisError, match="at least 2"):
        entropy_weights(minmax_normalise(RAW, DIRS).iloc[:1])
    with pytest.raises(GisError, match="summing to 1"):
        coupling_coordination(pd.DataFrame({"a": [0.5], "b": [0.5]}), alpha=[0.7, 0.7])
