"""Groups of units and population weights for the analyses (inequality decomposition).

Groups come from the planning attributes (:mod:`gis.units.planning`: ``economic_region``,
``region``, ``mountain26``, ``pilot_zone``), a categorical column of the user's data, a groups
file (:mod:`gis.tables.groups`) or, for counties, their prefecture.
Population weights come from the user's own ``resident_population`` values, or else from the
2020 census shipped in ``gis/data/census/population_2020.csv``; the caller is told which.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from gis.errors import GisError

#: Shipped groupings (:mod:`gis.units.planning`) and counties by their prefecture.
GROUPINGS = ("economic_region", "region", "mountain26", "pilot_zone", "prefecture")
CENSUS_FILE = "gis/data/census/population_2020.csv"


def unit_groups(units: pd.DataFrame, grouping: str, level: str) -> pd.Series:
    """Group label of every unit (index aligned with ``units``), an ordered categorical whose
    categories are the groups in their source's order.

    Parameters
    ----------
    units
        Prefectures or counties with the planning columns of
        :func:`gis.units.planning.add_planning_attributes` (counties also ``prefecture_name``),
        and any categorical column of the user's joined data.
    grouping
        A shipped grouping (:data:`GROUPINGS`) or the name of a text column of ``units``.
    level
        ``counties`` or ``prefectures`` (``prefecture`` needs counties).

    Raises
    ------
    GisError
        For a grouping the level cannot have, a grouping no unit here belongs to, units whose
        membership is unknown (named), a group whose member list the sources leave incomplete,
        or a column of numbers.
    """
    from gis.units.planning import GROUPINGS as SHIPPED
    from gis.units.planning import group_order, groupings_table

    if grouping == "prefecture":
        if level != "counties":
            raise GisError("--groups prefecture groups counties; use --level counties")
        names = units["prefecture_name"].astype(str)
        return pd.Series(pd.Categorical(names, categories=list(dict.fromkeys(names))), index=units.index)
    if grouping in SHIPPED and SHIPPED[grouping].counties_only and level != "counties":
        raise GisError(f"--groups {grouping} groups counties; use --level counties")
    if grouping not in units.columns:
        if grouping in SHIPPED:
            raise GisError(f"--groups {grouping}: no {level} here belong to the shipped {SHIPPED[grouping].label_zh} "
                           f"({SHIPPED[grouping].label_en}); see gis/data/groupings.csv, or give your own with --groups-file")
        shipped = [g for g in GROUPINGS if g == "prefecture" or g in units.columns]
        raise GisError(f"--groups {grouping}: not a grouping of these {level} nor a column of your data; "
                       f"available: {', '.join(shipped)}, or a column of your --data table, or --groups-file FILE")
    values = units[grouping]
    spec = SHIPPED.get(grouping)
    if spec is not None and grouping in units.columns:
        complete = groupings_table()
        incomplete = complete[(complete["grouping"] == grouping) & ~complete["group_complete"]]["group"].unique()
        used = set(values.dropna().astype(str))
        if spec.flag:
            labels = values.map({True: spec.yes_zh, False: spec.no_zh})
            order = [spec.yes_zh, spec.no_zh]
        else:
            bad = [g for g in incomplete if g in used]
            if bad:
                raise GisError(f"--groups {grouping}: the member list of {', '.join(bad)} is incomplete in the sources "
                               f"shipped (gis/data/groupings.csv); a split by it would misplace units — use --groups-file")
            labels = values.astype("object").where(values.notna(), spec.rest_zh or None)
            order = [g for g in group_order(grouping) if g in used] + ([spec.rest_zh] if spec.rest_zh else [])
    else:
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            raise GisError(f"--groups {grouping}: the column holds numbers; groups need a categorical (text) column")
        labels = values.astype("object")
        order = list(dict.fromkeys(labels.dropna()))
    unknown = labels.isna().to_numpy()
    if unknown.any():
        names = ", ".join(f"{n} ({a})" for n, a in zip(units["name"][unknown][:5], units["adcode"][unknown][:5]))
        raise GisError(f"--groups {grouping}: {int(unknown.sum())} unit(s) have no group ({names}); "
                       f"membership is unknown there, not false — give their groups with --groups-file")
    return pd.Series(pd.Categorical(labels, categories=order), index=units.index)


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


#: Okabe & Ito (2008): colour-blind safe, used up to eight groups.
OKABE_ITO = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#999999")
#: Twenty colours that stay apart on a map (S. Trubetskoy, "List of 20 simple, distinct colors",
#: 2017), for nine to twenty groups; not all pairs are colour-blind safe.
DISTINCT_20 = ("#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
               "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
               "#808000", "#ffd8b1", "#000075", "#a9a9a9")


def group_adjacency(units, column: str) -> dict[str, set[str]]:
    """Which groups of ``units[column]`` touch (share a border or a point between units of
    the two groups). ``units`` is a GeoDataFrame; units without a group are ignored."""
    import geopandas as gpd

    grouped = units[units[column].notna()][[column, "geometry"]].reset_index(drop=True)
    neighbours: dict[str, set[str]] = {str(g): set() for g in grouped[column].unique()}
    if len(grouped) < 2:
        return neighbours
    pairs = gpd.sjoin(grouped, grouped, predicate="intersects", how="inner")
    left, right = pairs[f"{column}_left"].astype(str), pairs[f"{column}_right"].astype(str)
    for a, b in set(zip(left, right)):
        if a != b:
            neighbours[a].add(b)
            neighbours[b].add(a)
    return neighbours


def group_colours(units, column: str, order) -> dict[str, str]:
    """A colour for every group in ``order`` such that touching groups differ where the
    palette allows: greedy colouring (Welsh & Powell 1967: most neighbours first, each takes
    the first colour no coloured neighbour has). Up to 8 groups from Okabe–Ito, 9 to 20 from
    :data:`DISTINCT_20`; past 20, colours repeat (then neighbours may share one)."""
    order = [str(g) for g in order]
    palette = OKABE_ITO if len(order) <= len(OKABE_ITO) else DISTINCT_20
    if len(order) <= len(palette):
        # Enough colours for all: each group its own, in source order (stable legends).
        return {g: palette[i] for i, g in enumerate(order)}
    neighbours = group_adjacency(units, column) if units is not None else {}
    colours: dict[str, str] = {}
    for group in sorted(order, key=lambda g: (-len(neighbours.get(g, ())), order.index(g))):
        taken = {colours[n] for n in neighbours.get(group, ()) if n in colours}
        free = [c for c in palette if c not in taken]
        # Among the free colours, the least used so far keeps the map balanced.
        used = list(colours.values())
        colours[group] = min(free, key=used.count) if free else palette[len(colours) % len(palette)]
    return colours
