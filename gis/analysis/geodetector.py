"""Geographical detector (地理探测器; 王劲峰, 徐成东 2017, 地理探测器：原理与展望, 地理学报 72(1): 116–134).

For a response ``Y`` over ``N`` units stratified by a factor ``X`` into ``L`` strata ``h`` with
``N_h`` units and (population) variances ``σ_h²`` (``σ²`` over all units):

**Factor detector**::

    q = 1 − Σ_h N_h σ_h² / (N σ²) = 1 − SSW / SST                      q ∈ [0, 1]
    F = (N − L) / (L − 1) · q / (1 − q)  ~  F(L − 1, N − L; λ)          (non-central F)
    λ = [Σ_h Ȳ_h² − (Σ_h sqrt(N_h) Ȳ_h)² / N] / σ²                      (Wang, Zhang & Fu 2016, Ecol. Indic. 67)

The p-value is ``P(F' > F)`` under the non-central F, as in the GeoDetector software and the R
package ``geodetector`` (Xu Chengdong), where ``σ²`` in λ is the sample variance ``var(Y)``
(``N − 1`` denominator) and a stratum with one unit counts with variance 0 and its single
value in λ. Those choices are followed here so that q and p reproduce that package's
published example (its vignette, ``CollectData``: neural-tube defects in 和顺, Wang et al. 2010).

**Interaction detector**: ``q(X1 ∩ X2)`` of the strata formed by overlaying X1 and X2,
classed as 非线性减弱 nonlinear-weaken (``q12 < min(q1, q2)``), 单因子非线性减弱
uni-variable weaken (``min ≤ q12 ≤ max``), 双因子增强 bi-variable enhance
(``max < q12 < q1 + q2``), 独立 independent (``q12 = q1 + q2``, within ``tol``) and
非线性增强 nonlinear-enhance (``q12 > q1 + q2``).

**Risk detector**: mean of Y in every stratum; pairs of strata compared by Welch's t
``t = (Ȳ_a − Ȳ_b) / sqrt(s_a²/n_a + s_b²/n_b)`` with Welch–Satterthwaite degrees of freedom
(the R package rounds the df before its 0.05 test; this module gives the two-sided p with the
exact df). Pairs with a one-unit stratum are not tested.

**Ecological detector**: ``F = [N_1 (N_2 − 1) SSW_1] / [N_2 (N_1 − 1) SSW_2]`` with
``F(N_1 − 1, N_2 − 1)``; X1 and X2 differ significantly when the one-sided p of the larger
ratio is below alpha (paper's eq.; the R package compares ratios of q instead).

**Discretisation** of continuous factors by a named scheme — ``equal_interval``, ``quantiles``,
``fisher_jenks`` (natural breaks; :mod:`gis.breaks`), ``std`` (breaks at the mean ± whole
multiples of the standard deviation) — and the optimal-parameter search of OPGD (Song Y.,
Wang J., Ge Y., Xu C. 2020, GIScience & Remote Sensing 57(5)): every scheme × every class
count (3–8 by default), keeping the one with the largest q. Empty classes are dropped, so the
number of strata actually used is reported with every trial.

Libraries checked:

* PyPI ``geodetector`` 0.2.0 (lvyaqiao; 2025, sklearn-like API, has OPGD): its q drops strata
  with one unit from SST as well as SSW (``q_statistic``), and its λ uses the population
  variance; so on the R package's ``CollectData`` its p-values are 0.3721 / 0.000129 / 0.0434
  where the reference gives 0.3632 / 0.000117 / 0.0408 (soil type / watershed / elevation),
  and q differs as soon as a stratum holds one unit (y = 1..7, strata x,yyy,zzz: 0.7714
  against 1 − 4/28 = 0.8571). Not used.
* ``gdverse`` / ``GD`` are R packages. The reference R ``geodetector`` 1.0-5 (GPL) was read,
  not copied; only its published outputs are used as test values.

So q and its test are written here (vectorised with ``numpy.bincount``); class breaks come from
:mod:`gis.breaks` (mapclassify's definitions, without its start-up cost).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from gis.errors import GisError

SCHEMES = ("equal_interval", "quantiles", "fisher_jenks", "std")
INTERACTIONS = {
    "nonlinear_weaken": "非线性减弱 nonlinear-weaken",
    "univariable_weaken": "单因子非线性减弱 uni-variable weaken",
    "bivariable_enhance": "双因子增强 bi-variable enhance",
    "independent": "独立 independent",
    "nonlinear_enhance": "非线性增强 nonlinear-enhance",
}


def _codes(strata) -> np.ndarray:
    codes, _ = pd.factorize(pd.Series(np.asarray(strata, dtype=object)).astype(str), sort=True)
    return codes


def _check_y(y, units=None, name: str = "Y") -> np.ndarray:
    y = np.asarray(y, dtype=float)
    bad = ~np.isfinite(y)
    if bad.any():
        labels = np.asarray(units)[bad] if units is not None else np.flatnonzero(bad)
        raise GisError(f"{name} missing or not finite for unit(s) {', '.join(map(str, labels[:10]))}")
    if len(y) < 3:
        raise GisError(f"the geographical detector needs at least 3 units; got {len(y)}")
    if np.ptp(y) == 0:
        raise GisError(f"{name} has the same value ({y[0]:g}) for every unit; q is undefined")
    return y


def _q_and_p(y: np.ndarray, codes: np.ndarray) -> tuple[float, float, int]:
    n = len(y)
    k = codes.max() + 1
    n_h = np.bincount(codes, minlength=k).astype(float)
    used = n_h > 0
    sums = np.bincount(codes, weights=y, minlength=k)
    mean_h = np.divide(sums, n_h, out=np.zeros(k), where=used)
    ssw = np.sum((y - mean_h[codes]) ** 2)
    sst = np.sum((y - y.mean()) ** 2)
    q = 1.0 - ssw / sst
    strata = int(used.sum())
    if strata < 2:
        return 0.0, 1.0, strata
    if strata >= n:
        return float(q), float("nan"), strata  # every unit its own stratum: F undefined
    var = sst / (n - 1)
    lam = (np.sum(mean_h[used] ** 2) - np.sum(np.sqrt(n_h[used]) * mean_h[used]) ** 2 / n) / var
    if q >= 1.0:
        return 1.0, 0.0, strata
    f = (n - strata) / (strata - 1) * q / (1 - q)
    p = stats.ncf.sf(f, strata - 1, n - strata, lam)
    return float(q), float(p), strata


def factor_detector(y, strata, units=None) -> dict:
    """q-statistic of ``y`` (any unit) stratified by ``strata`` (labels), and its p-value.

    Returns ``{"q": q, "p": p, "strata": L, "n": N}``. Raises GisError for missing or
    non-finite y (naming the units), fewer than 3 units, a constant y or one stratum only.
    """
    y = _check_y(y, units)
    codes = _codes(strata)
    if len(codes) != len(y):
        raise GisError(f"factor and Y differ in length ({len(codes)} vs {len(y)})")
    if pd.isna(pd.Series(np.asarray(strata, dtype=object))).any():
        raise GisError("a factor has missing strata; give every unit a class")
    q, p, k = _q_and_p(y, codes)
    if k < 2:
        raise GisError("the factor has one stratum only; q is 0 by definition")
    return {"q": q, "p": p, "strata": k, "n": len(y)}


def interaction_type(q1: float, q2: float, q12: float, tol: float = 1e-10) -> str:
    """The interaction class (a key of :data:`INTERACTIONS`) of q(X1), q(X2) and q(X1 ∩ X2)."""
    if abs(q12 - (q1 + q2)) <= tol:
        return "independent"
    if q12 < min(q1, q2):
        return "nonlinear_weaken"
    if q12 <= max(q1, q2):
        return "univariable_weaken"
    if q12 < q1 + q2:
        return "bivariable_enhance"
    return "nonlinear_enhance"


def risk_detector(y, strata, alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean of y per stratum and Welch t-tests between every pair of strata.

    Returns ``(means, tests)``: ``means`` with ``stratum``, ``n``, ``mean``, ``sd`` (sample);
    ``tests`` with ``stratum_a``, ``stratum_b``, ``t``, ``df``, ``p`` (two-sided) and
    ``significant`` (p < alpha); pairs with a one-unit stratum have NaN.
    """
    y = np.asarray(y, dtype=float)
    labels = pd.Series(np.asarray(strata, dtype=object)).astype(str).to_numpy()
    frame = pd.DataFrame({"stratum": labels, "y": y})
    g = frame.groupby("stratum")["y"]
    means = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1)}).reset_index()
    rows = []
    for a, b in combinations(means.itertuples(index=False), 2):
        if a.n < 2 or b.n < 2:
            rows.append((a.stratum, b.stratum, np.nan, np.nan, np.nan, False))
            continue
        va, vb = a.sd**2 / a.n, b.sd**2 / b.n
        if va + vb == 0:
            rows.append((a.stratum, b.stratum, np.nan, np.nan, np.nan, False))
            continue
        t = (a.mean - b.mean) / np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (a.n - 1) + vb**2 / (b.n - 1))
        p = 2 * stats.t.sf(abs(t), df)
        rows.append((a.stratum, b.stratum, t, df, p, bool(p < alpha)))
    tests = pd.DataFrame(rows, columns=["stratum_a", "stratum_b", "t", "df", "p", "significant"])
    return means, tests


def ecological_detector(y, strata1, strata2, alpha: float = 0.05) -> dict:
    """F test of whether two factors differ in their effect on y (the paper's formula).

    ``F = N1 (N2 − 1) SSW1 / (N2 (N1 − 1) SSW2)`` with df (N1 − 1, N2 − 1); the larger
    ratio is tested one-sided. Returns ``{"F": F, "p": p, "significant": p < alpha}``.
    """
    y = np.asarray(y, dtype=float)

    def ssw(codes):
        k = codes.max() + 1
        means = np.bincount(codes, weights=y, minlength=k) / np.maximum(np.bincount(codes, minlength=k), 1)
        return np.sum((y - means[codes]) ** 2)

    n = len(y)
    s1, s2 = ssw(_codes(strata1)), ssw(_codes(strata2))
    if s1 == 0 or s2 == 0:
        return {"F": np.inf, "p": 0.0, "significant": True}
    f = s1 / s2  # N1 = N2 = N here: the paper's factor N1(N2-1)/(N2(N1-1)) is 1
    big = max(f, 1 / f)
    p = float(stats.f.sf(big, n - 1, n - 1))
    return {"F": float(f), "p": p, "significant": p < alpha}


# --------------------------------------------------------------------------------------------
# discretisation


def discretize(x, scheme: str, k: int) -> np.ndarray:
    """Class index (0 … k−1, empty classes dropped and renumbered) of each value of ``x``.

    ``scheme``: ``equal_interval``, ``quantiles``, ``fisher_jenks`` (natural breaks) from
    :mod:`gis.breaks`, or ``std`` (breaks at mean + sd · (i − k/2), i = 1 … k−1, for even k; mean ±
    (i − (k−1)/2) · sd … for odd k the middle class is centred on the mean).
    """
    from gis import breaks

    x = np.asarray(x, dtype=float)
    if scheme not in SCHEMES:
        raise GisError(f"unknown discretisation scheme {scheme!r}; choose from {', '.join(SCHEMES)}")
    if k < 2:
        raise GisError(f"a factor needs at least 2 classes; got {k}")
    if np.ptp(x) == 0:
        raise GisError("a continuous factor has the same value everywhere; it cannot be classified")
    if scheme == "std":
        mean, sd = x.mean(), x.std(ddof=0)
        offsets = np.arange(1, k) - k / 2.0
        breaks = mean + sd * offsets
        labels = np.searchsorted(breaks, x, side="left")
    else:
        bounds = {"equal_interval": breaks.equal_interval_bounds, "quantiles": breaks.quantile_bounds,
                  "fisher_jenks": breaks.fisher_jenks_bounds}[scheme](x, k)
        labels = np.searchsorted(bounds, x, side="left")
    _, dense = np.unique(labels, return_inverse=True)
    return dense


def optimal_discretization(y, x, schemes=SCHEMES, classes=range(3, 9)) -> tuple[pd.DataFrame, dict]:
    """OPGD search: q of y for x discretised by every scheme and class count.

    Returns ``(trials, best)``: ``trials`` with ``scheme``, ``k`` (classes asked), ``strata``
    (non-empty classes), ``q``, ``p``; ``best`` the row with the largest q (ties: fewer strata,
    then scheme order) as a dict with ``labels`` (the class of every unit).
    """
    y = _check_y(y)
    x = np.asarray(x, dtype=float)
    if not np.isfinite(x).all():
        raise GisError("a continuous factor has missing or non-finite values")
    rows, labels = [], {}
    for scheme in schemes:
        for k in classes:
            if k >= len(y):
                continue
            codes = discretize(x, scheme, k)
            q, p, strata = _q_and_p(y, codes)
            rows.append((scheme, k, strata, q, p))
            labels[(scheme, k)] = codes
    trials = pd.DataFrame(rows, columns=["scheme", "k", "strata", "q", "p"])
    if trials.empty:
        raise GisError(f"too few units ({len(y)}) to classify a factor into {min(classes)} or more classes")
    order = trials.assign(_s=trials["scheme"].map({s: i for i, s in enumerate(schemes)}))
    best = order.sort_values(["q", "strata", "_s"], ascending=[False, True, True]).iloc[0]
    result = {
        "scheme": best["scheme"],
        "k": int(best["k"]),
        "strata": int(best["strata"]),
        "q": float(best["q"]),
        "p": float(best["p"]),
        "labels": labels[(best["scheme"], int(best["k"]))],
    }
    return trials, result


# --------------------------------------------------------------------------------------------
# everything at once


@dataclass
class GeoDetectorResult:
    """Tables of one run; every table is tidy and ready to write to CSV or a GeoPackage."""

    factors: pd.DataFrame  # factor, q, p, strata, n, scheme, k
    interactions: pd.DataFrame  # factor_1, factor_2, q_1, q_2, q_12, type, type_label
    risk_means: pd.DataFrame  # factor, stratum, n, mean, sd
    risk_tests: pd.DataFrame  # factor, stratum_a, stratum_b, t, df, p, significant
    ecological: pd.DataFrame  # factor_1, factor_2, F, p, significant
    discretization: pd.DataFrame = field(default_factory=pd.DataFrame)  # factor, scheme, k, strata, q, p, chosen
    strata: pd.DataFrame = field(default_factory=pd.DataFrame)  # one column per factor: the class of every unit


def geodetector(
    frame: pd.DataFrame,
    y: str,
    factors: list[str],
    continuous: dict[str, str | tuple[str, int]] | None = None,
    unit: str = "adcode",
    classes=range(3, 9),
    alpha: float = 0.05,
) -> GeoDetectorResult:
    """Factor, interaction, risk and ecological detectors of ``y`` by ``factors``.

    Parameters
    ----------
    frame
        One row per unit with ``unit`` (adcode, for messages), ``y`` and the factor columns.
    factors
        Column names; categorical factors are used as they are (each distinct value a stratum).
    continuous
        For factors to classify first: ``{"factor": "optimal"}`` (OPGD search over all schemes ×
        ``classes``), ``{"factor": "quantiles"}`` (that scheme, best class count) or
        ``{"factor": ("quantiles", 5)}`` (fixed).
    alpha
        Level of the risk and ecological tests.
    """
    missing = [c for c in [y, *factors] if c not in frame.columns]
    if missing:
        raise GisError(f"no column(s) {', '.join(missing)}; the table has {', '.join(map(str, frame.columns))}")
    if not factors:
        raise GisError("give at least one factor")
    units = frame[unit].to_numpy() if unit in frame.columns else np.arange(len(frame))
    yv = _check_y(pd.to_numeric(frame[y], errors="coerce"), units, y)
    continuous = continuous or {}
    strata, disc_rows, chosen_scheme = {}, [], {}
    for factor in factors:
        col = frame[factor]
        bad = col.isna().to_numpy()
        if bad.any():
            raise GisError(f"factor {factor} missing for unit(s) {', '.join(map(str, units[bad][:10]))}")
        spec = continuous.get(factor)
        if spec is None:
            strata[factor] = col.astype(str).to_numpy()
            continue
        xv = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        if not np.isfinite(xv).all():
            raise GisError(f"factor {factor} is not numeric or not finite for unit(s) {', '.join(map(str, units[~np.isfinite(xv)][:10]))}")
        if isinstance(spec, tuple):
            scheme, k = spec
            codes = discretize(xv, scheme, k)
            q, p, n_strata = _q_and_p(yv, codes)
            trials = pd.DataFrame([(scheme, k, n_strata, q, p)], columns=["scheme", "k", "strata", "q", "p"])
            best = {"scheme": scheme, "k": k, "labels": codes}
        else:
            schemes = SCHEMES if spec == "optimal" else (spec,)
            trials, best = optimal_discretization(yv, xv, schemes, classes)
        trials = trials.assign(factor=factor, chosen=(trials["scheme"] == best["scheme"]) & (trials["k"] == best["k"]))
        disc_rows.append(trials)
        chosen_scheme[factor] = (best["scheme"], int(best["k"]))
        strata[factor] = best["labels"]
    factor_rows = []
    for factor in factors:
        res = factor_detector(yv, strata[factor], units)
        scheme, k = chosen_scheme.get(factor, ("", res["strata"]))
        factor_rows.append((factor, res["q"], res["p"], res["strata"], res["n"], scheme, k))
    factor_table = pd.DataFrame(factor_rows, columns=["factor", "q", "p", "strata", "n", "scheme", "k"])
    qs = dict(zip(factor_table["factor"], factor_table["q"]))
    inter_rows, eco_rows = [], []
    for a, b in combinations(factors, 2):
        ca, cb = _codes(strata[a]), _codes(strata[b])
        q12, _, _ = _q_and_p(yv, _codes(ca.astype(np.int64) * (cb.max() + 1) + cb))
        kind = interaction_type(qs[a], qs[b], q12)
        inter_rows.append((a, b, qs[a], qs[b], q12, kind, INTERACTIONS[kind]))
        eco = ecological_detector(yv, strata[a], strata[b], alpha)
        eco_rows.append((a, b, eco["F"], eco["p"], eco["significant"]))
    means, tests = [], []
    for factor in factors:
        m, t = risk_detector(yv, strata[factor], alpha)
        means.append(m.assign(factor=factor))
        tests.append(t.assign(factor=factor))
    return GeoDetectorResult(
        factors=factor_table,
        interactions=pd.DataFrame(inter_rows, columns=["factor_1", "factor_2", "q_1", "q_2", "q_12", "type", "type_label"]),
        risk_means=pd.concat(means, ignore_index=True)[["factor", "stratum", "n", "mean", "sd"]],
        risk_tests=pd.concat(tests, ignore_index=True)[["factor", "stratum_a", "stratum_b", "t", "df", "p", "significant"]],
        ecological=pd.DataFrame(eco_rows, columns=["factor_1", "factor_2", "F", "p", "significant"]),
        discretization=pd.concat(disc_rows, ignore_index=True) if disc_rows else pd.DataFrame(columns=["scheme", "k", "strata", "q", "p", "factor", "chosen"]),
        strata=pd.DataFrame({unit: units, **strata}),
    )
