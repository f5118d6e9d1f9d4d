"""Seed indicators and planning groups: transcribed exactly, every row sourced."""

import re
from pathlib import Path

import pytest

from gis.tables.indicators import registry, seed_indicators, to_wide, units
from gis.units.planning import add_planning_attributes, planning_groups

SEED_004 = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "004_eb03ad300be3fd17.txt"
PREFECTURE_ORDER = ["杭州", "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水"]


@pytest.fixture(scope="module")
def seed():
    return seed_indicators("330000")


def value(seed, name, indicator, year):
    rows = seed[(seed["name"] == name) & (seed["indicator"] == indicator) & (seed["year"] == year)]
    assert len(rows) == 1, (name, indicator, year)
    return rows["value"].iloc[0]


def test_spot_cells_of_table_3(seed):
    assert value(seed, "丽水市", "income_ratio", 2000) == 3.57
    assert value(seed, "金华市", "income_ratio", 2020) == 2.03
    assert value(seed, "金华市", "income_gap", 2020) == 31180
    assert value(seed, "温州市", "income_gap", 2005) == 12960
    assert value(seed, "舟山市", "income_ratio", 2010) == 1.84
    assert value(seed, "杭州市", "income_gap", 2015) == 22597


def test_spot_cells_of_tables_1_and_4_and_census(seed):
    assert value(seed, "浙江省", "rural_income", 2021) == 35247
    assert value(seed, "浙江省", "urban_property_income", 2021) == 9765
    assert value(seed, "浙江省", "rural_consumption_growth", 2021) == 17.9
    assert value(seed, "浙江省", "share_aged_60plus_rural", 2020) == 28.27
    assert value(seed, "浙江省", "population_aged_65plus_urban", 2020) == 481.09
    assert value(seed, "浙江省", "resident_population", 2020) == 64_567_588
    assert value(seed, "浙江省", "share_aged_65plus", 2020) == 13.27


@pytest.mark.skipif(not SEED_004.exists(), reason=f"seed text not found at {SEED_004}")
def test_table_3_matches_the_seed_text_cell_for_cell(seed):
    """Parse 表 3 out of the seed document and compare all 110 cells."""
    text = SEED_004.read_text(encoding="utf-8")
    table = text[text.index("表 3 2000—2020 年浙江 11 市城乡居民收入差距") : text.index("资料来源：根据各年度《浙江统计年鉴》")]
    ratio_part, gap_part = table.split("城乡居民收入绝对差距")
    for indicator, part in (("income_ratio", ratio_part), ("income_gap", gap_part)):
        rows = re.findall(r"(\d{4}) 年((?: [\d.]+){11})", part)
        assert [int(year) for year, _ in rows] == [2000, 2005, 2010, 2015, 2020]
        for year, cells in rows:
            for prefecture, cell in zip(PREFECTURE_ORDER, cells.split()):
                assert value(seed, prefecture + "市", indicator, int(year)) == float(cell)


def test_every_row_is_sourced_and_registered(seed):
    assert seed["source"].str.len().gt(10).all()
    known = registry()
    assert set(seed["indicator"]) <= set(known.index)
    # Every row's unit is the registry's unit for that indicator, and a known unit.
    assert (seed["unit"].to_numpy() == known.loc[seed["indicator"], "unit"].to_numpy()).all()
    assert set(known["unit"]) <= set(units().index)
    assert not seed.duplicated(["adcode", "year", "indicator"]).any()


def test_wide_form_has_one_column_per_indicator_year(seed):
    wide = to_wide(seed).set_index("adcode")
    assert wide.loc["330700", "income_ratio_2020"] == 2.03
    assert wide.loc["330000", "share_aged_60plus_2020"] == 18.70
    # Missing stays missing: no prefecture has 2021 incomes in the seeds.
    assert wide.loc["330100", ["rural_income_2021"]].isna().all()


def test_no_seed_data_for_other_provinces():
    """Other provinces have no seed tables; what ships for them is the census tabulations'."""
    assert seed_indicators("320000", census=False).empty
    shipped = seed_indicators("320000")
    assert len(shipped) > 1000 and shipped["source"].str.contains("github.com/leiii/census", regex=False).all()


def test_planning_groups(zhejiang):
    groups = planning_groups("330000")
    assert groups["source"].str.len().gt(10).all()
    attributed = add_planning_attributes(zhejiang)
    counties = attributed.counties.set_index("name")
    assert counties["mountain26"].sum() == 26
    assert counties["pilot_zone"].eq("嘉湖片区").sum() == 12 and counties["pilot_zone"].notna().sum() == 12
    assert counties.loc[["淳安县", "景宁畲族自治县", "柯城区", "龙游县"], "mountain26"].all()
    assert not counties.loc[["上城区", "义乌市", "南湖区"], "mountain26"].any()
    assert set(counties.index[counties["pilot_zone"].notna()]) >= {"南湖区", "安吉县", "德清县", "海宁市"}
    # Names in the data file agree with the boundary data for the same adcode.
    names = zhejiang.counties.set_index("adcode")["name"]
    mountain = groups[groups["grouping"] == "mountain26"]
    assert (mountain["name"].to_numpy() == names.loc[mountain["adcode"]].to_numpy()).all()
    regions = attributed.prefectures.set_index("name")["region"]
    assert regions.value_counts().to_dict() == {"浙东北": 6, "浙西南": 5}
    assert set(counties["economic_region"]) == {"东部"}


def test_every_shipped_membership_names_a_unit_of_the_boundary_index():
    from gis.units.boundaries import load_boundaries
    from gis.units.planning import groupings_table

    national = load_boundaries("all")
    frames = {"province": national.province, "prefecture": national.prefectures, "county": national.counties}
    table = groupings_table()
    for level, rows in table.groupby("level"):
        names = frames[level].set_index("adcode")["name"]
        assert rows["adcode"].isin(names.index).all(), rows[~rows["adcode"].isin(names.index)]
        assert (names.loc[rows["adcode"]].to_numpy() == rows["name"].to_numpy()).all()
    assert table["source"].str.len().gt(20).all()
    # A unit is in one group of a grouping; the four NBS regions cover the 31 mainland provinces.
    assert not table.duplicated(["grouping", "adcode"]).any()
    nbs = table[table["grouping"] == "economic_region"]
    assert len(nbs) == 31 and list(dict.fromkeys(nbs["group"])) == ["东部", "中部", "西部", "东北"]


def test_jiangsu_and_sichuan_carry_only_their_own_groupings(jiangsu):
    from gis.units.boundaries import load_boundaries

    counties = add_planning_attributes(jiangsu).counties
    assert "mountain26" not in counties.columns  # Zhejiang's 山区26县: no column at all
    assert counties["region"].value_counts().to_dict() == {"苏南": 39, "苏北": 37, "苏中": 19}
    assert set(counties.loc[counties["pilot_zone"].notna(), "name"]) == {"溧阳市", "金坛区"}
    assert not counties["pilot_zone"].isin(["嘉湖片区"]).any()
    sichuan = add_planning_attributes(load_boundaries("510000"))
    for frame in (sichuan.counties, sichuan.prefectures):
        assert {"mountain26", "pilot_zone"}.isdisjoint(frame.columns)
        assert set(frame["economic_region"]) == {"西部"}
        assert frame["region"].notna().all()  # 四川五大经济区 cover all 21 市州
    assert sichuan.prefectures["region"].value_counts().to_dict() == {
        "成都平原经济区": 8, "川东北经济区": 5, "川南经济区": 4, "攀西经济区": 2, "川西北生态示范区": 2}


def test_fujian_henan_and_shandong_pilot_zones_as_their_sources_name_them():
    from gis.units.boundaries import load_boundaries
    from gis.units.planning import group_order, groupings_table

    # 福州东部片区: eight units of 福州市 (平潭县 for 平潭综合实验区) and 宁德市霞浦县, all whole.
    fujian = add_planning_attributes(load_boundaries("350000"))
    zone = fujian.counties[fujian.counties["pilot_zone"].notna()]
    assert set(zone["name"]) == {"仓山区", "长乐区", "马尾区", "福清市", "闽侯县", "连江县", "罗源县", "平潭县", "霞浦县"}
    assert set(zone["pilot_zone"]) == {"福州东部片区"}
    assert "pilot_zone_partial" not in fujian.counties.columns  # no county only partly in it
    assert not fujian.counties.set_index("name").loc[["鼓楼区", "晋安区", "永泰县", "蕉城区"], "pilot_zone"].notna().any()
    prefectures = fujian.prefectures.set_index("name")
    assert prefectures.loc[["福州市", "宁德市"], "pilot_zone_partial"].all()  # some of their counties only
    # 许昌: the whole prefecture, so each of its six counties.
    henan = add_planning_attributes(load_boundaries("410000"))
    xuchang = henan.counties[henan.counties["pilot_zone"].notna()]
    assert len(xuchang) == 6 and set(xuchang["prefecture_adcode"]) == {"411000"} and set(xuchang["pilot_zone"]) == {"许昌"}
    assert henan.prefectures.set_index("name").loc["许昌市", "pilot_zone"] == "许昌"
    assert "pilot_zone_partial" not in henan.prefectures.columns
    # 济青局部片区: only the two districts a source names; marked incomplete, 青岛 not guessed.
    shandong = add_planning_attributes(load_boundaries("370000"))
    assert set(shandong.counties.loc[shandong.counties["pilot_zone"].notna(), "name"]) == {"历城区", "章丘区"}
    rows = groupings_table()
    rows = rows[rows["grouping"] == "pilot_zone"]
    complete = rows.groupby("group")["group_complete"].agg(["all", "any"])
    assert (complete["all"] == complete["any"]).all()  # one verdict per zone
    assert set(complete.index[~complete["all"]]) == {"宁锡常接合片区", "济青局部片区"}
    # Six of the eleven zones, numbered and listed as the NDRC lists them.
    order = ["嘉湖片区", "福州东部片区", "广清接合片区", "宁锡常接合片区", "济青局部片区", "许昌"]
    assert group_order("pilot_zone") == order
    assert rows.drop_duplicates("group").set_index("group")["order"].loc[order].tolist() == [1, 2, 3, 4, 5, 6]


def test_a_zone_covering_part_of_a_county_is_flagged_partial_not_rounded_up():
    from gis.units.boundaries import load_boundaries

    guangdong = add_planning_attributes(load_boundaries("440000"))
    zone = guangdong.counties[guangdong.counties["pilot_zone"].notna()].set_index("name")
    assert set(zone.index) == {"花都区", "从化区", "增城区", "清城区", "清新区", "佛冈县", "英德市"}
    assert zone.loc["英德市", "pilot_zone_partial"] and zone.drop("英德市")["pilot_zone_partial"].isna().all()
    # 广州市 and 清远市 have only some counties in the zone: partial members as prefectures.
    prefectures = guangdong.prefectures.set_index("name")
    assert prefectures.loc[["广州市", "清远市"], "pilot_zone_partial"].all()
    assert prefectures["pilot_zone"].notna().sum() == 2

