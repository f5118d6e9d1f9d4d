"""GCJ-02 <-> WGS-84: published vectors, an independent scalar reference, round trips."""

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.units.coords import (
    gcj02_to_wgs84,
    geometries_gcj02_to_wgs84,
    geometries_wgs84_to_gcj02,
    outside_china,
    wgs84_to_gcj02,
)

# (wgs lat, wgs lon, gcj lat, gcj lon): the eviltransform project's published test vectors.
EVILTRANSFORM_VECTORS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def reference_wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The forward GCJ-02 formula written out with scalar math, independently of gis.coords."""
    if lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271:
        return lon, lat
    a, ee = 6378245.0, 0.00669342162296594323
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    d_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    d_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    d_lon += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    d_lon += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    d_lon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * math.pi
    magic = 1 - ee * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((a * (1 - ee)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (a / sqrt_magic * math.cos(rad_lat) * math.pi)
    return lon + d_lon, lat + d_lat


@pytest.mark.parametrize("wgs_lat, wgs_lon, gcj_lat, gcj_lon", EVILTRANSFORM_VECTORS)
def test_forward_matches_published_vectors(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lon, lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    assert lon == pytest.approx(gcj_lon, abs=1e-9)
    assert lat == pytest.approx(gcj_lat, abs=1e-9)


@pytest.mark.parametrize("wgs_lat, wgs_lon, gcj_lat, gcj_lon", EVILTRANSFORM_VECTORS)
def test_inverse_recovers_published_wgs84(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lon, lat = gcj02_to_wgs84(gcj_lon, gcj_lat)
    # 1e-7 degrees is about 1 cm.
    assert lon == pytest.approx(wgs_lon, abs=1e-7)
    assert lat == pytest.approx(wgs_lat, abs=1e-7)


china_lon = st.floats(min_value=73.0, max_value=135.0)
china_lat = st.floats(min_value=18.0, max_value=53.5)


@settings(max_examples=300, deadline=None)
@given(lon=china_lon, lat=china_lat)
def test_inverse_then_independent_forward_returns_input(lon, lat):
    """The acceptance check: forward GCJ-02 applied to our WGS-84 result gives the input back."""
    wgs_lon, wgs_lat = gcj02_to_wgs84(lon, lat)
    back_lon, back_lat = reference_wgs84_to_gcj02(float(wgs_lon), float(wgs_lat))
    assert abs(back_lon - lon) < 1e-7 and abs(back_lat - lat) < 1e-7


def test_inverse_is_accurate_to_half_a_metre_everywhere_in_china():
    lon, lat = np.meshgrid(np.linspace(73, 135, 300), np.linspace(18, 53.5, 200))
    wgs_lon, wgs_lat = gcj02_to_wgs84(lon, lat)
    back_lon, back_lat = wgs84_to_gcj02(wgs_lon, wgs_lat)
    metres_per_degree = 111_320.0
    error_m = np.hypot((back_lon - lon) * np.cos(np.radians(lat)), back_lat - lat) * metres_per_degree
    assert error_m.max() < 0.5
    assert error_m.max() < 1e-3  # in practice far better than required


def test_offset_in_hangzhou_is_a_few_hundred_metres():
    # ZHEJIANG.md: about 260 m north-south and 450 m east-west in Hangzhou.
    lon, lat = 120.16, 30.27
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    east_m = (gcj_lon - lon) * 111_320 * math.cos(math.radians(lat))
    north_m = (gcj_lat - lat) * 110_574
    assert 350 < abs(east_m) < 550
    assert 150 < abs(north_m) < 350


def test_outside_china_is_unchanged():
    lon = np.array([2.35, -74.0, 151.2])
    lat = np.array([48.85, 40.7, -33.9])
    assert outside_china(lon, lat).all()
    np.testing.assert_array_equal(gcj02_to_wgs84(lon, lat), (lon, lat))


def test_geometry_conversion_keeps_shared_vertices_identical():
    # Two squares sharing an edge; converting them separately must give the same edge.
    left = shapely.box(120.0, 30.0, 120.1, 30.1)
    right = shapely.box(120.1, 30.0, 120.2, 30.1)
    converted_left = geometries_gcj02_to_wgs84(np.array([left]))[0]
    converted_right = geometries_gcj02_to_wgs84(np.array([right, shapely.box(0, 0, 1, 1)]))[0]
    shared = {tuple(c) for c in shapely.get_coordinates(converted_left)} & {
        tuple(c) for c in shapely.get_coordinates(converted_right)
    }
    assert len(shared) == 2
    assert converted_left.intersection(converted_right).area == 0.0


def test_geometry_round_trip():
    polygon = shapely.Polygon([(120.1, 30.2), (120.3, 30.2), (120.2, 30.4)])
    there_and_back = geometries_wgs84_to_gcj02(geometries_gcj02_to_wgs84(np.array([polygon])))[0]
    np.testing.assert_allclose(
        shapely.get_coordinates(there_and_back), shapely.get_coordinates(polygon), atol=1e-9
    )
