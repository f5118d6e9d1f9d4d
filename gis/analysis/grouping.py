"""Groups of units and population weights for the analyses (inequality decomposition).

Groups come from the planning attributes (:mod:`gis.units.planning`: ``region`` 浙东北 /
浙西南, ``mountain26`` 山区26县, ``pilot_zone`` 嘉湖片区) or, for counties, their prefecture.
Population weights come from the user's own ``resident_population`` values, or else from the
2020 census shipped in ``gis/data/census/population_2020.csv``; the caller is told which.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from gis.errors import GisError

GROUPINGS = ("region", "mountain26", "pilot_zone", "prefecture")
#: Labels of the two sides of a yes/no planning group (Chinese first).
_FLAG_LABELS = {
    "mountain26": ("山区26县 mountain-26 counties", "其他县 other counties"),
    "pilot_zone": ("嘉湖片区 Jiahu pilot zone", "其他地区 rest of the province"),
}
CENSUS_FILE = "gis/data/census/population_2020.csv"


def unit_groups(units: pd.DataFrame, grouping: str, level: str) -> pd.Series:
    """Group label of every unit (index aligned with ``units``).

    Parameters
    ----------
    units
        Prefectures or counties with the planning columns of
        :func:`gis.units.planning.add_planning_attributes` (counties also ``prefecture_name``).
    grouping
        One of :data:`GROUPINGS`.
    level
        ``counties`` or ``prefectures`` (``mountain26`` and ``prefecture`` need counties).

    Raises
    ------
    GisError
        For a grouping the level cannot have, or a province without planning data (the
        membership is unknown there, not false), naming the units.
    """
    if grouping not in GROUPINGS:
        raise GisError(f"--groups {grouping}: choose from {', '.join(GROUPINGS)}")
    if grouping in ("mountain26", "prefecture") and level != "counties":
        raise GisError(f"--groups {grouping} groups counties; use --level counties")
    if grouping == "prefecture":
        return units["prefecture_name"].astype(str)
    values = units[grouping]
    unknown = values.isna().to_numpy()
    if unknown.any():
        names = ", ".join(f"{n} ({a})" for n, a in zip(units["name"][unknown][:5], units["adcode"][unknown][:5]))
        raise GisError(f"--groups {grouping}: no planning data for {int(unknown.sum())} unit(s) ({names}); "
                       f"membership is listed in gis/data/<province>/planning_groups.csv")
    if grouping in _FLAG_LABELS:
        yes, no = _FLAG_LABELS[grouping]
        return values.astype(bool).map({True: yes, False: no})
    return values.astype(str)


def census_population(adcodes, level: str) -> tuple[pd.Series, str]:
    """2020 census resident population (persons) of ``adcodes`` and the source it cites.

    ``level`` is ``counties`` or ``prefectures``. Raises GisError naming units the census
    table lacks (nothing is filled in).
    """
    path = resources.files("gis").joinpath("data", "census", "population_2020.csv")
    with path.open(encoding="utf-8") as f:
        census = pd.read_csv(f, dtype={"adcode": str})
    census = census[(census["level"] == {"counties": "county", "prefectures": "prefecture"}[level])
                    & (census["indicator"] == "resident_population")]
    by_code = census.set_index("adcode")
    wanted = pd.Index([str(a) for a in adcodes])
    absent = wanted.difference(by_code.index)
    if len(absent):
        raise GisError(f"{CENSUS_FILE} has no 2020 population for {len(absent)} unit(s): {', '.join(absent[:10])}")
    sources = sorted(by_code.loc[wanted, "source"].unique())
    return by_code.loc[wanted, "value"].astype(float).set_axis(wanted), f"{CENSUS_FILE}: " + "; ".join(sources)
