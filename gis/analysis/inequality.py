"""Inequality of one indicator across units, decomposed by groups of units (e.g. 浙东北 / 浙西南).

Three measures, each optionally weighted by population; for ``n`` units with values ``y_i``
(e.g. per-capita income in yuan, or the urban-rural income ratio) and weights ``w_i``
(population; 1 for every unit when no weights are given), ``W = Σ w_i``, the weighted mean
``μ = Σ w_i y_i / W``, and groups ``g`` with ``W_g``, ``μ_g``, population shares
``p_g = W_g / W`` and value shares ``s_g = W_g μ_g / (W μ)``:

**Theil T** (GE(1), Theil 1967), with ``v_i = w_i y_i / (W μ)`` the unit's share of the total
(of income, when ``y`` is per-capita income and ``w`` population)::

    T   = Σ_i v_i · ln(v_i / (w_i / W))
        = Σ_g s_g · T_g                     (within)
        + Σ_g s_g · ln(s_g / p_g)           (between)

**Theil L** (GE(0), mean log deviation)::

    L   = Σ_i (w_i / W) · ln((w_i / W) / v_i)
        = Σ_g p_g · L_g                     (within)
        + Σ_g p_g · ln(p_g / s_g)           (between)

Both need ``y_i > 0``. Unweighted, T reduces to pysal's ``inequality.theil.Theil`` and its
between part to ``TheilD.bg`` (checked in the tests).

**Gini with the Dagum (1997) decomposition** (Dagum C. 1997, *A new approach to the
decomposition of the Gini income inequality ratio*, Empirical Economics 22: 515–531)::

    G     = Σ_i Σ_r w_i w_r |y_i − y_r| / (2 W² μ)
    G_jj  = Σ_{i∈j} Σ_{r∈j} w_i w_r |y_i − y_r| / (2 W_j² μ_j)              (Gini within group j)
    G_jh  = Σ_{i∈j} Σ_{r∈h} w_i w_r |y_i − y_r| / (W_j W_h (μ_j + μ_h))     (between j and h)
    d_jh  = Σ_{i∈j} Σ_{r∈h} w_i w_r · max(y_i − y_r, 0) / (W_j W_h)           with μ_j ≥ μ_h
    p_jh  = Σ_{i∈j} Σ_{r∈h} w_i w_r · max(y_r − y_i, 0) / (W_j W_h)           (transvariation)
    D_jh  = (d_jh − p_jh) / (d_jh + p_jh)                                     (relative economic affluence)
    G_w   = Σ_j G_jj p_j s_j                                                  (within)
    G_nb  = Σ_{j>h} G_jh (p_j s_h + p_h s_j) D_jh                             (net between)
    G_t   = Σ_{j>h} G_jh (p_j s_h + p_h s_j) (1 − D_jh)                       (transvariation)
    G     = G_w + G_nb + G_t

The Gini uses ``n²`` (not ``n(n−1)``) in the denominator, as Dagum and pysal's
``inequality.gini.Gini`` do. Values must be ≥ 0 with a positive mean.

**Coefficient of variation** ``CV = sqrt(Σ w_i (y_i − μ)² / W) / μ`` (population standard
deviation, ddof = 0; multiply by ``sqrt(n/(n−1))`` for the sample form used by some papers).

Libraries checked (2025, installed and read):

* pysal ``inequality`` 1.1.2 (PyPI ``inequality``): ``Theil``/``TheilD`` are unweighted only,
  give no Theil L and compute the within part as a residual (``T − bg``); ``Gini`` is unweighted
  and has no Dagum decomposition. It also adds ``tiny`` to zeros silently. Used as the
  reference in the tests (its docstring values on ``mexico.csv``), not at run time.
* Nothing else on PyPI found that does a weighted Dagum decomposition in maintained form.

So the measures are written here, vectorised with NumPy (the Gini uses the ``n × n`` matrix of
absolute differences: fine up to a few thousand units, e.g. all ~2,800 counties of China).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gis.errors import GisError

#: Measures and their components as they appear in the tidy output.
MEASURES = ("theil_t", "theil_l", "gini", "cv")


@dataclass
class _Prepared:
    y: np.ndarray
    w: np.ndarray
    codes: np.ndarray  # group index of every unit
    names: list[str]  # group names, in order of codes


def _prepare(values, groups, weights, label: str = "", units=None, need_positive: bool = True) -> _Prepared:
    y = np.asarray(values, dtype=float)
    units = np.asarray(units if units is not None else np.arange(len(y)).astype(str))
    where = f" ({label})" if label else ""
    bad = ~np.isfinite(y)
    if bad.any():
        raise GisError(f"value missing or not finite for unit(s) {', '.join(map(str, units[bad][:10]))}{where}")
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != y.shape:
        raise GisError(f"weights and values differ in length ({len(w)} vs {len(y)}){where}")
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise GisError(f"weight (population) missing, not finite or not positive for unit(s) {', '.join(map(str, units[bad][:10]))}{where}")
    if len(y) < 3:
        raise GisError(f"inequality needs at least 3 units; got {len(y)}{where}")
    if need_positive and (y <= 0).any():
        raise GisError(
            f"Theil indices need values > 0; unit(s) {', '.join(map(str, units[y <= 0][:10]))} have {', '.join(f'{v:g}' for v in y[y <= 0][:10])}{where}"
        )
    if (y < 0).any():
        raise GisError(f"the Gini coefficient needs values ≥ 0; unit(s) {', '.join(map(str, units[y < 0][:10]))} are negative{where}")
    if groups is None:
        codes, names = np.zeros(len(y), dtype=int), ["all"]
    else:
        g = pd.Series(np.asarray(groups, dtype=object))
        if g.isna().any():
            raise GisError(f"no group for unit(s) {', '.join(map(str, units[g.isna().to_numpy()][:10]))}{where}")
        if isinstance(groups, pd.Categorical):  # the groups' own order (as their source lists them)
            present = groups.remove_unused_categories()
            codes, names = present.codes, [str(c) for c in present.categories]
        else:
            codes, uniques = pd.factorize(g.astype(str), sort=True)
            names = list(uniques)
        if len(names) < 2:
            raise GisError(f"the decomposition needs at least 2 groups; all units are in {names[0]!r}{where}")
    return _Prepared(y, w, np.asarray(codes), names)


def _group_sums(p: _Prepared):
    k = len(p.names)
    wg = np.bincount(p.codes, weights=p.w, minlength=k)
    yg = np.bincount(p.codes, weights=p.w * p.y, minlength=k)
    return wg, yg


def theil_decomposition(values, groups, weights=None, units=None, label: str = "") -> dict:
    """Theil T and Theil L of ``values`` with their between/within-group decomposition.

    Parameters
    ----------
    values
        Indicator values, > 0 (e.g. per-capita rural income, yuan).
    groups
        Group label of every unit (at least two groups).
    weights
        Population of every unit (persons) for the population-weighted indices, or None.
    units
        Unit labels (adcodes) used in error messages.

    Returns
    -------
    dict
        ``{"theil_t": {...}, "theil_l": {...}}``, each with ``total``, ``between``, ``within``
        (floats, ``between + within == total``), ``group_index`` (T_g or L_g per group) and
        ``within_contribution`` (s_g·T_g or p_g·L_g per group, summing to ``within``).
    """
    p = _prepare(values, groups, weights, label=label, units=units)
    wsum, ysum = p.w.sum(), (p.w * p.y).sum()
    pop_share = p.w / wsum  # w_i / W
    val_share = p.w * p.y / ysum  # v_i
    wg, yg = _group_sums(p)
    pg, sg = wg / wsum, yg / ysum
    # within-group indices: unit shares relative to the group
    pop_in = p.w / wg[p.codes]
    val_in = p.w * p.y / yg[p.codes]
    t_units = val_in * np.log(val_in / pop_in)
    l_units = pop_in * np.log(pop_in / val_in)
    k = len(p.names)
    t_g = np.bincount(p.codes, weights=t_units, minlength=k)
    l_g = np.bincount(p.codes, weights=l_units, minlength=k)
    out = {}
    for name, total, g_index, share, between in (
        ("theil_t", float(np.sum(val_share * np.log(val_share / pop_share))), t_g, sg, float(np.sum(sg * np.log(sg / pg)))),
        ("theil_l", float(np.sum(pop_share * np.log(pop_share / val_share))), l_g, pg, float(np.sum(pg * np.log(pg / sg)))),
    ):
        contribution = share * g_index
        out[name] = {
            "total": total,
            "between": between,
            "within": float(contribution.sum()),
            "group_index": dict(zip(p.names, map(float, g_index))),
            "within_contribution": dict(zip(p.names, map(float, contribution))),
        }
    return out


def dagum_gini(values, groups, weights=None, units=None, label: str = "") -> dict:
    """Gini coefficient and its Dagum (1997) decomposition (formulas in the module docstring).

    Returns
    -------
    dict
        ``total`` (G), ``within`` (G_w), ``net_between`` (G_nb), ``transvariation`` (G_t),
        with ``within + net_between + transvariation == total``; ``group_gini`` (G_jj per
        group), ``between_gini`` (G_jh per pair ``"j|h"``, richer group first) and
        ``affluence`` (D_jh per pair).
    """
    p = _prepare(values, groups, weights, label=label, units=units, need_positive=False)
    y, w = p.y, p.w
    wsum = w.sum()
    mu = (w * y).sum() / wsum
    if mu <= 0:
        raise GisError("the Gini coefficient needs a positive mean; all values are 0")
    diff = y[:, None] - y[None, :]
    ww = w[:, None] * w[None, :]
    absdiff = ww * np.abs(diff)
    pos = ww * np.maximum(diff, 0.0)
    k = len(p.names)
    onehot = np.zeros((len(y), k))
    onehot[np.arange(len(y)), p.codes] = 1.0
    # group-by-group sums of w_i w_r |y_i - y_r| and of w_i w_r (y_i - y_r)^+
    abs_gh = onehot.T @ absdiff @ onehot
    pos_gh = onehot.T @ pos @ onehot
    wg, yg = _group_sums(p)
    mug = yg / wg
    pg, sg = wg / wsum, yg / (wsum * mu)
    total = abs_gh.sum() / (2 * wsum**2 * mu)
    g_jj = np.diag(abs_gh) / (2 * wg**2 * mug)
    within = float(np.sum(g_jj * pg * sg))
    net_between = transvariation = 0.0
    between_gini, affluence = {}, {}
    for j in range(k):
        for h in range(j + 1, k):
            rich, poor = (j, h) if mug[j] >= mug[h] else (h, j)
            g_jh = abs_gh[j, h] / (wg[j] * wg[h] * (mug[j] + mug[h]))
            d = pos_gh[rich, poor] / (wg[j] * wg[h])
            pt = pos_gh[poor, rich] / (wg[j] * wg[h])
            d_jh = (d - pt) / (d + pt) if d + pt > 0 else 0.0
            factor = g_jh * (pg[j] * sg[h] + pg[h] * sg[j])
            net_between += factor * d_jh
            transvariation += factor * (1 - d_jh)
            pair = f"{p.names[rich]}|{p.names[poor]}"
            between_gini[pair] = float(g_jh)
            affluence[pair] = float(d_jh)
    return {
        "total": float(total),
        "within": within,
        "net_between": float(net_between),
        "transvariation": float(transvariation),
        "group_gini": dict(zip(p.names, map(float, g_jj))),
        "between_gini": between_gini,
        "affluence": affluence,
    }


def coefficient_of_variation(values, weights=None) -> float:
    """``CV = σ / μ`` with the (weighted) population standard deviation (ddof = 0); unitless."""
    y = np.asarray(values, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    mu = np.sum(w * y) / w.sum()
    if mu == 0:
        raise GisError("the coefficient of variation is undefined for a mean of 0")
    return float(np.sqrt(np.sum(w * (y - mu) ** 2) / w.sum()) / mu)


def _rows(year, measure: str, parts: dict) -> list[tuple]:
    rows = []
    for component in ("total", "between", "within", "net_between", "transvariation"):
        if component in parts:
            rows.append((year, measure, component, "", parts[component]))
    for key, component in (
        ("group_index", "group_index"),
        ("within_contribution", "within_contribution"),
        ("group_gini", "group_gini"),
        ("between_gini", "between_gini"),
        ("affluence", "affluence"),
    ):
        for group, value in parts.get(key, {}).items():
            rows.append((year, measure, component, group, value))
    return rows


def inequality_table(
    long: pd.DataFrame,
    value: str = "value",
    group: str = "group",
    weight: str | None = None,
    unit: str = "adcode",
    year: str = "year",
    measures: tuple[str, ...] = MEASURES,
    balanced: bool = True,
) -> pd.DataFrame:
    """Inequality measures and their group decomposition for every year of a long table.

    Parameters
    ----------
    long
        One row per unit and year with columns ``unit`` (adcode), ``year``, ``value``,
        ``group`` and optionally ``weight`` (population, persons).
    measures
        Any of ``theil_t``, ``theil_l``, ``gini``, ``cv``.
    balanced
        If True (default) every unit must have a value in every year, so that the years are
        comparable; the missing unit-years are named otherwise. Set False to compute each year
        over the units it has.

    Returns
    -------
    DataFrame
        Tidy: ``year``, ``measure``, ``component``, ``group``, ``value``. Components:
        ``total``, ``between``, ``within`` (Theil); ``total``, ``within``, ``net_between``,
        ``transvariation`` (Gini); ``total`` (CV); per group (``group`` set):
        ``group_index`` (T_g / L_g), ``within_contribution``, ``group_gini``; per pair of groups
        (``group`` = ``"richer|poorer"``): ``between_gini`` (G_jh), ``affluence`` (D_jh).
        Also ``n_units`` in ``component`` for each year, under ``measure`` ``"n"``.
    """
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise GisError(f"unknown inequality measure(s) {', '.join(unknown)}; choose from {', '.join(MEASURES)}")
    needed = [unit, year, value, group] + ([weight] if weight else [])
    missing_cols = [c for c in needed if c not in long.columns]
    if missing_cols:
        raise GisError(f"the table lacks column(s) {', '.join(missing_cols)}; it has {', '.join(map(str, long.columns))}")
    frame = long[needed].copy()
    if frame.empty:
        raise GisError("no rows to analyse")
    dup = frame.duplicated([unit, year], keep=False)
    if dup.any():
        first = frame[dup].iloc[0]
        raise GisError(f"two rows for unit {first[unit]} in {first[year]}")
    frame[value] = pd.to_numeric(frame[value], errors="coerce")
    bad = ~np.isfinite(frame[value].to_numpy(dtype=float))
    if bad.any():
        where = ", ".join(f"{a} ({y})" for a, y in frame.loc[bad, [unit, year]].head(10).itertuples(index=False))
        raise GisError(f"{value} missing or not finite for {int(bad.sum())} unit-year(s): {where}")
    groups_per_unit = frame.groupby(unit)[group].nunique(dropna=False)
    if (groups_per_unit > 1).any():
        raise GisError(f"unit(s) {', '.join(map(str, groups_per_unit[groups_per_unit > 1].index[:10]))} change group between years")
    if balanced:
        years = sorted(frame[year].unique())
        have = set(zip(frame[unit], frame[year]))
        absent = [(a, y) for a in sorted(frame[unit].unique()) for y in years if (a, y) not in have]
        if absent:
            where = ", ".join(f"{a} ({y})" for a, y in absent[:10])
            raise GisError(
                f"{len(absent)} unit-year(s) missing, so years would compare different units: {where}; "
                "analyse one year (gis inequality --year) or pass balanced=False to allow it"
            )
    rows: list[tuple] = []
    for yr, part in frame.groupby(year, sort=True):
        yr_out = int(yr) if isinstance(yr, (int, np.integer)) else yr
        label = f"{year} {yr}"
        units_ = part[unit].to_numpy()
        y = part[value].to_numpy(dtype=float)
        g = part[group].array if isinstance(part[group].dtype, pd.CategoricalDtype) else part[group].to_numpy()
        w = part[weight].to_numpy(dtype=float) if weight else None
        rows.append((yr_out, "n", "n_units", "", float(len(part))))
        if {"theil_t", "theil_l"} & set(measures):
            theil = theil_decomposition(y, g, w, units=units_, label=label)
            for m in ("theil_t", "theil_l"):
                if m in measures:
                    rows += _rows(yr_out, m, theil[m])
        if "gini" in measures:
            rows += _rows(yr_out, "gini", dagum_gini(y, g, w, units=units_, label=label))
        if "cv" in measures:
            _prepare(y, g, w, label=label, units=units_, need_positive=False)
            rows.append((yr_out, "cv", "total", "", coefficient_of_variation(y, w)))
    return pd.DataFrame(rows, columns=["year", "measure", "component", "group", "value"])
