"""Composite indices: panel entropy weights, entropy-TOPSIS, obstacle degree, coupling coordination.

For units (or unit-years) ``i`` and indicators ``j`` with values ``x_ij``:

1. **Min-max normalisation by direction** — ``higher_better``: ``x'_ij = (x_ij − min_j) /
   (max_j − min_j)``; ``higher_worse``: ``(max_j − x_ij) / (max_j − min_j)``; 1 is the best.
   In a **panel** (several years), min and max are taken over all unit-years, so that a score
   of 2020 is comparable with one of 2010 (杨丽, 孙之淳 2015, 基于熵值法的西部新型城镇化发展
   水平测评, 经济问题 (3): 115–119).
2. **Entropy weights** — ``p_ij = x'_ij / Σ_i x'_ij``, ``e_j = −Σ_i p_ij ln p_ij / ln n``
   (0·ln 0 = 0; n = number of unit-years in a panel), ``w_j = (1 − e_j) / Σ_j (1 − e_j)``.
3. **Composite index** ``U_i = Σ_j w_j x'_ij`` ∈ [0, 1].
4. **Entropy-TOPSIS** — ``v_ij = w_j x'_ij``, ideal ``V⁺_j = max_i v_ij``, anti-ideal
   ``V⁻_j = min_i v_ij``, ``D⁺_i = sqrt(Σ_j (v_ij − V⁺_j)²)``, ``D⁻_i = sqrt(Σ_j (v_ij − V⁻_j)²)``,
   relative closeness ``C_i = D⁻_i / (D⁺_i + D⁻_i)`` ∈ [0, 1] (Hwang & Yoon 1981).
5. **Obstacle degree (障碍度)** — factor contribution ``F_j = w_j``, deviation
   ``I_ij = 1 − x'_ij``, ``O_ij = F_j I_ij / Σ_j F_j I_ij`` (shares summing to 1 per unit; NaN
   where a unit is best on every indicator).
6. **Coupling coordination** of ``n`` subsystem scores ``U_1 … U_n`` ∈ [0, 1]:

   * ``form="traditional"`` — the normative form of the classic model as restated by 王淑佳 等
     (2021): ``C = [Π U_i / ((Σ U_i)/n)^n]^(1/n)``; for two systems ``2 sqrt(U1 U2)/(U1 + U2)``
     (what ``gis.integration`` computes).
   * ``form="wang2021"`` — the modified coupling degree of 王淑佳, 孔伟, 任亮, 治丹丹, 戴彬婷
     (2021), 国内耦合协调度模型的误区及修正, 自然资源学报 36(3): 793–810:
     ``C = sqrt{[1 − Σ_{i>j} |U_i − U_j| / Σ_{m=1}^{n−1} m] · Π_i (U_i / max U)^(1/(n−1))}``;
     for two systems ``C = sqrt[(1 − |U1 − U2|) · min(U1, U2)/max(U1, U2)]``. NOTE: the paper's
     text could not be retrieved here; this formula is written from the paper as commonly
     cited and checked only for consistency with its 表 8 (original vs modified C of 13
     京津冀 cities) in the tests. Verify against the printed eq. before publishing.

   ``T = Σ α_i U_i`` (Σ α_i = 1, equal by default), ``D = sqrt(C · T)``, and D's grade on the
   ten-class scale (廖重斌 1999): 极度失调 [0, 0.1), 严重失调, 中度失调, 轻度失调, 濒临失调,
   勉强协调, 初级协调, 中级协调, 良好协调, 优质协调 [0.9, 1].

Libraries checked:

* ``pymcdm`` 1.4.0: ``TOPSIS`` is correct (same closeness; used as a cross-check in the tests),
  but ``weights.entropy_weights`` sum-normalises the raw matrix and sets ``e_j = 0`` for any
  column containing a 0 — after min-max normalisation every column has a 0, so every weight
  comes out equal. No obstacle degree, no coupling coordination, no panel normalisation.
* ``scikit-criteria`` 0.10: ``EntropyWeighter`` is correct (scipy's entropy, base n; a
  cross-check in the tests) and it has TOPSIS, but it pulls in matplotlib, seaborn and pulp
  for a dozen lines of NumPy and has nothing for obstacle degree or coupling coordination.

Neither is a run-time dependency; everything here is a few vectorised NumPy lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gis.errors import GisError

#: Ten-class scale of the coupling coordination degree D: (lower bound, label).
GRADES = (
    (0.0, "极度失调 extreme imbalance"),
    (0.1, "严重失调 serious imbalance"),
    (0.2, "中度失调 moderate imbalance"),
    (0.3, "轻度失调 mild imbalance"),
    (0.4, "濒临失调 on the verge of imbalance"),
    (0.5, "勉强协调 barely coordinated"),
    (0.6, "初级协调 primary coordination"),
    (0.7, "中级协调 intermediate coordination"),
    (0.8, "良好协调 good coordination"),
    (0.9, "优质协调 high-quality coordination"),
)
DIRECTIONS = ("higher_better", "higher_worse")


def minmax_normalise(matrix: pd.DataFrame, directions: dict[str, str]) -> pd.DataFrame:
    """Min-max normalise every column over all rows (all unit-years in a panel) by direction.

    Raises GisError for an unknown direction, a NaN/inf value (naming the row) or a column
    with one value everywhere.
    """
    out = {}
    for column in matrix.columns:
        direction = directions.get(column)
        if direction not in DIRECTIONS:
            raise GisError(f"indicator {column} has direction {direction!r}; the index needs higher_better or higher_worse")
        x = pd.to_numeric(matrix[column], errors="coerce").astype(float)
        bad = ~np.isfinite(x.to_numpy())
        if bad.any():
            raise GisError(f"indicator {column} missing or not finite for {', '.join(map(str, matrix.index[bad][:10]))}")
        low, high = x.min(), x.max()
        if high == low:
            raise GisError(f"indicator {column} has the same value ({low:g}) everywhere; it carries no information")
        out[column] = (x - low) / (high - low) if direction == "higher_better" else (high - x) / (high - low)
    return pd.DataFrame(out, index=matrix.index)


def entropy_weights(normalised: pd.DataFrame) -> pd.DataFrame:
    """Entropy ``e_j``, divergence ``d_j = 1 − e_j`` and weight ``w_j`` per column (see module)."""
    n = len(normalised)
    if n < 2:
        raise GisError(f"the entropy method needs at least 2 units (or unit-years); got {n}")
    x = normalised.to_numpy(dtype=float)
    p = x / x.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
    entropy = -plogp.sum(axis=0) / np.log(n)
    divergence = 1.0 - entropy
    if divergence.sum() <= 0:
        raise GisError("every indicator has maximal entropy; the weights are undefined")
    return pd.DataFrame({"entropy": entropy, "divergence": divergence, "weight": divergence / divergence.sum()}, index=normalised.columns)


def topsis(normalised: pd.DataFrame, weights: pd.Series) -> pd.DataFrame:
    """``d_plus`` (D⁺), ``d_minus`` (D⁻) and ``closeness`` (C = D⁻/(D⁺+D⁻)) per row."""
    v = normalised[weights.index].to_numpy(dtype=float) * weights.to_numpy(dtype=float)
    d_plus = np.sqrt(((v - v.max(axis=0)) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - v.min(axis=0)) ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        closeness = d_minus / (d_plus + d_minus)
    return pd.DataFrame({"d_plus": d_plus, "d_minus": d_minus, "closeness": closeness}, index=normalised.index)


def obstacle_degree(normalised: pd.DataFrame, weights: pd.Series) -> pd.DataFrame:
    """``O_ij = w_j (1 − x'_ij) / Σ_j w_j (1 − x'_ij)`` per row and indicator (rows sum to 1)."""
    dev = weights.to_numpy(dtype=float) * (1.0 - normalised[weights.index].to_numpy(dtype=float))
    total = dev.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, dev / total, np.nan)
    return pd.DataFrame(share, index=normalised.index, columns=weights.index)


def coupling_degree(u: pd.DataFrame | np.ndarray, form: str = "wang2021") -> np.ndarray:
    """Coupling degree C of the subsystem scores in the columns of ``u`` (rows: units)."""
    u = np.asarray(u, dtype=float)
    if u.ndim != 2 or u.shape[1] < 2:
        raise GisError("coupling needs at least two subsystems (columns)")
    if not np.isfinite(u).all() or (u < 0).any() or (u > 1 + 1e-12).any():
        raise GisError("subsystem scores must be finite and within [0, 1]")
    n = u.shape[1]
    if form == "traditional":
        mean = u.mean(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.where(mean > 0, np.prod(u / mean[:, None], axis=1) ** (1.0 / n), 0.0)
        return c
    if form == "wang2021":
        i, j = np.triu_indices(n, k=1)
        spread = np.abs(u[:, i] - u[:, j]).sum(axis=1) / (n * (n - 1) / 2)
        top = u.max(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(top[:, None] > 0, u / top[:, None], 0.0)
        return np.sqrt(np.clip(1.0 - spread, 0.0, 1.0) * np.prod(ratio, axis=1) ** (1.0 / (n - 1)))
    raise GisError(f"unknown coupling form {form!r}; choose wang2021 or traditional")


def coordination_grade(d) -> np.ndarray:
    """The ten-class label of each coupling coordination degree D."""
    d = np.asarray(d, dtype=float)
    bounds = np.array([b for b, _ in GRADES])
    labels = np.array([label for _, label in GRADES], dtype=object)
    return labels[np.clip(np.searchsorted(bounds, d + 1e-12, side="right") - 1, 0, len(GRADES) - 1)]


def coupling_coordination(u: pd.DataFrame, alpha=None, form: str = "wang2021") -> pd.DataFrame:
    """C, T = Σ α_i U_i, D = sqrt(C·T) and D's grade for subsystem scores (columns of ``u``)."""
    k = u.shape[1]
    alpha = np.full(k, 1.0 / k) if alpha is None else np.asarray(alpha, dtype=float)
    if len(alpha) != k or (alpha < 0).any() or not np.isclose(alpha.sum(), 1.0):
        raise GisError(f"subsystem weights α must be {k} non-negative numbers summing to 1; got {[float(a) for a in alpha]}")
    c = coupling_degree(u, form)
    t = u.to_numpy(dtype=float) @ alpha
    d = np.sqrt(c * t)
    return pd.DataFrame({"coupling_c": c, "coordination_t": t, "coordination_d": d, "grade": coordination_grade(d)}, index=u.index)


@dataclass
class PanelIndexResult:
    """Scores per unit-year, weights per indicator and obstacle degrees per unit-year."""

    scores: pd.DataFrame  # adcode, year, index, d_plus, d_minus, closeness, [U_<group>…, coupling_c, coordination_t, coordination_d, grade]
    weights: pd.DataFrame  # indicator, direction, group, entropy, divergence, weight, weight_in_group, min_value, max_value, n
    obstacles: pd.DataFrame  # adcode, year, indicator, obstacle


def panel_entropy_index(
    long: pd.DataFrame,
    directions: dict[str, str],
    groups: dict[str, list[str]] | None = None,
    alpha=None,
    form: str = "wang2021",
    unit: str = "adcode",
    year: str = "year",
) -> PanelIndexResult:
    """Panel entropy index, entropy-TOPSIS, obstacle degree and coupling coordination.

    Parameters
    ----------
    long
        Long table with ``unit``, ``year``, ``indicator``, ``value`` (as
        :data:`gis.indicators.LONG_COLUMNS`); one year gives the single-year method.
    directions
        ``{indicator: "higher_better" | "higher_worse"}`` for every indicator to use (the
        registry's ``direction``); other indicators in ``long`` are ignored.
    groups
        ``{"subsystem": [indicators]}`` (two or more) for coupling coordination; each
        subsystem is weighted by its own entropy over the panel.
    alpha, form
        Subsystem weights in T (equal by default) and the coupling form (see module).

    Every unit must have every indicator in every year (the panel is balanced); the missing
    unit-year-indicators are named otherwise.
    """
    indicators = list(directions)
    if len(indicators) < 2:
        raise GisError("give at least two indicators for an index")
    rows = long[long["indicator"].isin(indicators)]
    absent = [i for i in indicators if i not in set(rows["indicator"])]
    if absent:
        raise GisError(f"no values for indicator(s) {', '.join(absent)}")
    dup = rows.duplicated([unit, year, "indicator"], keep=False)
    if dup.any():
        first = rows[dup].iloc[0]
        raise GisError(f"two values for {first['indicator']} of {first[unit]} in {first[year]}")
    wide = rows.pivot(index=[unit, year], columns="indicator", values="value").reindex(columns=indicators)
    full = pd.MultiIndex.from_product([sorted(rows[unit].unique()), sorted(rows[year].unique())], names=[unit, year])
    wide = wide.reindex(full)
    holes = wide.isna().stack()
    holes = holes[holes]
    if len(holes):
        where = ", ".join(f"{a} ({y}) {ind}" for (a, y, ind) in holes.index[:10])
        raise GisError(f"{len(holes)} value(s) missing or not finite; the panel must be complete: {where}")
    wide.index = [f"{a} ({y})" for a, y in wide.index]  # readable labels for error messages
    keys = full.to_frame(index=False)
    normalised = minmax_normalise(wide, directions)
    weights = entropy_weights(normalised)
    scores = keys.copy()
    scores["index"] = normalised.to_numpy() @ weights["weight"].to_numpy()
    closeness = topsis(normalised, weights["weight"])
    for column in closeness.columns:
        scores[column] = closeness[column].to_numpy()
    weights["group"] = ""
    weights["weight_in_group"] = np.nan
    if groups:
        if len(groups) < 2:
            raise GisError("coupling coordination needs at least two subsystems")
        listed = [i for members in groups.values() for i in members]
        unknown = [i for i in listed if i not in indicators]
        if unknown:
            raise GisError(f"subsystem indicator(s) {', '.join(unknown)} not among the indicators given")
        sub = {}
        for name, members in groups.items():
            gw = entropy_weights(normalised[members])
            weights.loc[members, "group"] = name
            weights.loc[members, "weight_in_group"] = gw["weight"]
            sub[f"U_{name}"] = normalised[members].to_numpy() @ gw["weight"].to_numpy()
        u = pd.DataFrame(sub)
        cc = coupling_coordination(u, alpha, form)
        for column in [*u.columns, *cc.columns]:
            scores[column] = (u[column] if column in u else cc[column]).to_numpy()
    obstacles = obstacle_degree(normalised, weights["weight"])
    obstacles.index = pd.MultiIndex.from_frame(keys)
    obstacles = obstacles.stack().rename("obstacle").reset_index().rename(columns={"level_2": "indicator"})
    weights = weights.assign(
        direction=[directions[i] for i in weights.index],
        min_value=wide.min().to_numpy(),
        max_value=wide.max().to_numpy(),
        n=len(wide),
    )
    weights.index.name = "indicator"
    order = ["direction", "group", "entropy", "divergence", "weight", "weight_in_group", "min_value", "max_value", "n"]
    return PanelIndexResult(scores, weights[order].reset_index(), obstacles)
