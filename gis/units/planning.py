"""Planning groupings of a province's units, read from package data.

``gis/data/<province adcode>/planning_groups.csv`` lists group memberships by adcode, each row
with its source. For Zhejiang: ``mountain26`` (山区26县, counties), ``pilot_zone`` (国家城乡
融合发展试验区嘉湖片区, whole prefectures) and ``region`` (浙东北 / 浙西南, prefectures).

A province without such a file gets the same columns, empty (null), because membership is
unknown there, not false.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from gis.units.boundaries import Boundaries

GROUP_COLUMNS = ("mountain26", "pilot_zone", "region")


def planning_groups(province: str) -> pd.DataFrame:
    """Rows of ``planning_groups.csv`` for ``province`` (empty frame if there is none)."""
    path = resources.files("gis").joinpath("data", str(province), "planning_groups.csv")
    columns = ["group", "adcode", "name", "level", "value", "source"]
    if not path.is_file():
        return pd.DataFrame(columns=columns, dtype=str)
    with path.open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str)[columns]


def _membership(frame: pd.DataFrame, key: str, members: set[str], known: pd.Series) -> pd.Series:
    """True/False where the unit's province has planning data, null where it has none."""
    flags = frame[key].isin(members).astype("boolean")
    return flags.where(known, pd.NA)


def add_planning_attributes(boundaries: Boundaries) -> Boundaries:
    """Return ``boundaries`` with planning columns on prefectures and counties.

    Prefectures get ``pilot_zone`` (bool) and ``region`` (str). Counties get ``mountain26``
    (bool), ``pilot_zone`` (bool, from their prefecture) and ``region`` (from their
    prefecture). Each province's own data file is used, so a national set works too; units
    of a province with no planning data get nulls.
    """
    per_province = {code: planning_groups(code) for code in boundaries.province["adcode"]}
    groups = pd.concat(per_province.values(), ignore_index=True)
    with_data = {code for code, rows in per_province.items() if not rows.empty}
    members = {g: set(rows["adcode"]) for g, rows in groups.groupby("group")}
    region_by_prefecture = groups[groups["group"] == "region"].set_index("adcode")["value"]

    prefectures = boundaries.prefectures.copy()
    counties = boundaries.counties.copy()
    prefecture_known = prefectures["province_adcode"].isin(with_data)
    county_known = counties["province_adcode"].isin(with_data)
    prefectures["pilot_zone"] = _membership(prefectures, "adcode", members.get("pilot_zone", set()), prefecture_known)
    prefectures["region"] = prefectures["adcode"].map(region_by_prefecture).astype("string")
    counties["mountain26"] = _membership(counties, "adcode", members.get("mountain26", set()), county_known)
    counties["pilot_zone"] = _membership(counties, "prefecture_adcode", members.get("pilot_zone", set()), county_known)
    counties["region"] = counties["prefecture_adcode"].map(region_by_prefecture).astype("string")
    return boundaries.replace(prefectures=prefectures, counties=counties)
