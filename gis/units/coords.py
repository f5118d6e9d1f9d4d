"""Coordinate handling: GCJ-02 ("Mars coordinates") <-> WGS-84, equal-area projections.

Chinese web-map providers (AMap/高德, Tencent) publish geometry in GCJ-02, an obfuscated
datum defined as WGS-84 plus a smooth, non-linear offset of a few hundred metres inside
China. Anything drawn on OSM or Tianditu tiles, stored in a GeoPackage or overlaid on a
GHSL/WorldPop raster must be in WGS-84 first.

The forward formula (WGS-84 -> GCJ-02) is the widely published one (e.g. the
``eviltransform`` and ``coordtransform`` projects). Its inverse has no closed form: we solve
it by fixed-point iteration, which converges because the offset varies by well under 1e-2
degrees per degree. All functions work on whole NumPy arrays at once; there is no Python
loop over points.

A fixed iteration count (not "until converged") keeps each point's result independent of
the other points in the batch, so a vertex shared by two polygons maps to exactly the same
output whether it is converted with one polygon or the other. That is what keeps county
borders shared after conversion.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 formula.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323

# Ten iterations take the inverse error to ~1e-15 degrees (about 1e-10 m); each iteration
# shrinks the error by a factor of roughly 1e-3, so this leaves a wide margin.
_INVERSE_ITERATIONS = 10
# A fixed-point step that moves no point by more than this (degrees, ~1e-8 m) has converged.
_CONVERGED_DEGREES = 1e-13

#: Albers equal-area conic for China (standard parallels 25°N and 47°N, central meridian
#: 105°E, WGS-84 ellipsoid): the projection customarily used for area statistics of Chinese
#: divisions. Area distortion is zero everywhere by construction.
CHINA_ALBERS = CRS.from_proj4(
    "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)


def outside_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """True where a point lies outside the rectangle in which GCJ-02 applies an offset.

    Parameters are longitudes and latitudes in degrees (any array shape). Outside the
    rectangle (lon 72.004–137.8347°E, lat 0.8293–55.8271°N) GCJ-02 equals WGS-84.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _offset_degrees(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS-84 at WGS-84 position (lon, lat), in degrees, as (dlon, dlat)."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    wave_x = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + wave_x
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + wave_x
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = outside_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Forward GCJ-02 transform: WGS-84 degrees -> GCJ-02 degrees (arrays of any shape)."""
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    dlon, dlat = _offset_degrees(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Inverse GCJ-02 transform: GCJ-02 degrees -> WGS-84 degrees (arrays of any shape).

    Solves ``wgs84_to_gcj02(w) == g`` for ``w`` by fixed-point iteration
    ``w <- g - offset(w)``. Applying :func:`wgs84_to_gcj02` to the result returns the input
    to better than 1e-9 degrees (~0.1 mm) everywhere inside China.
    """
    gcj_lon = np.asarray(lon, dtype="float64")
    gcj_lat = np.asarray(lat, dtype="float64")
    wgs_lon, wgs_lat = gcj_lon.copy(), gcj_lat.copy()
    for _ in range(_INVERSE_ITERATIONS):
        dlon, dlat = _offset_degrees(wgs_lon, wgs_lat)
        new_lon, new_lat = gcj_lon - dlon, gcj_lat - dlat
        # Each step shrinks the error ~1000-fold (the offset varies slowly): stop once no
        # point moves, usually after 4 steps instead of all 10.
        change = max(np.max(np.abs(new_lon - wgs_lon), initial=0.0), np.max(np.abs(new_lat - wgs_lat), initial=0.0))
        wgs_lon, wgs_lat = new_lon, new_lat
        if change < _CONVERGED_DEGREES:
            break
    return wgs_lon, wgs_lat


def _xy_function(point_transform):
    """Adapt a (lon, lat) -> (lon, lat) array function to shapely.transform's (N, 2) API."""

    def transform_coords(coords: np.ndarray) -> np.ndarray:
        new_lon, new_lat = point_transform(coords[:, 0], coords[:, 1])
        return np.column_stack([new_lon, new_lat])

    return transform_coords


def geometries_gcj02_to_wgs84(geometries):
    """Convert shapely geometries (an array or GeoSeries' values) from GCJ-02 to WGS-84.

    All vertices of all geometries are converted in one vectorised call.
    """
    return shapely.transform(geometries, _xy_function(gcj02_to_wgs84))


def geometries_wgs84_to_gcj02(geometries):
    """Convert shapely geometries from WGS-84 to GCJ-02 (for maps drawn on AMap tiles)."""
    return shapely.transform(geometries, _xy_function(wgs84_to_gcj02))


# BD-09 (Baidu) is GCJ-02 with a further rotation and shift, in closed form both ways; the
# constants are those published with Baidu's API and reproduced by coordtransform et al.
_BD_X_PI = np.pi * 3000.0 / 180.0


def gcj02_to_bd09(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 degrees -> BD-09 (Baidu) degrees (arrays of any shape)."""
    x = np.asarray(lon, dtype="float64")
    y = np.asarray(lat, dtype="float64")
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 (Baidu) degrees -> GCJ-02 degrees (arrays of any shape; the published inverse,
    good to ~1e-6 degrees — the BD-09 formula itself is only defined to that)."""
    x = np.asarray(lon, dtype="float64") - 0.0065
    y = np.asarray(lat, dtype="float64") - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def bd09_to_wgs84(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 (Baidu) degrees -> WGS-84 degrees, through GCJ-02."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def to_wgs84(lon, lat, coords: str) -> tuple[np.ndarray, np.ndarray]:
    """Points in ``coords`` (``"wgs84"``, ``"gcj02"`` or ``"bd09"``) as WGS-84 degrees."""
    if coords == "wgs84":
        return np.asarray(lon, dtype="float64"), np.asarray(lat, dtype="float64")
    if coords == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if coords == "bd09":
        return bd09_to_wgs84(lon, lat)
    raise ValueError(f"coords {coords!r}: expected 'wgs84', 'gcj02' or 'bd09'")
