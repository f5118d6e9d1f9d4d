"""Colours shared by the maps and the QGIS styles, so "no data" looks the same in both."""

from __future__ import annotations

#: Fill of units with no data (hatched with :data:`NO_DATA_HATCH`), in maps and QGIS styles.
NO_DATA_FILL = "#d9d9d9"
NO_DATA_HATCH = "#737373"
NO_DATA_LABEL = "暂无数据 no data"


def hex_to_rgba(hex_colour: str) -> tuple[int, int, int, int]:
    """``#RRGGBB`` as an opaque (r, g, b, 255) colour-table entry."""
    value = hex_colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), 255)
