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
    assert counties["pilot_zone"].sum() == 12
    assert counties.loc[["淳安县", "景宁畲族自治县", "柯城区", "龙游县"], "mountain26"].all()
    assert not counties.loc[["上城区", "义乌市", "南湖区"], "mountain26"].any()
    assert set(counties.index[counties["pilot_zone"]]) >= {"南湖区", "安吉县", "德清县", "海宁市"}
    # Names in the data file agree with the boundary data for the same adcode.
    names = zhejiang.counties.set_index("adcode")["name"]
    mountain = groups[groups["group"] == "mountain26"]
    assert (mountain["name"].to_numpy() == names.loc[mountain["adcode"]].to_numpy()).all()
    regions = attributed.prefectures.set_index("name")["region"]
    assert regions.value_counts().to_dict() == {"浙东北": 6, "浙西南": 5}


def test_planning_attributes_are_unknown_not_false_elsewhere(jiangsu):
    counties = add_planning_attributes(jiangsu).counties
    assert counties["mountain26"].isna().all() and counties["pilot_zone"].isna().all()
