"""The census indicators shipped in ``gis/data/census/indicators.csv`` (derived by
``bench/derive_census_indicators.py`` from the leiii/census transcriptions of the 2010 and 2020
county tabulations).

The transcriptions are not in the repository, so the cells a sample of values comes from are
pinned here, read once from ``census_county_2020_v1.xlsx`` (sheet 七普（年鉴）) and
``census_county_2010_v1.xlsx`` (Sheet1): the test recomputes each value from those counts with
the registry's formula. The rest checks the file against itself and the boundary index: bounds,
shares that must add up, prefecture figures against their province, every unit of the index
accounted for (a value, or a listed reason), and the national coverage per indicator.
"""

from __future__ import annotations

import pandas as pd
import pytest

from gis.tables.census import census_absent, census_indicators, census_unit_notes
from gis.tables.indicators import registry, seed_indicators, to_wide
from gis.units.boundaries import _index

CENSUS_2020 = ["share_aged_0_14", "share_aged_60plus", "share_aged_65plus", "old_age_dependency_ratio",
               "urbanisation_rate", "household_size", "avg_years_schooling", "share_college_educated",
               "share_employed_agriculture", "share_residents_registered_other_province",
               "share_households_tap_water", "share_households_toilet", "share_households_bath",
               "share_households_car", "housing_floor_area_per_capita", "sex_ratio"]
MAINLAND_OUT = ("71", "81", "82")  # Taiwan, Hong Kong, Macao: not in the county tabulations

# Cells of the 2020 transcription (Excel row; column letter: value), sheet 七普（年鉴）.
# E 人口数, F 男, G 女, J 城镇人口, M 家庭户数, N 家庭户人口数, BQ 户口登记地在省外, CB–CE 大学专科 /
# 本科及以上 by sex, CF 平均受教育年限, CW 各种行业人口总计, CX 农林牧渔业, EK 人均住房建筑面积,
# EL 家庭户户数_长表, EM 自来水, EO 厕所, EP 洗澡设施, ER 家用汽车; AU–BF ages 60+ (AW–BF 65+,
# U–AB 0–14, AC–AV 15–64), men and women.
TRACED_2020 = {
    # adcode: (row, E, F, G, J, M, N, BQ, CB+CC+CD+CE, CF, CW, CX, EK, EL, EM, EO, EP, ER, 60+, 65+, 0-14, 15-64)
    "330127": (981, 328957, 163856, 165101, 153611, 146646, 313983, 10287, 12097 + 10466 + 9644 + 8445, 8.75,
               16444, 5654, 77.55, 12838, 12499, 12397, 12032, 5698, 101084, 72678, 42394, 213885),  # 淳安县
    "130102": (41, 1059572, 533055, 526517, 1059572, 369036, 941788, 130750, 88984 + 91830 + 81731 + 84358, 11.55,
               44226, 434, 38.11, 34158, 33907, 33973, 33451, 17463, 160561, 110120, 186635, 762817),  # 石家庄 长安区
    "513437": (2606, 240149, 123319, 116830, 52833, 66068, 234442, 2896, 4387 + 3295 + 1983 + 1696, 6.64,
               9129, 4997, 31.26, 5892, 5759, 5736, 4984, 1313, 23889, 18005, 80505, 141639),  # 凉山 雷波县
    "510100": (2400, 20937757, 10522641, 10415116, 16492980, 7419822, 18445326, 1493581,
               1289317 + 1299884 + 1403159 + 1363927, 10.51, 1021153, 90132, 41.67, 696268, 626749, 689887,
               669952, 372631, 3764069, 2851183, 2780827, 15305747),  # 成都市
    "330000": (968, 64567588, 33680008, 30887580, 46598465, 25008606, 58830838, 16186454,
               2877746 + 2597582 + 2757655 + 2737329, 9.51, 3642236, 196953, 46.16, 2279907, 2221680, 2173469,
               2052577, 1138918, 12072684, 8566349, 8681781, 47319458),  # 浙江省
}
# 2010 transcription (Sheet1): C 人口数, J 城镇人口, FA 长表家庭户, FB 自来水, FF 厕所, FH 洗澡; AV–BE 65+.
TRACED_2010 = {
    "330127": (964, 336843, 110677, 13331, 13331, 9646, 8107, 46657),  # 淳安县
    "230231": (698, 519766, 100826, 12410, 6692, 8609, 862, 34922),  # 齐齐哈尔 拜泉县
    "513437": (2529, 240149 - 16264, None, None, None, None, None, None),  # 雷波县: change pinned below
}


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return census_indicators("all")


def _value(shipped, adcode, year, indicator):
    rows = shipped[(shipped["adcode"] == adcode) & (shipped["year"] == year) & (shipped["indicator"] == indicator)]
    assert len(rows) == 1, (adcode, year, indicator, len(rows))
    return float(rows["value"].iloc[0]), rows["cell"].iloc[0]


@pytest.mark.parametrize("adcode", sorted(TRACED_2020))
def test_2020_values_recomputed_from_the_traced_cells(shipped, adcode):
    (row, total, men, women, urban, households, household_persons, other_province, college, schooling,
     employed, farm, floor, long_households, tap, toilet, bath, car, aged60, aged65, aged0_14, aged15_64) = TRACED_2020[adcode]
    expected = {
        "share_aged_60plus": aged60 / total * 100, "share_aged_65plus": aged65 / total * 100,
        "share_aged_0_14": aged0_14 / total * 100, "old_age_dependency_ratio": aged65 / aged15_64 * 100,
        "urbanisation_rate": urban / total * 100, "household_size": household_persons / households,
        "sex_ratio": men / women * 100, "share_residents_registered_other_province": other_province / total * 100,
        "share_college_educated": college / total * 100, "avg_years_schooling": schooling,
        "share_employed_agriculture": farm / employed * 100, "housing_floor_area_per_capita": floor,
        "share_households_tap_water": tap / long_households * 100,
        "share_households_toilet": toilet / long_households * 100,
        "share_households_bath": bath / long_households * 100, "share_households_car": car / long_households * 100,
    }
    assert set(expected) == set(CENSUS_2020)
    for indicator, value in expected.items():
        got, cell = _value(shipped, adcode, 2020, indicator)
        assert got == pytest.approx(value, abs=0.0051 if indicator == "sex_ratio" else 0.0015), indicator
        assert cell == f"2020 行{row}"


def test_2010_values_and_population_change_recomputed_from_the_traced_cells(shipped):
    row, total, urban, long_households, tap, toilet, bath, aged65 = TRACED_2010["330127"]
    assert _value(shipped, "330127", 2010, "urbanisation_rate")[0] == pytest.approx(urban / total * 100, abs=0.0015)
    assert _value(shipped, "330127", 2010, "share_households_toilet")[0] == pytest.approx(toilet / long_households * 100, abs=0.0015)
    assert _value(shipped, "330127", 2010, "share_aged_65plus") == (pytest.approx(aged65 / total * 100, abs=0.0015), f"2010 行{row}")
    # 淳安县 328 957 (2020) against 336 843 (2010): a shrinking county, shown as a decline.
    change, cell = _value(shipped, "330127", 2020, "population_change")
    assert change == 328957 - 336843 and cell == "2020 行981; 2010 行964"
    assert _value(shipped, "330127", 2020, "population_change_pct")[0] == pytest.approx((328957 / 336843 - 1) * 100, abs=0.0015)
    # 拜泉县 519 766 → 282 019: −45.7 %, one of 黑龙江's steepest declines, shipped as it is.
    row, total, urban, long_households, tap, toilet, bath, aged65 = TRACED_2010["230231"]
    assert _value(shipped, "230231", 2010, "share_households_bath")[0] == pytest.approx(bath / long_households * 100, abs=0.0015)
    assert _value(shipped, "230231", 2020, "population_change")[0] == 282019 - 519766
    assert _value(shipped, "230231", 2020, "population_change_pct")[0] == pytest.approx(-45.741, abs=0.001)
    assert _value(shipped, "513437", 2020, "population_change")[0] == 16264


def test_a_merger_is_not_growth():
    """石家庄长安区: 479 801 (2010) → 1 059 572 (2020) because 桥东区 was merged into it (2014):
    no change is shipped, and the reason names the abolished district."""
    shipped = census_indicators("130000")
    changes = shipped[(shipped["adcode"] == "130102") & shipped["indicator"].str.startswith("population_change")]
    assert changes.empty
    assert shipped[(shipped["adcode"] == "130102") & (shipped["year"] == 2010)].empty  # nor 2010 shares
    reasons = census_absent()
    reason = reasons[(reasons["adcode"] == "130102") & (reasons["year"] == "2010")]["reason"].iloc[0]
    assert "桥东区" in reason and "130103" in reason


def test_renamed_and_changed_units():
    notes = census_unit_notes()
    haimen = "；".join(notes[notes["adcode"] == "320614"]["note"])  # 海门市 → 海门区 (2020), code kept
    assert "海门市" in haimen and "320614" in haimen and "海门区" in haimen
    shipped = census_indicators("320000")
    assert not shipped[(shipped["adcode"] == "320614") & (shipped["year"] == 2020)].empty
    absent = census_absent()
    # Redrawn after the census: no tabulation row fits today's polygon.
    for adcode in ("330102", "330113", "350404", "410308", "340212", "340209"):
        assert adcode not in set(census_indicators("all")["adcode"]), adcode
        assert "普查后辖域变动" in absent[absent["adcode"] == adcode]["reason"].iloc[0]


def test_counties_beside_a_separately_listed_zone_keep_shares_not_counts():
    """内江's 经济开发区 is listed apart from its districts: the districts keep their shares (of
    what was enumerated in them) with a note, but no population change."""
    notes = census_unit_notes()
    shizhong = notes[(notes["adcode"] == "511002")]["note"].iloc[0]
    assert "内江经济开发区" in shizhong
    shipped = census_indicators("510000")
    rows = shipped[shipped["adcode"] == "511002"]
    assert "share_aged_65plus" in set(rows["indicator"])
    assert not rows["indicator"].str.startswith("population_change").any()


def test_bounds_and_shares_that_must_add_up(shipped):
    reg = registry()
    for indicator, rows in shipped.groupby("indicator"):
        low, high = reg.loc[indicator, ["min_value", "max_value"]]
        assert pd.isna(low) or rows["value"].min() >= low, indicator
        assert pd.isna(high) or rows["value"].max() <= high, indicator
        assert (rows["unit"] == reg.loc[indicator, "unit"]).all()
    wide = shipped.pivot_table(index=["adcode", "year"], columns="indicator", values="value")
    # Aged 15–64 = 100 − (0–14) − (65+), so the dependency ratio follows from the two shares.
    ages = wide[["share_aged_0_14", "share_aged_65plus", "old_age_dependency_ratio"]].dropna()
    assert len(ages) > 5000
    working = 100 - ages["share_aged_0_14"] - ages["share_aged_65plus"]
    assert ((ages["share_aged_65plus"] / working * 100 - ages["old_age_dependency_ratio"]).abs() < 0.005).all()
    both = wide[["share_aged_60plus", "share_aged_65plus"]].dropna()
    assert (both["share_aged_65plus"] <= both["share_aged_60plus"]).all()
    assert wide["household_size"].between(1, 6).all() and wide["sex_ratio"].between(70, 250).all()


def test_prefectures_add_up_to_their_province(shipped):
    """Province shares are the population-weighted means of their prefectures' (2020, with the
    census totals of population_2020.csv): the prefecture rows partition the provinces."""
    from gis.tables.census import census_population

    population = census_population()
    population = population[population["level"] == "prefecture"].drop_duplicates("adcode").set_index("adcode")["value"]
    rows = shipped[(shipped["year"] == 2020) & (shipped["indicator"] == "urbanisation_rate")].set_index("adcode")["value"]
    prefectures = [a for a in rows.index if a in population.index and a[2:] != "0000"]
    checked = 0
    for province, group in pd.Series(prefectures).groupby(lambda i: prefectures[i][:2]):
        codes = list(group)
        if province in ("11", "12", "31", "50"):
            continue  # a municipality's prefecture row is the municipality itself
        mean = (rows[codes] * population[codes]).sum() / population[codes].sum()
        assert mean == pytest.approx(rows[f"{province}0000"], abs=0.01), province
        checked += 1
    assert checked == 27


def test_every_unit_of_the_index_is_accounted_for(shipped):
    index = _index()
    absent = census_absent()
    for level in ("province", "prefecture", "county"):
        units = index[index["level"] == level].drop_duplicates("adcode")
        for year in (2020, 2010):
            have = set(shipped[shipped["year"] == year]["adcode"])
            listed = set(absent[absent["year"].str.contains(str(year))]["adcode"])
            unaccounted = sorted(set(units["adcode"]) - have - listed)
            assert unaccounted == [], (level, year, unaccounted[:10])


def test_national_counties_layer_coverage_per_indicator():
    """What a national build's counties layer holds, indicator by indicator (today's figures)."""
    index = _index()
    counties = index[(index["level"] == "county") & ~index["adcode"].str[:2].isin(MAINLAND_OUT)].drop_duplicates("adcode")
    assert len(counties) == 2848
    wide = to_wide(seed_indicators("all"), counties["adcode"]).set_index("adcode")
    for indicator in CENSUS_2020:
        assert wide[f"{indicator}_2020"].notna().sum() >= 2830, indicator
    for indicator in [i for i in CENSUS_2020 if i != "share_households_car"]:
        assert wide[f"{indicator}_2010"].notna().sum() >= 1690, indicator
    assert "share_households_car_2010" not in wide.columns  # not asked in 2010
    change = wide["population_change_pct_2020"]
    assert change.notna().sum() >= 1400 and (change < 0).sum() >= 700  # shrinking counties are there


def test_zhejiang_seed_figures_stand_before_the_tabulation():
    shipped = seed_indicators("330000")
    assert not shipped.duplicated(["adcode", "year", "indicator"]).any()
    # 浙江省 2020 65+: the tabulation's counts give 13.267 %, the communiqué prints 13.27 %.
    value = shipped[(shipped["adcode"] == "330000") & (shipped["year"] == 2020) & (shipped["indicator"] == "share_aged_65plus")]
    assert value["value"].iloc[0] == pytest.approx(13.27, abs=0.005)
