"""Geographical detector (gis.analysis.geodetector) against the R package geodetector's vignette."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gis.analysis.geodetector import (
    discretize,
    factor_detector,
    geodetector,
    interaction_type,
    optimal_discretization,
    risk_detector,
)
from gis.errors import GisError

COLLECT = Path(__file__).parent / "data" / "geodetector_collectdata.csv"


@pytest.fixture(scope="module")
def collect():
    return pd.read_csv(COLLECT)


# R geodetector 1.0-5 vignette, factor_detector("incidence", c(...), CollectData)
R_FACTOR = {
    "watershed": (0.6377737, 0.0001169914),
    "soiltype": (0.3857168, 0.3632363),
    "elevation": (0.6067087, 0.04080407),
}
# interaction_detector(...) q(X1 ∩ X2)
R_INTERACTION = {
    ("soiltype", "watershed"): 0.735680548139531,
    ("soiltype", "elevation"): 0.663523698335635,
    ("watershed", "elevation"): 0.71359677853471,
}
# risk_detector: mean incidence per soil type and the 0.05 t-test matrix (upper triangle)
R_RISK_SOIL_MEANS = [6.340000, 6.687500, 6.583279, 5.843810, 6.347073]
R_RISK_SOIL_SIG = {(1, 2): True, (1, 3): True, (1, 4): True, (1, 5): False, (2, 3): False, (2, 4): True, (2, 5): True, (3, 4): True, (3, 5): True, (4, 5): True}
R_RISK_WATERSHED_MEANS = [6.167813, 6.813103, 6.474231, 6.728000, 5.910000, 5.845714, 6.494167, 6.360769, 6.579231]


def test_factor_detector_matches_r_vignette(collect):
    for factor, (q, p) in R_FACTOR.items():
        result = factor_detector(collect["incidence"], collect[factor])
        assert result["q"] == pytest.approx(q, abs=5e-8)
        assert result["p"] == pytest.approx(p, rel=1e-5)


def test_gdverse_singleton_example_keeps_the_singleton():
    # gdverse's test (y = 1..7, strata x | yyy | zzz) gives 0.771429 because it drops the
    # one-unit stratum; the GeoDetector definition keeps it with variance 0: q = 1 − 4/28.
    result = factor_detector(np.arange(1, 8), list("xyyyzzz"))
    assert result["q"] == pytest.approx(1 - 4 / 28)


def test_interaction_matches_r_vignette(collect):
    factors = ["soiltype", "watershed", "elevation"]
    result = geodetector(collect.assign(adcode=range(len(collect))), "incidence", factors)
    for row in result.interactions.itertuples():
        assert row.q_12 == pytest.approx(R_INTERACTION[(row.factor_1, row.factor_2)], abs=1e-10)
    # the same q as the factor detector
    assert dict(zip(result.factors["factor"], result.factors["q"])) == pytest.approx({k: v[0] for k, v in R_FACTOR.items()}, abs=5e-8)
    # soiltype 0.386, watershed 0.638, together 0.736 < 1.024: bi-variable enhance
    types = dict(zip(zip(result.interactions["factor_1"], result.interactions["factor_2"]), result.interactions["type"]))
    assert types[("soiltype", "watershed")] == "bivariable_enhance"


def test_risk_detector_matches_r_vignette(collect):
    means, tests = risk_detector(collect["incidence"], collect["soiltype"])
    assert means["mean"].to_numpy() == pytest.approx(R_RISK_SOIL_MEANS, abs=5e-7)
    # the CSV codes the soil types 1, 2, 3, 5, 7 where R prints 1 … 5: compare by rank
    rank = {label: i + 1 for i, label in enumerate(means["stratum"])}
    for row in tests.itertuples():
        assert row.significant == R_RISK_SOIL_SIG[(rank[row.stratum_a], rank[row.stratum_b])], (row.stratum_a, row.stratum_b, row.p)
    means, _ = risk_detector(collect["incidence"], collect["watershed"])
    assert means["mean"].to_numpy() == pytest.approx(R_RISK_WATERSHED_MEANS, abs=5e-7)


def test_q_by_hand_with_loops():
    y = [1.0, 2.0, 4.0, 8.0, 9.0, 11.0]
    s = ["a", "a", "a", "b", "b", "c"]
    n = len(y)
    mean = sum(y) / n
    sst = sum((v - mean) ** 2 for v in y)
    ssw = 0.0
    for h in set(s):
        vals = [v for v, g in zip(y, s) if g == h]
        m = sum(vals) / len(vals)
        ssw += sum((v - m) ** 2 for v in vals)
    assert factor_detector(y, s)["q"] == pytest.approx(1 - ssw / sst)


def test_interaction_types():
    assert interaction_type(0.3, 0.4, 0.2) == "nonlinear_weaken"
    assert interaction_type(0.3, 0.4, 0.35) == "univariable_weaken"
    assert interaction_type(0.3, 0.4, 0.5) == "bivariable_enhance"
    assert interaction_type(0.3, 0.4, 0.7) == "independent"
    assert interaction_type(0.3, 0.4, 0.8) == "nonlinear_enhance"


@pytest.mark.filterwarnings("ignore:Numba not installed")
def test_discretization_and_opgd(collect):
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    y = np.where(x > 0.5, 10.0, 0.0) + rng.normal(scale=0.5, size=200)
    for scheme in ("equal_interval", "quantiles", "fisher_jenks", "std"):
        codes = discretize(x, scheme, 5)
        assert codes.min() == 0 and 2 <= codes.max() + 1 <= 5
    assert np.bincount(discretize(x, "quantiles", 4)).tolist() == [50, 50, 50, 50]
    trials, best = optimal_discretization(y, x)
    assert len(trials) == 4 * 6 and set(trials["k"]) == set(range(3, 9))
    assert best["q"] == trials["q"].max() and best["q"] > 0.8
    result = geodetector(pd.DataFrame({"adcode": range(200), "y": y, "x": x}), "y", ["x"], continuous={"x": "optimal"})
    assert result.discretization["chosen"].sum() == 1
    assert result.factors.loc[0, "scheme"] == best["scheme"] and result.factors.loc[0, "q"] == pytest.approx(best["q"])


def test_errors():
    frame = pd.DataFrame({"adcode": ["a", "b", "c", "d"], "y": [1.0, np.nan, 3.0, 4.0], "x": ["p", "p", "q", "q"]})
    with pytest.raises(GisError, match="y missing or not finite for unit\\(s\\) b"):
        geodetector(frame, "y", ["x"])
    with pytest.raises(GisError, match="same value"):
        geodetector(frame.assign(y=2.0), "y", ["x"])
    with pytest.raises(GisError, match="one stratum"):
        geodetector(frame.assign(y=[1.0, 2, 3, 4], x="p"), "y", ["x"])
    with pytest.raises(GisError, match="at least 3 units"):
        factor_detector([1.0, 2.0], ["a", "b"])
    with pytest.raises(GisError, match="no column"):
        geodetector(frame, "y", ["z"])
    with pytest.raises(GisError, match="unknown discretisation scheme"):
        discretize([1.0, 2.0, 3.0], "jenks", 3)
