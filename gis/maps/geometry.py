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


#: Layers of at least this many vertices have their simplification stored in the user's cache
#: (:mod:`gis._cache`, ``map_geometry``): a country's counties, prefectures and provinces
#: take some 30 s to simplify and are the same on every build.
STORE_MIN_VERTICES = 50_000
#: Stored simplifications kept, the most recently used (a national build uses 36).
STORE_KEEP = 200
#: Bump when simplification or its stored form changes: older entries are then not found.
_STORE_FORMAT = 1


def simplify_coverage(geometries: np.ndarray, tolerance: float) -> np.ndarray:
    """Simplify polygons that share borders, keeping shared borders identical.

    ``geometries`` are shapely polygons in degrees; ``tolerance`` is in degrees. Missing
    geometries stay missing. Needs shapely >= 2.1; with an older shapely the geometries are
    returned unsimplified rather than simplified one by one, which would open gaps.

    Large layers are read from the user's cache when an earlier run simplified the very same
    geometries (keyed by their WKB, the tolerance and the GEOS and shapely versions), else
    simplified and stored there (as WKB, so the result read back is exactly the one made).
    """
    geometries = np.asarray(geometries, dtype=object)
    present = ~shapely.is_missing(geometries) & ~shapely.is_empty(geometries)
    if not hasattr(shapely, "coverage_simplify") or not present.any():
        return geometries
    key = None
    if int(shapely.get_num_coordinates(geometries[present]).sum()) >= STORE_MIN_VERTICES:
        from gis._cache import geometry_key

        key = geometry_key("coverage_simplify", _STORE_FORMAT, float(tolerance), shapely.geos_version_string,
                           shapely.__version__, geometries=geometries)
        stored = _read_simplified(key, len(geometries))
        if stored is not None:
            return stored
    result = geometries.copy()
    result[present] = shapely.coverage_simplify(geometries[present], tolerance)
    if key is not None:
        _store_simplified(key, result)
    return result


def _read_simplified(key: str, count: int) -> np.ndarray | None:
    """The geometries stored under ``key``, or None if absent, damaged or of another length."""
    from gis._cache import read_arrays

    stored = read_arrays("map_geometry", key)
    if stored is None or set(stored) != {"wkb", "ends", "missing"} or len(stored["ends"]) != count:
        return None
    data, ends = stored["wkb"].tobytes(), stored["ends"].tolist()
    starts = [0, *ends[:-1]]
    items = [None if gap else data[start:end] for start, end, gap in zip(starts, ends, stored["missing"].tolist())]
    try:
        return shapely.from_wkb(np.asarray(items, dtype=object))
    except (shapely.errors.GEOSException, ValueError):
        return None


def _store_simplified(key: str, geometries: np.ndarray) -> None:
    """Store ``geometries`` as concatenated WKB: geometry ``i`` ends at byte ``ends[i]``;
    ``missing[i]`` marks a missing one (no bytes)."""
    from gis._cache import write_arrays

    wkb = shapely.to_wkb(geometries)
    missing = np.asarray([item is None for item in wkb], dtype=bool)
    ends = np.cumsum([0 if item is None else len(item) for item in wkb], dtype=np.int64)
    data = np.frombuffer(b"".join(item for item in wkb if item is not None), dtype=np.uint8)
    write_arrays("map_geometry", key, STORE_KEEP, wkb=data, ends=ends, missing=missing)


def to_display_crs(geometries: np.ndarray, basemap: str) -> np.ndarray:
    """Geometries in the datum of the basemap's tiles: GCJ-02 for AMap, else WGS-84."""
    if basemap == "amap":
        return geometries_wgs84_to_gcj02(geometries)
    return geometries


def geojson_geometries(geometries, decimals: int = COORDINATE_DECIMALS) -> list[dict | None]:
    """GeoJSON geometry dicts of ``geometries`` with coordinates rounded to ``decimals``; None
    for a geometry of which nothing is left.

    Polygons and multipolygons only (administrative units, grid patches); other geometries give
    None. Rounding can repeat a vertex: repeats are dropped, then a ring of fewer than 4 points
    is dropped, a polygon with it if it is the shell. One polygon left is a ``Polygon``, several
    a ``MultiPolygon``. Done for the whole array at once in NumPy (a national page has some
    two million vertices); the coordinates become Python lists in one call.
    """
    geometries = np.asarray(geometries, dtype=object).ravel()
    result: list[dict | None] = [None] * len(geometries)
    polygonal = np.isin(shapely.get_type_id(geometries), (3, 6)) & ~shapely.is_empty(geometries)
    if not polygonal.any():
        return result
    parts, part_owner = shapely.get_parts(geometries[polygonal], return_index=True)
    part_owner = np.flatnonzero(polygonal)[part_owner]
    parts_kept = ~shapely.is_empty(parts)  # an empty part of a multipolygon has no ring
    parts, part_owner = parts[parts_kept], part_owner[parts_kept]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coordinates, coordinate_ring = shapely.get_coordinates(rings, return_index=True)
    points = np.round(coordinates, decimals)
    # A point is kept unless it repeats the point before it in the same ring.
    keep = np.ones(len(points), dtype=bool)
    keep[1:] = np.any(points[1:] != points[:-1], axis=1) | (coordinate_ring[1:] != coordinate_ring[:-1])
    ring_sizes = np.bincount(coordinate_ring[keep], minlength=len(rings))
    ring_starts = np.concatenate([[0], np.cumsum(ring_sizes)])
    is_shell = np.ones(len(rings), dtype=bool)
    is_shell[1:] = ring_part[1:] != ring_part[:-1]
    shell_kept = np.zeros(len(parts), dtype=bool)
    shell_kept[ring_part[is_shell]] = ring_sizes[is_shell] >= 4
    ring_kept = (ring_sizes >= 4) & shell_kept[ring_part]
    flat = points[keep].tolist()
    starts, ring_part_of, owner_of = ring_starts.tolist(), ring_part.tolist(), part_owner.tolist()
    polygons: list[list] = [[] for _ in range(len(parts))]
    for ring in np.flatnonzero(ring_kept).tolist():
        polygons[ring_part_of[ring]].append(flat[starts[ring]:starts[ring + 1]])
    owned: dict[int, list] = {}
    for part in np.flatnonzero(shell_kept).tolist():
        owned.setdefault(owner_of[part], []).append(polygons[part])
    for owner, found in owned.items():
        result[owner] = ({"type": "Polygon", "coordinates": found[0]} if len(found) == 1
                         else {"type": "MultiPolygon", "coordinates": found})
    return result


def geojson_geometry(geometry, decimals: int = COORDINATE_DECIMALS) -> dict | None:
    """GeoJSON geometry dict of one geometry (see :func:`geojson_geometries`)."""
    if geometry is None:
        return None
    return geojson_geometries(np.asarray([geometry], dtype=object), decimals)[0]


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
