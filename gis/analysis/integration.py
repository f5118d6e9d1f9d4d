"""Urban-rural integration index (城乡融合发展指数): entropy weights and coupling coordination.

Method
------
For ``n`` units and ``m`` chosen indicators with values ``x_ij`` (unit ``i``, indicator ``j``):

1. **Min-max normalisation respecting direction** (registry ``direction``)::

       higher_better:  x'_ij = (x_ij − min_j) / (max_j − min_j)
       higher_worse:   x'_ij = (max_j − x_ij) / (max_j − min_j)

   so that 1 is always the best unit and 0 the worst. ``neutral`` indicators have no good
   direction and are refused; an indicator with the same value everywhere carries no
   information and is refused too.

2. **Entropy weights (熵值法)**::

       p_ij = x'_ij / Σ_i x'_ij
       e_j  = −(1 / ln n) · Σ_i p_ij · ln p_ij        (with 0 · ln 0 = 0, its limit)
       d_j  = 1 − e_j                                (degree of divergence)
       w_j  = d_j / Σ_j d_j

   An indicator whose values differ more between units gets more weight. No constant is
   added to x' to avoid ln 0 (some papers add 0.0001 or 0.01); the limit is used instead, so
   the weights do not depend on an arbitrary shift.

3. **Composite index** ``U_i = Σ_j w_j · x'_ij`` in [0, 1].

4. **Coupling coordination degree (耦合协调度)** between two indicator groups (subsystems),
   each scored by step 1–3 within the group (``U1``, ``U2``)::

       C = 2 · sqrt(U1 · U2) / (U1 + U2)       coupling degree, in [0, 1]
       T = α · U1 + β · U2                     comprehensive coordination, α + β = 1
       D = sqrt(C · T)                         coupling coordination degree, in [0, 1]

   with α = β = 0.5 by default. Where U1 = U2 = 0, C is 0/0; it is set to 0 and D is 0
   (T = 0 either way). D is also given in the ten classes of 廖重斌 (1999) from 极度失调
   (D < 0.1) to 优质协调 (D ≥ 0.9).

References: Shannon (1948), *A Mathematical Theory of Communication*, Bell System Technical
Journal 27 (entropy); 廖重斌 (1999) 环境与经济协调发展的定量评判及其分类体系——以珠江三角洲
城市群为例, 热带地理 19(2) (coupling coordination classes); 刘耀彬, 李仁东, 宋学锋 (2005)
中国城市化与生态环境耦合度分析, 自然资源学报 20(1) (two-system coupling degree); 王淑佳 等
(2021) 国内耦合协调度模型的误区及修正, 自然资源学报 36(3) (why C alone is not a measure of
development level, and the form of C used here).

No imputation: a unit missing any input of the chosen year gets no index, and
:class:`IndexResult` lists which units lacked which inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gis.analysis.mcda import coordination_grade, coupling_degree, minmax_normalise
from gis.analysis.mcda import entropy_weights as mcda_entropy_weights
from gis.errors import GisError
from gis.tables.indicators import registry

# Normalisation and entropy weights are the panel method's (gis.analysis.mcda) applied to one
# year: one implementation, so `gis index` and the library cannot drift apart.
normalise_by_direction = minmax_normalise
entropy_weights = mcda_entropy_weights


def composite_score(normalised: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """``U_i = Σ_j w_j · x'_ij`` for every unit (index of ``normalised``), in [0, 1]."""
    return normalised[weights.index].to_numpy() @ weights.to_numpy()


def coupling_coordination(u1: np.ndarray, u2: np.ndarray, alpha: float = 0.5, beta: float = 0.5) -> pd.DataFrame:
    """Two-system coupling degree C, coordination index T and coupling coordination degree D.

    ``C = 2·sqrt(U1·U2)/(U1+U2)`` (0 where U1 = U2 = 0; :func:`gis.analysis.mcda.coupling_degree`
    with ``form="traditional"``), ``T = α·U1 + β·U2``, ``D = sqrt(C·T)``. ``alpha + beta``
    must be 1; U1, U2 in [0, 1].
    """
    if not np.isclose(alpha + beta, 1.0) or alpha < 0 or beta < 0:
        raise GisError(f"coupling weights must be non-negative and sum to 1; got α={alpha}, β={beta}")
    u = np.column_stack([np.asarray(u1, dtype=float), np.asarray(u2, dtype=float)])
    c = coupling_degree(u, form="traditional")
    t = alpha * u[:, 0] + beta * u[:, 1]
    return pd.DataFrame({"coupling_c": c, "coordination_t": t, "coordination_d": np.sqrt(c * t)})


def coordination_class(d: float) -> str:
    """The 廖重斌 (1999) class of a coupling coordination degree D."""
    return str(coordination_grade([d])[0])


@dataclass
class IndexResult:
    """Scores per unit, weights per indicator and the units left out (with missing inputs)."""

    scores: pd.DataFrame
    weights: pd.DataFrame
    missing: dict[str, list[str]] = field(default_factory=dict)  # "name (adcode)" -> missing inputs
    year: int | None = None

    def summary(self) -> str:
        lines = [f"Index for {len(self.scores)} units, year {self.year}:"]
        for _, row in self.weights.iterrows():
            group = f" [{row['group']}, weight in group {row['weight_in_group']:.4f}]" if row["group"] else ""
            lines.append(f"  {row['indicator']}: weight {row['weight']:.4f} (entropy {row['entropy']:.4f}, {row['direction']}){group}")
        if self.missing:
            lines.append(f"Units without an index — missing inputs ({len(self.missing)}):")
            lines += [f"  {unit}: {', '.join(inputs)}" for unit, inputs in self.missing.items()]
        return "\n".join(lines)


def parse_groups(text: str | None, indicators: list[str]) -> dict[str, list[str]]:
    """Parse ``income=a,b;services=c,d`` into ``{"income": ["a","b"], "services": ["c","d"]}``.

    Every named indicator must be among ``indicators``; exactly two groups are needed for the
    coupling coordination degree.
    """
    if not text:
        return {}
    groups: dict[str, list[str]] = {}
    for part in [p for p in text.split(";") if p.strip()]:
        if "=" not in part:
            raise GisError(f"--groups {text!r}: expected name=indicator,indicator;name=indicator,…")
        name, members = part.split("=", 1)
        members_list = [m.strip() for m in members.split(",") if m.strip()]
        unknown = [m for m in members_list if m not in indicators]
        if unknown:
            raise GisError(f"--groups: {', '.join(unknown)} in group {name.strip()} not among --indicators ({', '.join(indicators)})")
        groups[name.strip()] = members_list
    if len(groups) != 2:
        raise GisError(f"--groups: the coupling coordination degree needs exactly two groups; got {len(groups)}")
    return groups


def check_index_indicators(indicators: list[str]) -> pd.DataFrame:
    """The registry, once ``indicators`` are known to it and at least two (else GisError)."""
    reg = registry()
    unknown = [i for i in indicators if i not in reg.index]
    if unknown:
        raise GisError(f"--indicators: unknown indicator(s) {', '.join(unknown)}; see gis/data/indicators.csv")
    if len(indicators) < 2:
        raise GisError("--indicators: give at least two indicators for an index")
    return reg


def integration_index(
    long: pd.DataFrame,
    indicators: list[str],
    units: pd.DataFrame,
    groups: dict[str, list[str]] | None = None,
    year: int | None = None,
    alpha: float = 0.5,
    beta: float = 0.5,
) -> IndexResult:
    """Entropy-weighted composite index (and coupling coordination between two groups).

    Parameters
    ----------
    long
        Indicator values in long form (:data:`gis.tables.indicators.LONG_COLUMNS`).
    indicators
        Registry names of the inputs; each must have direction higher_better or higher_worse.
    units
        The units to score: a frame with ``adcode`` and ``name`` (e.g. the counties of
        :class:`gis.units.boundaries.Boundaries`). Units lacking an input are left out and listed.
    groups
        ``{"group name": [indicators]}`` with exactly two groups for the coupling coordination
        degree, or None for the composite only.
    year
        The year of the values; may be omitted when the data have one year only.
    alpha, beta
        Contributions of the two groups to T (default 0.5 each).

    Returns
    -------
    IndexResult
        ``scores``: adcode, name, year, the raw inputs, ``integration_index`` (U in [0, 1]),
        ``U_<group>`` for each group, ``coupling_c``, ``coordination_t``, ``coordination_d``,
        ``coordination_class``. ``weights``: per indicator, its label, unit, direction, group,
        entropy, divergence, ``weight`` (overall) and ``weight_in_group``, the min and max used
        for normalisation and the number of units.
    """
    reg = check_index_indicators(indicators)
    rows = long[long["indicator"].isin(indicators)]
    if year is None:
        years = sorted(rows["year"].unique())
        if len(years) > 1:
            raise GisError(f"the inputs have several years ({', '.join(map(str, years))}); choose one with --year")
        if not years:
            raise GisError(f"no values for {', '.join(indicators)} in the data")
        year = int(years[0])
    rows = rows[rows["year"] == year]
    wide = rows.pivot_table(index="adcode", columns="indicator", values="value", aggfunc="first")
    wide = wide.reindex(index=list(units["adcode"]), columns=indicators)
    names = dict(zip(units["adcode"], units["name"]))
    complete = wide.dropna()
    missing = {
        f"{names[a]} ({a})": [i for i in indicators if pd.isna(wide.loc[a, i])]
        for a in wide.index
        if wide.loc[a].isna().any()
    }
    directions = {i: reg.loc[i, "direction"] for i in indicators}
    normalised = normalise_by_direction(complete, directions)
    weights = entropy_weights(normalised)
    scores = complete.copy()
    scores["integration_index"] = composite_score(normalised, weights["weight"])
    weights["weight_in_group"] = np.nan
    weights["group"] = ""
    if groups:
        subsystem = []
        for name, members in groups.items():
            group_weights = entropy_weights(normalised[members])
            weights.loc[members, "weight_in_group"] = group_weights["weight"]
            weights.loc[members, "group"] = name
            scores[f"U_{name}"] = composite_score(normalised[members], group_weights["weight"])
            subsystem.append(scores[f"U_{name}"].to_numpy())
        coupling = coupling_coordination(subsystem[0], subsystem[1], alpha, beta)
        for column in coupling.columns:
            scores[column] = coupling[column].to_numpy()
        scores["coordination_class"] = [coordination_class(d) for d in scores["coordination_d"]]
    scores = scores.reset_index().rename(columns={"index": "adcode"})
    scores.insert(1, "name", scores["adcode"].map(names))
    scores.insert(2, "year", year)
    weights = weights.assign(
        label_zh=[reg.loc[i, "label_zh"] for i in weights.index],
        unit=[reg.loc[i, "unit"] for i in weights.index],
        direction=[directions[i] for i in weights.index],
        min_value=complete.min().to_numpy(),
        max_value=complete.max().to_numpy(),
        n_units=len(complete),
        year=year,
    )
    weights.index.name = "indicator"
    order = ["label_zh", "unit", "direction", "group", "entropy", "divergence", "weight", "weight_in_group", "min_value", "max_value", "n_units", "year"]
    return IndexResult(scores, weights[order].reset_index(), missing, year)
