"""Layers for map tests, shaped like the build's (EPSG:4326), with synthetic DEGURBA parts.

Prefectures and counties are the real Zhejiang boundaries with planning groups and the
shipped indicators (wide). Degree of Urbanisation columns and the 1 km grid are synthetic
stand-ins until the DEGURBA engine's output is wired in: they only exercise the drawing.
One county is left without a class so the "no data" styling is always on the page.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.tables.indicators import seed_indicators, to_wide
from gis.units.planning import add_planning_attributes

L2_CODES = (30, 23, 22, 21, 13, 12, 11)
#: County left unclassified in the synthetic DEGURBA columns (shows as no data).
NO_DATA_COUNTY = "普陀区"


def _l1(l2: float) -> float:
    if np.isnan(l2):
        return np.nan
    return 3.0 if l2 == 30 else 2.0 if l2 >= 20 else 1.0


def synthetic_grid(bounds: tuple[float, float, float, float], cell: float = 0.05) -> gpd.GeoDataFrame:
    """Square cells of ``cell`` degrees over ``bounds`` with cycling L2 classes (tests only)."""
    west, south, east, north = bounds
    xs = np.arange(west, east, cell)
    ys = np.arange(south, north, cell)
    boxes, codes = [], []
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            boxes.append(shapely.box(x, y, x + cell, y + cell))
            codes.append((30, 23, 22, 21, 13, 12, 11, 10)[(i * 3 + j) % 8])
    return gpd.GeoDataFrame({"degurba_l2": codes}, geometry=boxes, crs="EPSG:4326")


def map_layers(boundaries) -> dict[str, gpd.GeoDataFrame]:
    """``{"prefectures", "counties", "degurba_grid"}`` as render_maps expects them."""
    planned = add_planning_attributes(boundaries)
    long = seed_indicators(boundaries.code)
    prefectures = planned.prefectures.merge(to_wide(long, planned.prefectures["adcode"]), on="adcode", how="left")
    counties = planned.counties.merge(to_wide(long, planned.counties["adcode"]), on="adcode", how="left")
    rank = counties["area_km2"].rank(method="first").astype(int).to_numpy()
    l2 = np.asarray([float(L2_CODES[r % len(L2_CODES)]) for r in rank])
    l2[counties["name"].to_numpy() == NO_DATA_COUNTY] = np.nan
    counties["degurba_l2"] = l2
    counties["degurba_l1"] = [_l1(v) for v in l2]
    counties["degurba_weights"] = pd.Series("population", index=counties.index, dtype="string")
    prefecture_l2 = [float(L2_CODES[i % len(L2_CODES)]) for i in range(len(prefectures))]
    prefectures["degurba_l2"] = prefecture_l2
    prefectures["degurba_l1"] = [_l1(v) for v in prefecture_l2]
    prefectures["degurba_weights"] = pd.Series("area", index=prefectures.index, dtype="string")
    hangzhou = planned.prefectures.loc[planned.prefectures["name"] == "杭州市"].total_bounds
    return {"prefectures": prefectures, "counties": counties, "degurba_grid": synthetic_grid(tuple(hangzhou))}


def embedded_payload(page: str) -> tuple[dict, dict]:
    """``(config, units)``: the first two JSON arguments of ``GisMap.init`` in a rendered page
    (view labels, colours and years; the units FeatureCollection with classes ``k``, texts
    ``t``, tooltip ``tip`` and popup ``pop`` rows)."""
    import json

    call = page[page.index("GisMap.init(") :]
    decoder = json.JSONDecoder()
    start = call.index(", ") + 2
    config, end = decoder.raw_decode(call, start)
    units, _ = decoder.raw_decode(call, end + 2)
    return config, resolve_strings(config, units)


def resolve_strings(config: dict, units: dict) -> dict:
    """``units`` with the texts of ``t``, ``tip`` and ``pop`` looked up in the page's string
    table (``config["strings"]``), as the page's script does."""
    strings = config.get("strings", [])
    for feature in units["features"]:
        props = feature["properties"]
        props["t"] = [[strings[i] for i in years] for years in props["t"]]
        props["tip"] = [[strings[label], strings[text]] for label, text in props["tip"]]
        props["pop"] = [[strings[label], year, strings[text], missing] for label, year, text, missing in props["pop"]]
    return units
