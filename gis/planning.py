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

from gis.boundaries import Boundaries

GROUP_COLUMNS = ("mountain26", "pilot_zone", "region")


def planning_groups(province: str) -> pd.DataFrame:
    """Rows of ``planning_groups.csv`` for ``province`` (empty frame if there is none)."""
    path = resources.files("gis").joinpath("data", str(province), "planning_groups.csv")
    columns = ["group", "adcode", "name", "level", "value", "source"]
    if not path.is_file():
        return pd.DataFrame(columns=columns, dtype=str)
    with path.open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str)[columns]


def add_planning_attributes(boundaries: Boundaries) -> Boundaries:
    """Return ``boundaries`` with planning columns on prefectures and counties.

    Prefectures get ``pilot_zone`` (bool) and ``region`` (str). Counties get ``mountain26``
    (bool), ``pilot_zone`` (bool, from their prefecture) and ``region`` (from their
    prefecture). All are null for a province with no planning data.
    """
    groups = planning_groups(boundaries.code)
    prefectures = boundaries.prefectures.copy()
    counties = boundaries.counties.copy()
    if groups.empty:
        for frame in (prefectures, counties):
            frame["pilot_zone"] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
            frame["region"] = pd.Series(pd.NA, index=frame.index, dtype="string")
        counties["mountain26"] = pd.Series(pd.NA, index=counties.index, dtype="boolean")
    else:
        members = {g: set(rows["adcode"]) for g, rows in groups.groupby("group")}
        region_by_prefecture = groups[groups["group"] == "region"].set_index("adcode")["value"]
        prefectures["pilot_zone"] = prefectures["adcode"].isin(members.get("pilot_zone", set()))
        prefectures["region"] = prefectures["adcode"].map(region_by_prefecture).astype("string")
        counties["mountain26"] = counties["adcode"].isin(members.get("mountain26", set()))
        counties["pilot_zone"] = counties["prefecture_adcode"].isin(members.get("pilot_zone", set()))
        counties["region"] = counties["prefecture_adcode"].map(region_by_prefecture).astype("string")
    return Boundaries(
        province=boundaries.province,
        prefectures=prefectures,
        counties=counties,
        source=boundaries.source,
    )
