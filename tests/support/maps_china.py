"""Several provinces' layers shaped like a national build's, for the China-standard map tests.

Boundaries, planning groups and shipped indicators are real (only Zhejiang has planning groups
and seed incomes); the Degree of Urbanisation columns are synthetic stand-ins cycling through
the Level 2 classes, so the maps draw without sampling the official grid (minutes for the
whole country).
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.build.layers import build_layers
from gis.units.boundaries import load_boundaries

L2_CODES = (30, 23, 22, 21, 13, 12, 11)


def _with_classes(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = frame.copy()
    l2 = np.asarray([L2_CODES[i % len(L2_CODES)] for i in range(len(frame))], dtype=float)
    frame["degurba_l2"] = l2
    frame["degurba_l1"] = np.where(l2 == 30, 3.0, np.where(l2 >= 20, 2.0, 1.0))
    frame["degurba_weights"] = pd.Series("area", index=frame.index, dtype="string")
    return frame


def china_layers(province: str = "all", codes: tuple[str, ...] | None = None) -> dict:
    """Layer tables of ``province`` (``"all"``: the country) or of the provinces ``codes``
    together, as ``gis build`` assembles them, plus synthetic DEGURBA columns."""
    from gis.build.layers import combine_indicators
    from gis.tables.indicators import seed_indicators
    from gis.units.boundaries import Boundaries

    if codes is None:
        boundaries = load_boundaries(province)
    else:
        parts = [load_boundaries(code) for code in codes]

        def concat(level):
            return gpd.GeoDataFrame(pd.concat([getattr(p, level) for p in parts], ignore_index=True), crs="EPSG:4326")

        boundaries = Boundaries("all", "中华人民共和国", concat("province"), concat("prefectures"),
                                concat("counties"), parts[0].source)
    shipped = pd.concat([seed_indicators(code) for code in boundaries.province["adcode"]], ignore_index=True)
    tables = build_layers(boundaries, combine_indicators(shipped))
    for level in ("prefectures", "counties"):
        tables[level] = _with_classes(tables[level])
    return tables


def init_arguments(page: str) -> list:
    """The JSON arguments of the page's ``GisMap.init(map, …)`` or ``GisMap.index(map, …)`` call."""
    marker = "GisMap.init(" if "GisMap.init(" in page else "GisMap.index("
    call = page[page.rindex(marker):]
    decoder = json.JSONDecoder()
    position = call.index("}), ") + 4 if marker == "GisMap.index(" else call.index(", ") + 2
    values = []
    while True:
        value, end = decoder.raw_decode(call, position)
        values.append(value)
        if call[end:end + 2] != ", ":
            return values
        position = end + 2
