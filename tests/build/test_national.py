"""`gis build --province all`: every province's units, the Degree of Urbanisation of every
county (official grid, census weights), one GeoPackage, a national overview map and one county
map per province.

Slow (about five minutes on two cores): the whole country's 1 km grid is sampled.
"""

from __future__ import annotations

import pyogrio
import pytest
from click.testing import CliRunner

from gis.cli import main
from gis.units.boundaries import province_codes, province_slug

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("china")
    result = CliRunner().invoke(main, ["build", "--province", "all", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def test_every_unit_of_every_province_with_its_class(national):
    out, _ = national
    gpkg = out / "china.gpkg"
    counts = {layer: pyogrio.read_info(gpkg, layer=layer)["features"] for layer in ("province", "prefectures", "counties")}
    assert counts == {"province": 34, "prefectures": 370, "counties": 2875}
    counties = pyogrio.read_dataframe(gpkg, layer="counties", read_geometry=False)
    assert counties["adcode"].is_unique and set(counties["province_adcode"]) == set(province_codes())
    assert counties["degurba_l2"].notna().all() and set(counties["degurba_weights"]) == {"census_dasymetric"}
    # Every province's census total is spread over its counties (the 2 000 000 servicemen belong
    # to no province): 31 provinces + 香港, 澳门, 台湾.
    assert counties["population_2020"].sum() == pytest.approx(1_409_778_724 + 7_474_200 + 683_218 + 23_561_236)
    density = pyogrio.read_dataframe(gpkg, layer="degurba_class_density")
    assert len(density) == 34 * 11 and density["density_fitted"].between(density["density_lower"], density["density_upper"]).all()
    # Deeper urban-centre bands are at least as dense, in every province.
    bands = density[density["degurba_l2"] == 30]
    assert (bands.groupby("region_adcode")["density_fitted"].diff().dropna() >= -1e-6).all()
    assert set(counties["degurba_l2"]) <= {30, 23, 22, 21, 13, 12, 11}
    # Big cities' central districts are cities, the Tibetan plateau is mostly uninhabited.
    by_code = counties.set_index("adcode")
    assert by_code.loc["110101", "degurba_l1"] == 3  # 东城区, Beijing
    assert by_code.loc["310101", "degurba_l1"] == 3  # 黄浦区, Shanghai
    # 日土县 (Ngari): rural; with census weights its ~10 000 people live in its few denser cells
    # (西藏's very-low-density class is fitted at 0/km², see README), so a village rather than 11.
    assert by_code.loc["542524", "degurba_l1"] == 1


def test_zhejiang_is_the_same_in_the_national_build(national, built_zhejiang):
    out, _ = national
    columns = ["adcode", "degurba_l1", "degurba_l2", "share_urban_centre", "area_km2", "population_2020", "degurba_l1_stable"]
    whole = pyogrio.read_dataframe(out / "china.gpkg", layer="counties", read_geometry=False)
    whole = whole.loc[whole["province_adcode"] == "330000", columns].set_index("adcode").sort_index()
    alone = pyogrio.read_dataframe(built_zhejiang[0] / "zhejiang.gpkg", layer="counties", read_geometry=False)
    alone = alone[columns].set_index("adcode").sort_index()
    # One fit per province: Zhejiang's densities, classes and stability are its own in both.
    assert (whole[["degurba_l1", "degurba_l2", "degurba_l1_stable"]] == alone[["degurba_l1", "degurba_l2", "degurba_l1_stable"]]).all().all()
    assert ((whole["population_2020"] - alone["population_2020"]).abs() < 1e-3).all()
    assert ((whole["share_urban_centre"] - alone["share_urban_centre"]).abs() < 1e-9).all()


def test_what_the_data_has_and_lacks_is_reported(national):
    out, result = national
    report = (out / "china_coverage.txt").read_text(encoding="utf-8")
    assert f"wrote {out / 'china_coverage.txt'}" in result.output
    assert "34 provinces, 370 prefecture-level and 2875 county-level units" in report
    assert "台湾省 710000: the data has no subdivisions" in report
    assert "香港特别行政区 810000: 18 districts with AMap's codes" in report
    assert "澳门特别行政区 820000: 8 districts" in report
    assert "东莞市 441900" in report  # a city without districts, at both levels
    assert "三沙市 460300" in report  # the South China Sea islands, in many parts


def test_national_overview_and_one_county_map_per_province_within_budget(national):
    out, _ = national
    maps = out / "maps"
    overview = maps / "prefecture_degurba.html"
    assert overview.stat().st_size < 3_000_000
    assert "全国地级市城市化程度" in overview.read_text(encoding="utf-8")
    index = (maps / "index.html").read_text(encoding="utf-8")
    for code in province_codes():
        page = maps / f"county_degurba_{province_slug(code)}.html"
        assert page.stat().st_size < 3_000_000, page.name
        assert f'href="{page.name}"' in index
    assert "浙江省县（市、区）城市化程度" in (maps / "county_degurba_zhejiang.html").read_text(encoding="utf-8")
    assert not (maps / "county_degurba.html").exists()


def test_national_maps_follow_the_china_map_standard_and_speak_once(national):
    import re

    out, result = national
    maps = out / "maps"
    # One console line per kind of skipped map (34 province pages each), not one per page.
    skipped = [line for line in result.output.splitlines() if "map skipped" in line]
    assert 0 < len(skipped) <= 7, skipped
    assert any(re.search(r"county_income_gap\.toml: 34 pages .*map skipped", line) for line in skipped)
    # The census pages are skipped only where the county tabulations do not reach.
    census = [line for line in skipped if "_census_" in line]
    assert len(census) == 3 and all("3 pages (county_census_" in line and "taiwan" in line and "macao" in line
                                    for line in census), census
    overview = (maps / "prefecture_degurba.html").read_text(encoding="utf-8")
    assert '"label_zh":"南海诸岛"' in overview and "示意图" in overview
    anhui = (maps / "county_degurba_anhui.html").read_text(encoding="utf-8")
    assert "山区26县" not in anhui and "嘉湖" not in anhui and '"standard":null' in anhui
    assert '"label_zh":"南海诸岛"' in (maps / "county_degurba_hainan.html").read_text(encoding="utf-8")
    index = (maps / "index.html").read_text(encoding="utf-8")
    hrefs = set(re.findall(r'"href":"([^"]+)"', index))
    assert len(hrefs) == 34 and all((maps / href).is_file() for href in hrefs)
    assert len(index.encode("utf-8")) < 3_000_000
    line = pyogrio.read_info(out / "china.gpkg", layer="maritime_line")
    assert line["geometry_type"] == "MultiLineString" and line["features"] == 1
