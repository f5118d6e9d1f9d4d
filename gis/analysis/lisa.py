"""Hot spots: local Moran's I (LISA) of one indicator over queen contiguity.

For unit ``i`` with standardised value ``z_i`` and row-standardised queen weights ``w_ij``
(neighbours share at least one boundary point), local Moran's I is (Anselin 1995, *Local
Indicators of Spatial Association—LISA*, Geographical Analysis 27(2))::

    I_i = z_i · Σ_j w_ij z_j

Its pseudo p-value comes from conditional permutations (the value of ``i`` held fixed, the
others shuffled) as implemented by ``esda.Moran_Local`` with a fixed seed, so results repeat.
A unit is in a cluster where ``p ≤ alpha`` (default 0.05): HH (high among high: hot spot), LL
(low among low: cold spot), HL and LH (outliers); otherwise "not significant".

Units without a value are left out before the weights are built (and reported). A unit left
without any queen neighbour (an island such as 嵊泗县, or a unit whose neighbours all lack
values) has no local statistic; ``islands="exclude"`` (default) leaves it out and reports it,
``islands=("knn", k)`` links it to its ``k`` nearest units with values (distance between
representative points in an equal-area projection, links made symmetric) and lists the links
in ``lisa_links``. Nothing happens to an island silently.

**Multiple testing**: with ``fdr=True`` a unit is significant where ``p ≤`` the
Benjamini–Hochberg cut-off of ``esda.fdr`` at level ``alpha`` (Benjamini & Hochberg 1995, JRSS
B 57(1); as in GeoDa's FDR option; esda tests ``p_(k) < k·alpha/n`` strictly and returns
``alpha/n`` when no test passes). Without it, ``p ≤ alpha`` unit by unit, as GeoDa's default.

**Too few units**: a conditional permutation draws unit i's ``k_i`` neighbours from the other
``n − 1`` values, so there are at most ``C(n − 1, k_i)`` distinct neighbour sets and the pseudo
p-value can never be below ``1 / C(n − 1, k_i)``. When that floor is above ``alpha`` for every
unit, no unit can be significant whatever the data, and the analysis is refused with the
number of units and the smallest number that could give a significant unit. Units whose own
floor is above ``alpha`` are reported.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.errors import GisError

#: esda's quadrant codes (``Moran_Local.q``) and our labels.
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
NOT_SIGNIFICANT = "not significant"

#: Default permutations and seed: 999 permutations resolve p down to 0.001; the seed makes
#: the pseudo p-values reproducible run to run.
PERMUTATIONS = 999
SEED = 20240601
#: Fewest units for which queen weights and a permutation test make sense at all.
MIN_UNITS = 3


@dataclass
class LisaResult:
    """The units with LISA columns, and those left out with the reason."""

    frame: gpd.GeoDataFrame
    excluded: dict[str, str] = field(default_factory=dict)  # "name (adcode)" -> reason
    column: str = ""
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts = self.frame["lisa_cluster"].value_counts()
        parts = ", ".join(f"{label} {int(counts.get(label, 0))}" for label in ("HH", "LL", "HL", "LH", NOT_SIGNIFICANT))
        lines = [f"LISA of {self.column} over {len(self.frame)} units: {parts}"]
        if self.excluded:
            lines.append(f"Left out ({len(self.excluded)}):")
            lines += [f"  {unit}: {why}" for unit, why in self.excluded.items()]
        lines += self.notes
        return "\n".join(lines)


def _queen(frame: gpd.GeoDataFrame):
    from libpysal.weights import Queen

    with warnings.catch_warnings():
        # libpysal warns about islands and disconnected components; we report islands ourselves.
        warnings.simplefilter("ignore")
        return Queen.from_dataframe(frame, use_index=False)


def _knn_links(kept: gpd.GeoDataFrame, islands: list[int], k: int) -> dict[int, list[int]]:
    """The ``k`` nearest other units of each island (representative points, equal-area metres)."""
    from gis.units.coords import CHINA_ALBERS

    points = kept.geometry.representative_point()
    if kept.crs is not None and kept.crs.is_geographic:
        points = points.to_crs(CHINA_ALBERS)
    xy = np.column_stack([points.x.to_numpy(), points.y.to_numpy()])
    links = {}
    for i in islands:
        distance = np.hypot(*(xy - xy[i]).T)
        distance[i] = np.inf
        links[i] = [int(j) for j in np.argsort(distance, kind="stable")[:k]]
    return links


def _smallest_p(n: int, neighbours: np.ndarray) -> np.ndarray:
    """The floor ``1 / C(n − 1, k_i)`` of each unit's conditional-permutation p-value."""
    from scipy.special import comb

    return 1.0 / np.maximum(comb(n - 1, neighbours, exact=False), 1.0)


def local_moran(
    frame: gpd.GeoDataFrame,
    column: str,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    alpha: float = 0.05,
    fdr: bool = False,
    islands: str | tuple[str, int] = "exclude",
) -> LisaResult:
    """Local Moran's I of ``frame[column]`` over queen contiguity, with permutation p-values.

    Parameters
    ----------
    frame
        Polygons with ``adcode``, ``name`` and the numeric ``column`` (any CRS; a geographic
        CRS is projected to an equal-area one for the k-nearest-neighbour distances).
    column
        The indicator column (e.g. ``income_ratio_2020``).
    permutations, seed
        Conditional permutations for the pseudo p-values, and the random seed.
    alpha
        Significance level for ``lisa_cluster`` (the FDR level with ``fdr=True``).
    fdr
        Control the false discovery rate (Benjamini–Hochberg via ``esda.fdr``) instead of
        testing each unit at ``alpha``.
    islands
        ``"exclude"`` (units without a queen neighbour are left out and reported) or
        ``("knn", k)`` (they are linked to their k nearest units).

    Returns
    -------
    LisaResult
        ``frame``: the units analysed with ``lisa_i`` (local I), ``lisa_p`` (pseudo p-value,
        one-sided, from ``Moran_Local.p_sim``), ``lisa_q`` (HH/LH/LL/HL quadrant regardless
        of significance), ``lisa_cluster`` (HH/LL/HL/LH where significant, else "not
        significant"), ``lisa_p_cutoff`` (alpha, or the FDR cut-off) and ``lisa_links``
        (the k-nearest links of an island, else empty); ``excluded``: units left out and why;
        ``notes``: the cut-off used, islands linked, units that cannot reach significance.

    Raises
    ------
    GisError
        Missing column, a constant indicator, or too few units for any unit to be
        significant (with the number of units and the minimum).
    """
    from esda import fdr as fdr_cutoff
    from esda.moran import Moran_Local
    from libpysal.weights import W

    if column not in frame.columns:
        raise GisError(f"no column {column!r} to analyse; available: {', '.join(c for c in frame.columns if c != 'geometry')}")
    if islands != "exclude" and not (isinstance(islands, tuple) and islands[0] == "knn" and int(islands[1]) >= 1):
        raise GisError(f"islands must be 'exclude' or ('knn', k ≥ 1); got {islands!r}")
    values = pd.to_numeric(frame[column], errors="coerce")
    excluded = {f"{n} ({a})": f"no value for {column}" for a, n, v in zip(frame["adcode"], frame["name"], values) if pd.isna(v)}
    notes: list[str] = []
    kept = frame[values.notna()].copy()
    kept[column] = values[values.notna()].astype(float)
    kept["lisa_links"] = ""
    while True:
        kept = kept.reset_index(drop=True)
        if len(kept) < MIN_UNITS:
            raise GisError(f"LISA needs at least {MIN_UNITS} neighbouring units with values of {column}; got {len(kept)}")
        weights = _queen(kept)
        lonely = sorted(weights.islands)
        if not lonely:
            break
        if islands == "exclude":
            for i in lonely:
                excluded[f"{kept.loc[i, 'name']} ({kept.loc[i, 'adcode']})"] = (
                    "no queen neighbour with a value (island); --islands knn:K links it instead")
            kept = kept.drop(index=lonely)
            continue
        k = min(int(islands[1]), len(kept) - 1)
        neighbours = {i: list(js) for i, js in weights.neighbors.items()}
        for i, js in _knn_links(kept, lonely, k).items():
            for j in js:
                neighbours[i] = sorted(set(neighbours[i]) | {j})
                neighbours[j] = sorted(set(neighbours[j]) | {i})
            linked = ", ".join(str(kept.loc[j, "name"]) for j in js)
            kept.loc[i, "lisa_links"] = f"knn:{k} → {linked}"
            notes.append(f"Island {kept.loc[i, 'name']} ({kept.loc[i, 'adcode']}) linked to its {k} nearest: {linked}")
        weights = W(neighbours, silence_warnings=True)
        break
    if kept[column].nunique() < 2:
        raise GisError(f"{column} has the same value for every unit; LISA is undefined")
    n = len(kept)
    cardinality = np.array([weights.cardinalities[i] for i in range(n)])
    floor = _smallest_p(n, cardinality)
    if (floor > alpha).all():
        needed = next(m for m in range(n + 1, 10_000) if _smallest_p(m, np.array([min(cardinality.max(), m - 1)])).min() <= alpha)
        raise GisError(
            f"LISA on {n} units cannot find any significant unit at alpha {alpha:g}: a unit with k neighbours "
            f"has at most C({n - 1}, k) distinct neighbour sets, so its pseudo p-value is at least {floor.min():.3g}; "
            f"with up to {cardinality.max()} neighbours that needs at least {needed} units"
        )
    weights.transform = "r"
    lisa = Moran_Local(kept[column].to_numpy(), weights, transformation="r", permutations=permutations, seed=seed)
    cutoff = float(fdr_cutoff(lisa.p_sim, alpha)) if fdr else float(alpha)
    notes.append(f"Significance: p ≤ {cutoff:.4g}" + (f" (Benjamini–Hochberg FDR at {alpha:g} over {n} units)" if fdr else " (each unit at alpha)"))
    hopeless = floor > cutoff
    if hopeless.any():
        names = ", ".join(kept["name"][hopeless].astype(str)[:10])
        notes.append(f"{int(hopeless.sum())} unit(s) cannot reach p ≤ {cutoff:.4g} with so few neighbour sets: {names}")
    quadrant = pd.Series(lisa.q).map(QUADRANTS).to_numpy()
    significant = lisa.p_sim <= cutoff
    kept["lisa_i"] = lisa.Is
    kept["lisa_p"] = lisa.p_sim
    kept["lisa_q"] = quadrant
    kept["lisa_cluster"] = np.where(significant, quadrant, NOT_SIGNIFICANT)
    kept["lisa_p_cutoff"] = cutoff
    return LisaResult(gpd.GeoDataFrame(kept, geometry=frame.geometry.name, crs=frame.crs), excluded, column, notes)
