"""BD-09 (Baidu) <-> GCJ-02 against published pairs, and round trips."""

import numpy as np
import pytest

from gis.units.coords import bd09_to_gcj02, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84, to_wgs84

# The coordtransform project's README example (wandergis/coordtransform), also pinned by
# hutool's CoordinateUtilTest: (116.404, 39.915) converted each way.
COORDTRANSFORM_BD09_TO_GCJ02 = ((116.404, 39.915), (116.39762729119315, 39.90865673957631))
COORDTRANSFORM_GCJ02_TO_BD09 = ((116.404, 39.915), (116.41036949371029, 39.92133699351021))
# Beijing railway station as published with the R package's bd2gcj example (5 decimals):
# GCJ-02 (116.42703, 39.90245), BD-09 (116.43351, 39.90851).
BEIJING_STATION_GCJ02 = (116.42703, 39.90245)
BEIJING_STATION_BD09 = (116.43351, 39.90851)


def test_bd09_to_gcj02_matches_published_pair():
    (lon, lat), expected = COORDTRANSFORM_BD09_TO_GCJ02
    assert np.allclose(bd09_to_gcj02(lon, lat), expected, atol=1e-12, rtol=0)


def test_gcj02_to_bd09_matches_published_pair():
    (lon, lat), expected = COORDTRANSFORM_GCJ02_TO_BD09
    assert np.allclose(gcj02_to_bd09(lon, lat), expected, atol=1e-12, rtol=0)


def test_beijing_station_both_ways():
    assert np.allclose(gcj02_to_bd09(*BEIJING_STATION_GCJ02), BEIJING_STATION_BD09, atol=1e-5, rtol=0)
    assert np.allclose(bd09_to_gcj02(*BEIJING_STATION_BD09), BEIJING_STATION_GCJ02, atol=1e-5, rtol=0)


def test_round_trip_over_zhejiang_arrays():
    lon, lat = np.meshgrid(np.linspace(118, 123, 11), np.linspace(27, 31.2, 9))
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert back[0].shape == lon.shape
    assert np.abs(back[0] - lon).max() < 2e-6 and np.abs(back[1] - lat).max() < 2e-6


def test_to_wgs84_dispatches():
    lon, lat = np.array([120.15]), np.array([30.28])
    assert np.array_equal(to_wgs84(lon, lat, "wgs84")[0], lon)
    assert np.allclose(to_wgs84(lon, lat, "gcj02"), gcj02_to_wgs84(lon, lat))
    assert np.allclose(to_wgs84(lon, lat, "bd09"), bd09_to_wgs84(lon, lat))
    with pytest.raises(ValueError):
        to_wgs84(lon, lat, "cgcs2000")
