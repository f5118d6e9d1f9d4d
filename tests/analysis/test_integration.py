"""Entropy weights and the coupling coordination degree against examples worked by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gis.analysis.integration import (
    coordination_class,
    coupling_coordination,
    entropy_weights,
    integration_index,
    normalise_by_direction,
    parse_groups,
)
from gis.errors import GisError

# Three units; rural_income is higher_better, income_ratio higher_worse (registry directions).
RAW = pd.DataFrame({"rural_income": [10.0, 20.0, 30.0], "income_ratio": [1.0, 2.0, 5.0]}, index=["a", "b", "c"])
DIRECTIONS = {"rural_income": "higher_better", "income_ratio": "higher_worse"}


def hand_weights():
    """The example by hand.

    normalised rural_income (higher better): (x − 10)/(30 − 10) = 0, 0.5, 1
    normalised income_ratio (higher worse):  (5 − x)/(5 − 1)    = 1, 0.75, 0
    p(rural_income) = 0/1.5, 0.5/1.5, 1/1.5  = 0, 1/3, 2/3
    p(income_ratio) = 1/1.75, 0.75/1.75, 0   = 4/7, 3/7, 0
    e = −(1/ln 3) Σ p ln p  (0 ln 0 = 0)
    e(rural_income) = −(1/3 ln 1/3 + 2/3 ln 2/3)/ln 3 = 0.579380…
    e(income_ratio) = −(4/7 ln 4/7 + 3/7 ln 3/7)/ln 3 = 0.621610…
    d = 1 − e: 0.420620…, 0.378390…;  w = d / Σd: 0.526426…, 0.473574…
    """
    e1 = -((1 / 3) * math.log(1 / 3) + (2 / 3) * math.log(2 / 3)) / math.log(3)
    e2 = -((4 / 7) * math.log(4 / 7) + (3 / 7) * math.log(3 / 7)) / math.log(3)
    d1, d2 = 1 - e1, 1 - e2
    return e1, e2, d1 / (d1 + d2), d2 / (d1 + d2)


def test_normalisation_respects_direction():
    normalised = normalise_by_direction(RAW, DIRECTIONS)
    assert list(normalised["rural_income"]) == [0.0, 0.5, 1.0]
    assert list(normalised["income_ratio"]) == [1.0, 0.75, 0.0]


def test_entropy_weights_by_hand():
    e1, e2, w1, w2 = hand_weights()
    assert (e1, e2) == pytest.approx((0.5793802, 0.6216097), abs=1e-7)
    assert (w1, w2) == pytest.approx((0.526426, 0.473574), abs=1e-6)
    weights = entropy_weights(normalise_by_direction(RAW, DIRECTIONS))
    assert list(weights["entropy"]) == pytest.approx([e1, e2])
    assert list(weights["weight"]) == pytest.approx([w1, w2])
    assert weights["weight"].sum() == pytest.approx(1.0)


def test_coupling_coordination_by_hand():
    # U1 = 0.36, U2 = 0.64: C = 2·sqrt(0.36·0.64)/(0.36 + 0.64) = 2·0.48/1 = 0.96,
    # T = 0.5·0.36 + 0.5·0.64 = 0.5, D = sqrt(0.96·0.5) = sqrt(0.48) = 0.692820…
    # U1 = U2 = 0.5: C = 1, T = 0.5, D = 0.707106…;  U1 = U2 = 0: C = 0 (0/0 set to 0), D = 0.
    result = coupling_coordination([0.36, 0.5, 0.0], [0.64, 0.5, 0.0])
    assert list(result["coupling_c"]) == pytest.approx([0.96, 1.0, 0.0])
    assert list(result["coordination_t"]) == pytest.approx([0.5, 0.5, 0.0])
    assert list(result["coordination_d"]) == pytest.approx([math.sqrt(0.48), math.sqrt(0.5), 0.0])
    assert coordination_class(math.sqrt(0.48)) == "初级协调 primary coordination"
    assert coordination_class(0.0) == "极度失调 extreme imbalance"
    assert coordination_class(1.0) == "优质协调 high-quality coordination"
    # α = 0.7, β = 0.3: T = 0.7·0.36 + 0.3·0.64 = 0.444, D = sqrt(0.96·0.444)
    assert coupling_coordination([0.36], [0.64], 0.7, 0.3)["coordination_d"][0] == pytest.approx(math.sqrt(0.96 * 0.444))
    with pytest.raises(GisError, match="sum to 1"):
        coupling_coordination([0.1], [0.2], 0.6, 0.6)


def long_rows(values: dict[str, dict[str, float]], year=2020):
    rows = [
        {"adcode": a, "name": a, "year": year, "indicator": i, "value": v, "unit": "", "source": "test"}
        for i, by_unit in values.items()
        for a, v in by_unit.items()
    ]
    return pd.DataFrame(rows)


def test_integration_index_scores_groups_and_missing_units():
    long = long_rows({"rural_income": {"a": 10, "b": 20, "c": 30, "d": 25}, "income_ratio": {"a": 1, "b": 2, "c": 5}})
    units = pd.DataFrame({"adcode": ["a", "b", "c", "d"], "name": ["A", "B", "C", "D"]})
    result = integration_index(long, ["rural_income", "income_ratio"], units, groups={"income": ["rural_income"], "gap": ["income_ratio"]})
    _, _, w1, w2 = hand_weights()
    scores = result.scores.set_index("adcode")
    # U = w1·x'1 + w2·x'2: a = w2·1, b = w1·0.5 + w2·0.75, c = w1·1
    assert list(scores["integration_index"]) == pytest.approx([w2, 0.5 * w1 + 0.75 * w2, w1])
    # One-indicator groups: U_income = x'1, U_gap = x'2. Unit b: C = 2·sqrt(0.5·0.75)/1.25,
    # T = 0.625, D = sqrt(C·T); unit a: U_income = 0 → C = 0, D = 0.
    c_b = 2 * math.sqrt(0.375) / 1.25
    assert scores.loc["b", "coupling_c"] == pytest.approx(c_b)
    assert scores.loc["b", "coordination_d"] == pytest.approx(math.sqrt(c_b * 0.625))
    assert scores.loc["a", "coordination_d"] == 0.0
    assert result.missing == {"D (d)": ["income_ratio"]}
    assert "d" not in scores.index
    weights = result.weights.set_index("indicator")
    assert weights.loc["rural_income", "weight"] == pytest.approx(w1)
    assert weights.loc["rural_income", "weight_in_group"] == pytest.approx(1.0)
    assert weights.loc["income_ratio", "direction"] == "higher_worse"
    assert "D (d): income_ratio" in result.summary()


def test_index_refuses_neutral_constant_and_mixed_years():
    units = pd.DataFrame({"adcode": ["a", "b"], "name": ["A", "B"]})
    with pytest.raises(GisError, match="direction 'neutral'"):
        integration_index(
            long_rows({"rural_income": {"a": 1, "b": 2}, "resident_population": {"a": 1, "b": 2}}), ["rural_income", "resident_population"], units
        )
    with pytest.raises(GisError, match=r"same value \(3\) for every unit"):
        integration_index(long_rows({"rural_income": {"a": 1, "b": 2}, "income_ratio": {"a": 3, "b": 3}}), ["rural_income", "income_ratio"], units)
    mixed = pd.concat([long_rows({"rural_income": {"a": 1, "b": 2}}, 2019), long_rows({"income_ratio": {"a": 1, "b": 2}}, 2020)])
    with pytest.raises(GisError, match=r"several years \(2019, 2020\); choose one with --year"):
        integration_index(mixed, ["rural_income", "income_ratio"], units)


def test_parse_groups():
    assert parse_groups("income=a,b;services=c", ["a", "b", "c"]) == {"income": ["a", "b"], "services": ["c"]}
    with pytest.raises(GisError, match="exactly two groups"):
        parse_groups("income=a", ["a"])
    with pytest.raises(GisError, match="x in group income not among --indicators"):
        parse_groups("income=x;s=a", ["a"])
