"""2020 census resident population (gis/data/census/): checked against itself and the boundary index.

Every figure in the file is tied into a sum that a published total fixes, so a mistyped digit
anywhere fails a test here: counties add up to their prefecture, prefectures to their province,
the 31 provinces (plus the 2 000 000 active servicemen) to the national 1 411 778 724, and that
plus Hong Kong, Macao and Taiwan to the 1 443 497 378 of communiqué No. 2.
"""

from pathlib import Path

import pandas as pd
import pytest

from gis.units.boundaries import _index

DATA = Path(__file__).resolve().parents[2] / "gis" / "data" / "census"
COLUMNS = ["adcode", "name", "level", "year", "indicator", "value", "unit", "source"]
HMT = {"710000", "810000", "820000"}
MUNICIPALITIES = {"110000": "110100", "120000": "120100", "310000": "310100", "500000": "500000"}

#: 第七次全国人口普查公报（第二号）: 31 provinces + active servicemen, and the total with HK/Macao/Taiwan.
MAINLAND_WITH_MILITARY = 1_411_778_724
MILITARY = 2_000_000
NATIONAL_TOTAL = 1_443_497_378
#: Zhejiang's 2020 census communiqué (shared/reference/ZHEJIANG.md).
ZHEJIANG_TOTAL = 64_567_588
ZHEJIANG_PREFECTURES = {
    "330100": 11_936_010, "330200": 9_404_283, "330300": 9_572_903, "330400": 5_400_868,
    "330500": 3_367_579, "330600": 5_270_977, "330700": 7_050_683, "330800": 2_276_184,
    "330900": 1_157_817, "331000": 6_622_888, "331100": 2_507_396,
}


@pytest.fixture(scope="module")
def census():
    return pd.read_csv(DATA / "population_2020.csv", dtype={"adcode": str}, encoding="utf-8")


@pytest.fixture(scope="module")
def other():
    return pd.read_csv(
        DATA / "population_2020_other.csv", dtype={"within_adcode": str, "prefecture_adcode": str}
    )


@pytest.fixture(scope="module")
def index():
    return _index()


def figures(census, level):
    rows = census[census["level"] == level]
    return dict(zip(rows["adcode"], rows["value"].astype(int)))


def county_prefecture(index):
    """{county adcode: prefecture adcode} for every county row of the index."""
    prefectures = index[index["level"] == "prefecture"]
    by_name = {(r.province, r.city): r.adcode for r in prefectures.itertuples()}
    counties = index[index["level"] == "county"]
    return {r.adcode: by_name[(r.province, r.city)] for r in counties.itertuples()}


def test_file_form(census):
    raw = (DATA / "population_2020.csv").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf"), "UTF-8 without BOM"
    assert list(census.columns[: len(COLUMNS)]) == COLUMNS
    assert set(census["level"]) == {"province", "prefecture", "county"}
    assert (census["indicator"] == "resident_population").all()
    assert (census["unit"] == "persons").all()
    assert (census["year"] == 2020).all()
    assert census["source"].notna().all() and (census["source"].str.strip() != "").all()
    assert census["adcode"].str.fullmatch(r"\d{6}").all()


def test_values_are_positive_integers(census):
    text = pd.read_csv(DATA / "population_2020.csv", dtype=str)["value"]
    assert text.str.fullmatch(r"[1-9]\d*").all(), "plain integers, no decimals or separators"
    assert (census["value"] > 0).all()


def test_no_duplicate_unit(census):
    assert not census.duplicated(["adcode", "level"]).any()
    # An adcode may stand at two levels only for a whole-province unit that the index also draws
    # as its single prefecture (the municipalities and HK/Macao/Taiwan), with the same figure.
    twice = census[census.duplicated("adcode", keep=False)]
    assert set(twice["adcode"]) <= set(MUNICIPALITIES.values()) | HMT
    assert (twice.groupby("adcode")["value"].nunique() == 1).all()


def test_every_unit_is_in_the_index_at_its_level_with_its_name(census, index):
    names = {(r.adcode, r.level): {r.province, r.city, r.district} for r in index.itertuples()}
    missing = [
        (r.adcode, r.level, r.name) for r in census.itertuples()
        if (r.adcode, r.level) not in names or r.name not in names[(r.adcode, r.level)]
    ]
    assert not missing


def test_provinces_sum_to_the_national_total(census, index):
    provinces = figures(census, "province")
    assert set(provinces) == set(index.loc[index["level"] == "province", "adcode"])
    mainland = {a: v for a, v in provinces.items() if a not in HMT}
    assert len(mainland) == 31
    # 1 411 778 724 includes the 2 000 000 active servicemen, who belong to no province.
    assert sum(mainland.values()) == MAINLAND_WITH_MILITARY - MILITARY == 1_409_778_724
    assert sum(mainland.values()) + MILITARY + sum(provinces[a] for a in HMT) == NATIONAL_TOTAL


def test_spot_values(census):
    provinces = figures(census, "province")
    assert provinces["330000"] == ZHEJIANG_TOTAL
    assert provinces["440000"] == 126_012_510
    assert provinces["540000"] == 3_648_100
    assert (provinces["810000"], provinces["820000"], provinces["710000"]) == (7_474_200, 683_218, 23_561_236)
    counties = figures(census, "county")
    assert counties["330102"] == 1_323_467  # 上城区 on the 2021 boundaries
    assert counties["330114"] == 769_150  # 钱塘区


def test_every_prefecture_of_the_index_has_a_figure(census, index):
    prefectures = figures(census, "prefecture")
    assert set(prefectures) == set(index.loc[index["level"] == "prefecture", "adcode"])


def test_prefectures_sum_to_their_province(census, index):
    provinces = figures(census, "province")
    prefectures = figures(census, "prefecture")
    index_prefectures = index[index["level"] == "prefecture"]
    complete, incomplete = [], []
    for province, value in provinces.items():
        children = [a for a in index_prefectures["adcode"] if a[:2] == province[:2]]
        if not all(a in prefectures for a in children):
            incomplete.append(province)
            continue
        assert sum(prefectures[a] for a in children) == value, province
        complete.append(province)
    print(f"provinces whose prefectures are all present and add up: {len(complete)}; incomplete: {incomplete}")
    assert not incomplete
    for province, prefecture in MUNICIPALITIES.items():
        assert prefectures[prefecture] == provinces[province]


def test_zhejiang_prefectures(census):
    prefectures = figures(census, "prefecture")
    assert {a: prefectures[a] for a in ZHEJIANG_PREFECTURES} == ZHEJIANG_PREFECTURES
    assert sum(ZHEJIANG_PREFECTURES.values()) == ZHEJIANG_TOTAL


def test_all_90_zhejiang_counties_on_current_boundaries(census, index):
    zhejiang = set(index.loc[(index["level"] == "county") & (index["adcode"].str[:2] == "33"), "adcode"])
    assert len(zhejiang) == 90
    counties = figures(census, "county")
    assert zhejiang <= set(counties)
    hangzhou = {a for a in counties if a.startswith("3301")}
    assert {"330113", "330114"} <= hangzhou and not {"330103", "330104"} & hangzhou  # 临平/钱塘, not 下城/江干


def test_counties_sum_to_their_prefecture(census, other, index):
    """Wherever every county of a prefecture has a figure, counties + listed zones = prefecture."""
    counties = figures(census, "county")
    prefectures = figures(census, "prefecture")
    parent = county_prefecture(index)
    zones = other.groupby("prefecture_adcode")["value"].sum().to_dict()
    children = {}
    for county, prefecture in parent.items():
        if county in prefectures or prefecture in HMT:
            continue  # 省直辖 units are prefecture rows; HK/Macao/Taiwan districts are not covered
        children.setdefault(prefecture, []).append(county)
    complete = [p for p, cs in children.items() if all(c in counties for c in cs)]
    for prefecture in complete:
        total = sum(counties[c] for c in children[prefecture]) + zones.get(prefecture, 0)
        assert total == prefectures[prefecture], prefecture
    partial = [p for p, cs in children.items() if any(c in counties for c in cs) and p not in complete]
    assert not partial, "a prefecture's counties are either all present or all absent"
    assert set(ZHEJIANG_PREFECTURES) <= set(complete)
    print(f"prefectures with every county: {len(complete)} of {len(children)}")


def test_listed_zones_lie_in_a_county_with_a_figure(census, other, index):
    counties = figures(census, "county")
    parent = county_prefecture(index)
    assert (other["value"] > 0).all() and other["source"].str.strip().ne("").all()
    for zone in other.itertuples():
        assert zone.within_adcode in counties
        assert parent[zone.within_adcode] == zone.prefecture_adcode
    # 杭州: 13 districts + 西湖风景名胜区 = 11 936 010 (the 2021 districts of the city communiqué).
    hangzhou = [c for c, p in parent.items() if p == "330100"]
    assert sum(counties[c] for c in hangzhou) == 11_936_010 - 23_763
