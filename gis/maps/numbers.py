"""Numbers as planners read them, formatted by unit (``gis/data/units.csv``).

``decimals`` and ``format`` come from the units table: ``thousands`` groups digits
(``31,053 元``), ``percent`` appends ``%`` (``8.50%``), ``plain`` prints the decimals
(``2.15 倍``), ``bare`` prints them with no unit after the number (a 0–1 score: ``0.452``;
the unit is named once, in the legend title). Missing values are never turned into numbers: they read "暂无数据 / no data".
"""

from __future__ import annotations

import math
from functools import cache

from gis.tables.indicators import units

NO_DATA_ZH = "暂无数据"
NO_DATA_EN = "no data"
NO_DATA = f"{NO_DATA_ZH} / {NO_DATA_EN}"


def is_missing(value) -> bool:
    """True for None, NaN and pandas' NA."""
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except TypeError:  # pandas.NA refuses bool()
        return True


@cache
def _unit_format(unit: str) -> tuple[int, str, str]:
    """``(decimals, format, suffix)`` of ``unit`` from the units table, looked up once per
    unit: a national page formats tens of thousands of values. Raises KeyError for a unit
    the table does not have."""
    row = units().loc[unit]
    fmt = str(row["format"])
    suffix = "" if fmt in ("percent", "bare") else f" {row['label_zh']}"
    return int(row["decimals"]), fmt, suffix


def format_number(value: float, unit: str | None) -> str:
    """``value`` with the decimals and grouping of ``unit``, without the unit label.

    ``+inf`` (the open top of user breaks) is not a number a planner should see; callers
    label it "> x" instead.
    """
    if unit is None:
        return f"{value:g}"
    decimals, fmt, _ = _unit_format(unit)
    if fmt == "thousands":
        return f"{value:,.{decimals}f}"
    text = f"{value:.{decimals}f}"
    return f"{text}%" if fmt == "percent" else text


def unit_suffix(unit: str | None) -> str:
    """What follows a number of ``unit`` in running text: ``" 元"``, ``""`` for percent."""
    return "" if unit is None else _unit_format(unit)[2]


def format_value(value, unit: str | None) -> str:
    """A value with its unit (``31,053 元``, ``2.15 倍``, ``8.50%``), or "暂无数据 / no data"."""
    if is_missing(value):
        return NO_DATA
    return format_number(float(value), unit) + unit_suffix(unit)


def unit_labels(unit: str | None) -> tuple[str, str]:
    """Chinese and English unit for legend titles: ``("元", "yuan")``.

    A ratio has no English unit (the title already says "ratio"), so its English part is empty.
    """
    if unit is None:
        return "", ""
    row = units().loc[unit]
    return str(row["label_zh"]), "" if unit == "ratio" else str(row["label_en"])
