"""Indicator registry and the indicator values shipped with the package.

Indicator values are kept in **long (tidy) form**: one row per ``adcode``, ``year``,
``indicator``, with ``value``, ``unit`` and ``source``. Layers want **wide form**, one
column per indicator and year (``income_ratio_2020``); :func:`to_wide` makes it.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd

LONG_COLUMNS = ["adcode", "name", "year", "indicator", "value", "unit", "source"]


def _data_file(*parts: str):
    return resources.files("gis").joinpath("data", *parts)


@lru_cache(maxsize=1)
def registry() -> pd.DataFrame:
    """The indicator registry (``gis/data/indicators.csv``), indexed by indicator name.

    Columns: ``label_zh``, ``label_en``, ``unit``, ``direction`` (``higher_better`` /
    ``higher_worse`` / ``neutral``), ``group``, ``min_value``, ``max_value`` (valid range,
    NaN where open), ``note``.
    """
    with _data_file("indicators.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype={"note": "string"}).set_index("indicator")


@lru_cache(maxsize=1)
def units() -> pd.DataFrame:
    """Units of measure (``gis/data/units.csv``), indexed by unit name."""
    with _data_file("units.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f).set_index("unit")


def seed_indicators(province: str, census: bool = True) -> pd.DataFrame:
    """Indicator values shipped for ``province`` (long form), empty if there are none.

    ``province`` is a 6-digit adcode or ``"all"`` (every province's values). ``adcode`` is a
    6-digit string, ``year`` an int, ``value`` a float; every row names its source. With
    ``census`` (the default) the census indicators of the county tabulations
    (:func:`gis.tables.census.census_indicators`) are included for the province's units;
    where a province's seed table has the same unit, year and indicator, the seed's figure is kept.
    """
    if str(province) == "all":
        files = sorted(_data_file().glob("*/indicators_seed.csv"))
    else:
        files = [p for p in [_data_file(str(province), "indicators_seed.csv")] if p.is_file()]
    tables = []
    for path in files:
        with path.open(encoding="utf-8") as f:
            tables.append(pd.read_csv(f, dtype={"adcode": str, "name": str, "indicator": str}))
    seed = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=LONG_COLUMNS)
    seed["value"] = seed["value"].astype("float64")
    seed["year"] = seed["year"].astype("int64")
    if not census:
        return seed[LONG_COLUMNS].reset_index(drop=True)
    from gis.tables.census import census_indicators

    shipped = census_indicators(str(province))
    # A province's own communiqué figure (the seed) stands before the tabulation's.
    key = ["adcode", "year", "indicator"]
    shipped = shipped[~shipped.set_index(key).index.isin(seed.set_index(key).index)]
    return pd.concat([seed[LONG_COLUMNS], shipped[LONG_COLUMNS]], ignore_index=True)


def to_wide(long: pd.DataFrame, adcodes: pd.Series | None = None) -> pd.DataFrame:
    """Pivot long indicator rows to one row per adcode and one column per indicator-year.

    Columns are named ``<indicator>_<year>`` and sorted; ``adcodes`` restricts the rows to
    those units (units without values are absent, not zero). Raises if a unit has two
    values for the same indicator and year.
    """
    rows = long if adcodes is None else long[long["adcode"].isin(set(adcodes))]
    if rows.empty:
        return pd.DataFrame({"adcode": pd.Series(dtype=str)})
    duplicated = rows.duplicated(["adcode", "year", "indicator"], keep=False)
    if duplicated.any():
        first = rows[duplicated].iloc[0]
        raise ValueError(
            f"two values for {first['indicator']} {first['year']} of {first['adcode']}"
        )
    column = rows["indicator"] + "_" + rows["year"].astype(str)
    wide = (
        rows.assign(column=column)
        .pivot(index="adcode", columns="column", values="value")
        .sort_index(axis=1)
    )
    wide.columns.name = None
    return wide.reset_index()
