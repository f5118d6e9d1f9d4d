"""Values derived from printed, rounded figures — estimates that say so, with their accuracy.

Seed 004's 表 3 prints, per prefecture and year, the urban-rural income ratio ``r`` (urban /
rural, 2 decimals) and the absolute gap ``g`` (urban − rural, yuan, whole yuan), not the two
incomes. They follow exactly from the unrounded figures::

    rural = g / (r − 1)          urban = r · rural = g · r / (r − 1)

From the printed figures they are estimates: ``r`` is known to ±0.005 and ``g`` to ±0.5 yuan,
so the true rural income lies in ``[(g − 0.5) / (r + 0.005 − 1), (g + 0.5) / (r − 0.005 − 1)]``
(rural falls as r rises and rises with g). Each derived row carries that interval's half-width
as a share of the estimate in its ``source`` text (about ±0.5 % to ±1 % for Zhejiang's
prefectures: r ≈ 1.6–2.4), so the figure never travels without its accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis.errors import GisError
from gis.tables.indicators import LONG_COLUMNS, registry

#: Half the last printed digit of the ratio (2 decimals) and of the gap (whole yuan).
RATIO_ROUNDING = 0.005
GAP_ROUNDING = 0.5
#: Marker every estimated row's source starts with, so tables and pages can say so.
ESTIMATE_MARK = "estimate 估算"


def incomes_from_ratio_and_gap(long: pd.DataFrame) -> pd.DataFrame:
    """Rural and urban per-capita income (yuan) estimated from ``income_ratio`` and ``income_gap``.

    Parameters
    ----------
    long
        Long rows (:data:`gis.tables.indicators.LONG_COLUMNS`) holding ``income_ratio`` and
        ``income_gap`` of the same unit and year, as printed (ratio to 2 decimals, gap in
        whole yuan).

    Returns
    -------
    DataFrame
        Long rows of ``rural_income`` and ``urban_income`` (yuan) for every unit-year with
        both inputs and no income of its own in ``long``; ``source`` begins with
        :data:`ESTIMATE_MARK` and gives the formula, the inputs' sources and the relative
        half-width of the interval the rounding leaves (e.g. ``±0.62 %``).

    Raises
    ------
    GisError
        For a ratio ≤ 1 + 0.005 (urban not above rural by more than the rounding: the
        incomes cannot be recovered), naming the unit and year.
    """
    reg = registry()
    keys = ["adcode", "year"]
    ratio = long[long["indicator"] == "income_ratio"].set_index(keys)
    gap = long[long["indicator"] == "income_gap"].set_index(keys)
    both = ratio.join(gap[["value", "source"]], how="inner", rsuffix="_gap")
    have = set(zip(long.loc[long["indicator"].isin(["rural_income", "urban_income"]), "adcode"],
                   long.loc[long["indicator"].isin(["rural_income", "urban_income"]), "year"]))
    both = both[[key not in have for key in both.index]]
    if both.empty:
        return pd.DataFrame(columns=LONG_COLUMNS)
    r = both["value"].to_numpy(dtype=float)
    g = both["value_gap"].to_numpy(dtype=float)
    bad = r - RATIO_ROUNDING <= 1
    if bad.any():
        adcode, year = both.index[np.flatnonzero(bad)[0]]
        raise GisError(f"income_ratio {r[bad][0]:g} of {adcode} in {year} is too close to 1 to recover the incomes from the gap")
    rural = g / (r - 1)
    low = (g - GAP_ROUNDING) / (r + RATIO_ROUNDING - 1)
    high = (g + GAP_ROUNDING) / (r - RATIO_ROUNDING - 1)
    half_width = (high - low) / 2 / rural
    rows = []
    for (adcode, year), name, ratio_source, gap_source, rural_i, r_i, g_i, hw in zip(
        both.index, both["name"], both["source"], both["source_gap"], rural, r, g, half_width
    ):
        for indicator, value, formula in (
            ("rural_income", rural_i, "rural = gap / (ratio − 1)"),
            ("urban_income", r_i * rural_i, "urban = ratio · gap / (ratio − 1)"),
        ):
            rows.append({
                "adcode": adcode, "name": name, "year": int(year), "indicator": indicator,
                "value": float(value), "unit": reg.loc[indicator, "unit"],
                "source": f"{ESTIMATE_MARK}: {formula} from income_ratio {r_i:g} and income_gap {g_i:g} "
                          f"(±{hw:.2%} from their rounding; "
                          f"{ratio_source if ratio_source == gap_source else f'{ratio_source}; {gap_source}'})",
            })
    frame = pd.DataFrame(rows)[LONG_COLUMNS]
    frame["year"] = frame["year"].astype("int64")
    return frame
