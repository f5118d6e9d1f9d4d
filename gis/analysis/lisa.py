"""Hot spots: local Moran's I (LISA) of one indicator over queen contiguity.

For unit ``i`` with standardised value ``z_i`` and row-standardised queen weights ``w_ij``
(neighbours share at least one boundary point), local Moran's I is (Anselin 1995, *Local
Indicators of Spatial Association—LISA*, Geographical Analysis 27(2))::

    I_i = z_i · Σ_j w_ij z_j

Its pseudo p-value comes from conditional permutations (the value of ``i`` held fixed, the
others shuffled) as implemented by ``esda.Moran_Local`` with a fixed seed, so results repeat.
A unit is in a cluster where ``p ≤ alpha`` (default 0.05): HH (high among high: hot spot), LL
(low among low: cold spot), HL and LH (outliers); otherwise "not significant".

Units without a value are left out before the weights are built (and reported); so are units
left without any neighbour (islands such as 嵊泗县, or units whose neighbours all lack values),
since their local statistic is undefined.
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


@dataclass
class LisaResult:
    """The units with LISA columns, and those left out with the reason."""

    frame: gpd.GeoDataFrame
    excluded: dict[str, str] = field(default_factory=dict)  # "name (adcode)" -> reason
    column: str = ""

    def summary(self) -> str:
        counts = self.frame["lisa_cluster"].value_counts()
        parts = ", ".join(f"{label} {int(counts.get(label, 0))}" for label in ("HH", "LL", "HL", "LH", NOT_SIGNIFICANT))
        lines = [f"LISA of {self.column} over {len(self.frame)} units: {parts}"]
        if self.excluded:
            lines.append(f"Left out ({len(self.excluded)}):")
            lines += [f"  {unit}: {why}" for unit, why in self.excluded.items()]
        return "\n".join(lines)


def _queen(frame: gpd.GeoDataFrame):
    from libpysal.weights import Queen

    with warnings.catch_warnings():
        # libpysal warns about islands and disconnected components; we report islands ourselves.
        warnings.simplefilter("ignore")
        return Queen.from_dataframe(frame, use_index=False)


def local_moran(
    frame: gpd.GeoDataFrame,
    column: str,
    permutations: int = PERMUTATIONS,
    seed: int = SEED,
    alpha: float = 0.05,
) -> LisaResult:
    """Local Moran's I of ``frame[column]`` over queen contiguity, with permutation p-values.

    Parameters
    ----------
    frame
        Polygons with ``adcode``, ``name`` and the numeric ``column``.
    column
        The indicator column (e.g. ``income_ratio_2020``).
    permutations, seed
        Conditional permutations for the pseudo p-values, and the random seed.
    alpha
        Significance level for ``lisa_cluster``.

    Returns
    -------
    LisaResult
        ``frame``: the units analysed with ``lisa_i`` (local I), ``lisa_p`` (pseudo p-value,
        one-sided, from ``Moran_Local.p_sim``), ``lisa_q`` (HH/LH/LL/HL quadrant regardless
        of significance) and ``lisa_cluster`` (HH/LL/HL/LH where p ≤ alpha, else "not
        significant"); ``excluded``: units left out and why.
    """
    from esda.moran import Moran_Local

    if column not in frame.columns:
        raise GisError(f"no column {column!r} to analyse; available: {', '.join(c for c in frame.columns if c != 'geometry')}")
    values = pd.to_numeric(frame[column], errors="coerce")
    excluded = {f"{n} ({a})": f"no value for {column}" for a, n, v in zip(frame["adcode"], frame["name"], values) if pd.isna(v)}
    kept = frame[values.notna()].copy()
    kept[column] = values[values.notna()].astype(float)
    while True:
        kept = kept.reset_index(drop=True)
        if len(kept) < 3:
            raise GisError(f"LISA needs at least 3 neighbouring units with values of {column}; got {len(kept)}")
        weights = _queen(kept)
        islands = set(weights.islands)
        if not islands:
            break
        for i in sorted(islands):
            excluded[f"{kept.loc[i, 'name']} ({kept.loc[i, 'adcode']})"] = "no queen neighbour with a value (island)"
        kept = kept.drop(index=sorted(islands))
    if kept[column].nunique() < 2:
        raise GisError(f"{column} has the same value for every unit; LISA is undefined")
    weights.transform = "r"
    lisa = Moran_Local(kept[column].to_numpy(), weights, transformation="r", permutations=permutations, seed=seed)
    quadrant = pd.Series(lisa.q).map(QUADRANTS).to_numpy()
    significant = lisa.p_sim <= alpha
    kept["lisa_i"] = lisa.Is
    kept["lisa_p"] = lisa.p_sim
    kept["lisa_q"] = quadrant
    kept["lisa_cluster"] = np.where(significant, quadrant, NOT_SIGNIFICANT)
    return LisaResult(gpd.GeoDataFrame(kept, geometry=frame.geometry.name, crs=frame.crs), excluded, column)
