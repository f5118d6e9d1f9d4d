"""Planning groupings of units, read from package data (``gis/data/groupings.csv``).

Each row of the file is one membership: the grouping (a column of the layers), the group, its
position in the source's own list (``order``), the member's adcode and level (province,
prefecture or county), whether the member lies only partly in the group (``partial``: a pilot
zone that covers part of a county), whether the group's member list is complete in the sources
found (``group_complete``) and the source document. Shipped groupings:

- ``economic_region``: 东部 / 中部 / 西部 / 东北 (国家统计局, 2011), provinces;
- ``region``: a province's own sub-regions where an official division exists — 浙东北 / 浙西南,
  苏南 / 苏中 / 苏北, 珠三角 / 粤东 / 粤西 / 粤北, 四川五大经济区 — prefectures;
- ``mountain26``: Zhejiang's 山区26县, counties (yes/no);
- ``pilot_zone``: the national urban-rural integration pilot zones (国家城乡融合发展试验区,
  发改规划〔2019〕1947号) whose members the sources found name, at the level they name them.

A member's value passes down (a prefecture's region is its counties'); a county-level member
makes its prefecture a partial member. A grouping's column is added only where some unit of
the build belongs to it, so a Sichuan build carries no Zhejiang column; yes/no groupings are
false for the other units of the provinces that have members and null elsewhere (unknown
there, not false).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pandas as pd

from gis.units.boundaries import Boundaries

GROUPINGS_FILE = "gis/data/groupings.csv"


@dataclass(frozen=True)
class Grouping:
    """What a grouping is called and how its non-members read."""

    label_zh: str
    label_en: str
    flag: bool = False  # yes/no membership (mountain26), else named groups
    yes_zh: str = ""
    no_zh: str = ""
    rest_zh: str = ""  # named groups: the label of units in none of them (if that is known)
    counties_only: bool = False  # a grouping of counties, not passed up to their prefectures


GROUPINGS: dict[str, Grouping] = {
    "economic_region": Grouping("四大经济区域", "NBS economic regions"),
    "region": Grouping("省内区域", "provincial sub-regions"),
    "mountain26": Grouping("山区26县", "Zhejiang's 26 mountain counties", flag=True,
                           yes_zh="山区26县 mountain-26 counties", no_zh="其他县 other counties", counties_only=True),
    "pilot_zone": Grouping("国家城乡融合发展试验区", "national urban-rural integration pilot zones",
                           rest_zh="试验区外 outside the pilot zones"),
}


@lru_cache(maxsize=1)
def _all_groupings() -> pd.DataFrame:
    path = resources.files("gis").joinpath("data", "groupings.csv")
    with path.open(encoding="utf-8") as f:
        frame = pd.read_csv(f, dtype=str)
    frame["order"] = frame["order"].astype(int)
    frame["partial"] = frame["partial"] == "true"
    frame["group_complete"] = frame["group_complete"] == "true"
    return frame


def grouping_columns() -> frozenset[str]:
    """Columns a build adds only where its units belong to a shipped grouping (each grouping's
    name and its ``<name>_partial`` flag): absent elsewhere by design, not missing data."""
    names = set(_all_groupings()["grouping"])
    return frozenset(names | {f"{name}_partial" for name in names})


def groupings_table() -> pd.DataFrame:
    """Every shipped membership (a copy of ``gis/data/groupings.csv``)."""
    return _all_groupings().copy()


def group_order(grouping: str) -> list[str]:
    """The groups of a shipped grouping in the order their sources list them."""
    rows = _all_groupings()
    rows = rows[rows["grouping"] == grouping]
    # Province by province (a national build lists 浙东北, 浙西南 before 苏南 …), each in its order.
    province_rank = rows["adcode"].str[:2].map({p: i for i, p in enumerate(dict.fromkeys(rows["adcode"].str[:2]))})
    rows = rows.assign(province_rank=province_rank).sort_values(["province_rank", "order"], kind="stable")
    return list(dict.fromkeys(rows["group"]))


def planning_groups(province: str) -> pd.DataFrame:
    """Memberships of units of ``province`` (the province itself, its prefectures, counties)."""
    rows = _all_groupings()
    code = str(province)
    return rows[rows["adcode"].str[:2] == code[:2]].reset_index(drop=True)


_LEVELS = ("province", "prefecture", "county")
_KEYS = {"province": "province_adcode", "prefecture": "prefecture_adcode", "county": "adcode"}


def _values(frame: pd.DataFrame, rows: pd.DataFrame, level: str) -> tuple[pd.Series, pd.Series]:
    """Group of every unit of ``frame`` (at ``level``) and whether it is a partial member.

    Members at the unit's level match by adcode, members above it through the unit's
    ``province_adcode`` / ``prefecture_adcode``; county members make their prefecture a partial
    member (provinces take no value from their parts)."""
    group = pd.Series(pd.NA, index=frame.index, dtype="object")
    partial = pd.Series(False, index=frame.index)
    for member_level in _LEVELS:
        members = rows[rows["level"] == member_level]
        if members.empty:
            continue
        if _LEVELS.index(member_level) <= _LEVELS.index(level):
            key = "adcode" if member_level == level else _KEYS[member_level]
            if key not in frame.columns:
                continue
            by_code = members.set_index("adcode")
            hit = frame[key].map(by_code["group"])
            in_part = frame[key].map(by_code["partial"]).astype("boolean").fillna(False).astype(bool)
        elif level == "prefecture":
            by_prefecture = members.assign(prefecture=members["adcode"].str[:4] + "00").drop_duplicates("prefecture")
            hit = frame["adcode"].map(by_prefecture.set_index("prefecture")["group"])
            in_part = hit.notna()
        else:
            continue
        new = group.isna() & hit.notna()
        group = group.where(~new, hit)
        partial = partial | (new & in_part)
    return group, partial


def _province_known(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    provinces = set(rows["adcode"].str[:2])
    column = frame["province_adcode"] if "province_adcode" in frame.columns else frame["adcode"]
    return column.astype(str).str[:2].isin(provinces)


def add_planning_attributes(boundaries: Boundaries) -> Boundaries:
    """Return ``boundaries`` with a column per shipped grouping that some unit belongs to.

    Named groupings (``economic_region``, ``region``, ``pilot_zone``) are text, null outside
    their groups; ``mountain26`` is True/False in the provinces that have members, null
    elsewhere. ``pilot_zone_partial`` is added where a member lies only partly in its zone
    (True there, null elsewhere). Works on one province or the whole country.
    """
    rows = _all_groupings()
    frames = {"province": boundaries.province.copy(), "prefecture": boundaries.prefectures.copy(),
              "county": boundaries.counties.copy()}
    for level, frame in frames.items():
        for name, spec in GROUPINGS.items():
            if spec.counties_only and level != "county":
                continue
            members = rows[rows["grouping"] == name]
            group, partial = _values(frame, members, level)
            if group.isna().all():
                continue
            if spec.flag:
                flags = group.notna().astype("boolean")
                frame[name] = flags.where(_province_known(frame, members), pd.NA)
            else:
                frame[name] = group.astype("string")
            if partial[group.notna()].any():
                frame[f"{name}_partial"] = pd.Series(pd.NA, index=frame.index, dtype="boolean").mask(partial, True)
    return boundaries.replace(province=frames["province"], prefectures=frames["prefecture"], counties=frames["county"])


def grouping_sources(columns, provinces) -> list[dict]:
    """``{"column", "source"}`` for every grouping column in ``columns``, citing the sources of
    the memberships in ``provinces`` (adcodes; the sources table of a build)."""
    rows = _all_groupings()
    wanted = {str(p)[:2] for p in provinces}
    rows = rows[rows["adcode"].str[:2].isin(wanted) | (rows["level"] == "province")]
    out = []
    for name in GROUPINGS:
        if name in columns:
            sources = rows.loc[rows["grouping"] == name, "source"].unique()
            out.append({"column": name, "source": "; ".join(sources)})
    return out
