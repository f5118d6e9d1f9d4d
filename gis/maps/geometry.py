"""Geometry for web maps: simplified once as a coverage, rounded, written as GeoJSON.

Input frames are WGS-84 (EPSG:4326, degrees). Borders are simplified with
:func:`shapely.coverage_simplify` on the whole layer at once, so an edge shared by two
counties is simplified once and both counties keep exactly the same vertices: no slivers or
gaps appear between neighbours. Rounding to 5 decimals (about 1 m) is far below what the
map's zoom range can show and rounds a shared vertex identically on both sides.
"""

from __future__ import annotations

import numpy as np
import shapely

from gis.units.coords import geometries_wgs84_to_gcj02

#: Simplification tolerance in degrees (~100 m at 30°N): finer than a pixel up to zoom 10,
#: the level at which a whole county fills the screen.
UNIT_TOLERANCE_DEG = 0.001
#: 5 decimals of a degree is about 1 m: more than any zoom level of these maps resolves.
COORDINATE_DECIMALS = 5
#: A map's tolerance is at least its extent over this many steps, so a large province keeps
#: about a pixel's detail at the zoom that shows it whole.
EXTENT_STEPS = 6000
#: Maps wider than this (several provinces, the whole country) are overviews ...
OVERVIEW_EXTENT_DEG = 20.0
#: ... drawn at 0.02° (~2 km, a pixel at zoom 6): 370 prefectures then fit the size budget.
OVERVIEW_TOLERANCE_DEG = 0.02


def tolerance_for(geometries: np.ndarray) -> tuple[float, int]:
    """Simplification tolerance (degrees) and coordinate decimals for a layer's extent.

    A province gets :data:`UNIT_TOLERANCE_DEG` (or its extent / :data:`EXTENT_STEPS`) and
    :data:`COORDINATE_DECIMALS`; a national overview :data:`OVERVIEW_TOLERANCE_DEG` and two
    decimals more than its tolerance needs.
    """
    west, south, east, north = shapely.total_bounds(np.asarray(geometries, dtype=object))
    extent = max(east - west, north - south)
    if not np.isfinite(extent):
        return UNIT_TOLERANCE_DEG, COORDINATE_DECIMALS
    tolerance = max(UNIT_TOLERANCE_DEG, extent / EXTENT_STEPS)
    if extent > OVERVIEW_EXTENT_DEG:
        tolerance = max(tolerance, OVERVIEW_TOLERANCE_DEG)
    decimals = min(COORDINATE_DECIMALS, int(np.ceil(-np.log10(tolerance))) + 2)
    return tolerance, decimals


def simplify_coverage(geometries: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons that share borders, keeping shared borders identical.

    ``geometries`` are shapely polygons in degrees; ``tolerance`` is in degrees. Missing
    geometries stay missing. Needs shapely >= 2.1; with an older shapely the geometries are
    returned unsimplified rather than simplified one by one, which would open gaps.
    """
    geometries = np.asarray(geometries, dtype=object)
    present = ~shapely.is_missing(geometries) & ~shapely.is_empty(geometries)
    if not hasattr(shapely, "coverage_simplify") or not present.any():
        return geometries
    result = geometries.copy()
    result[present] = shapely.coverage_simplify(geometries[present], tolerance)
    return result


def to_display_crs(geometries: np.ndarray, basemap: str) -> np.ndarray:
    """Geometries in the datum of the basemap's tiles: GCJ-02 for AMap, else WGS-84."""
    if basemap == "amap":
        return geometries_wgs84_to_gcj02(geometries)
    return geometries


def _ring(coords, decimals: int) -> list | None:
    points = np.round(np.asarray(coords)[:, :2], decimals)
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1)  # rounding can repeat a vertex
    points = points[keep]
    return points.tolist() if len(points) >= 4 else None


def _polygon(polygon, decimals: int) -> list | None:
    shell = _ring(polygon.exterior.coords, decimals)
    if shell is None:
        return None
    holes = [_ring(r.coords, decimals) for r in polygon.interiors]
    return [shell, *[h for h in holes if h is not None]]


def geojson_geometry(geometry, decimals: int = COORDINATE_DECIMALS) -> dict | None:
    """GeoJSON geometry dict with coordinates rounded to ``decimals``; None if nothing is left.

    Polygons and multipolygons only (administrative units, grid patches).
    """
    if geometry is None or geometry.is_empty:
        return None
    parts = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
    polygons = [p for p in (_polygon(g, decimals) for g in parts if g.geom_type == "Polygon") if p]
    if not polygons:
        return None
    if len(polygons) == 1:
        return {"type": "Polygon", "coordinates": polygons[0]}
    return {"type": "MultiPolygon", "coordinates": polygons}


def dissolve(geometries: np.ndarray):
    """Union of coverage polygons (edges shared exactly), e.g. the mountain-26 counties."""
    geometries = [g for g in geometries if g is not None and not g.is_empty]
    if not geometries:
        return None
    return shapely.coverage_union_all(geometries)


def bounds_latlon(geometries: np.ndarray) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of the geometries, as Leaflet's fitBounds wants."""
    west, south, east, north = shapely.total_bounds(np.asarray(geometries, dtype=object))
    return [[round(float(south), 5), round(float(west), 5)], [round(float(north), 5), round(float(east), 5)]]
