"""What the data commands share: reading users' tables against a province's units, and the
groups of units (shipped groupings, a column of the user's table, or a groups file)."""

from __future__ import annotations

import click

from gis.errors import GisError

LEVELS = ("counties", "prefectures")


class ShippedReport:
    """What the analysis reads when no --data table is given: the values shipped with the tool."""

    def __init__(self, province: str, long):
        self.province, self.long = province, long

    def summary(self) -> str:
        census = self.long["source"].str.contains("人口普查", regex=False)
        return (f"no --data: using the data shipped for {self.province}: {len(self.long)} values "
                f"({int(census.sum())} from the 2010 and 2020 census county tabulations, gis/data/census/; "
                f"units they do not cover are listed with the reason in gis/data/census/absent.csv)")


def shipped_tables(province: str):
    """Boundaries and the indicators shipped for ``province`` (seed tables and census), with a
    report saying so."""
    from gis.tables.indicators import seed_indicators
    from gis.units.boundaries import load_boundaries

    long = seed_indicators(province)
    return load_boundaries(province), long, ShippedReport(province, long)


def load_tables(paths, province: str, allow_unmatched: bool, year: int | None, sheet: str | None = None,
                attribute_columns=()):
    """Boundaries and joined user tables; on a join problem the report is printed first.
    Without ``paths``: the values shipped with the tool (:func:`shipped_tables`).
    ``attribute_columns``: text columns read elsewhere (groups), not unknown columns."""
    from gis.tables.join import load_user_tables
    from gis.tables.report import JoinError
    from gis.units.boundaries import load_boundaries

    if not paths:
        return shipped_tables(province)
    boundaries = load_boundaries(province)
    try:
        long, report = load_user_tables(paths, boundaries, allow_unmatched=allow_unmatched, default_year=year,
                                        sheet=sheet, attribute_columns=attribute_columns)
    except JoinError as error:
        click.echo(error.report.summary())
        raise
    return boundaries, long, report


def table_group_columns(paths, names) -> dict[str, object]:
    """Which of ``names`` are columns of the user's tables: {name: path of the first table
    that has it}. A user's column of that name wins over a shipped grouping."""
    from gis.tables.read import normalise_header, read_table

    found: dict[str, object] = {}
    for path in paths or ():
        try:
            headers = {normalise_header(h) for h in read_table(path).header}
        except GisError:
            continue  # the join reports the file's problem
        for name in names:
            if name and normalise_header(name) in headers:
                found.setdefault(name, path)
    return found


def resolve_groups(units, grouping: str | None, groups_file, table_columns: dict, boundaries, level: str,
                   allow_unmatched: bool):
    """The group of every unit (ordered categorical aligned with ``units``, null for units
    left out) and where the groups come from.

    ``groups_file`` (a file of unit, group) wins; then a column ``grouping`` of the user's table
    (``table_columns`` from :func:`table_group_columns`); then a shipped grouping or a column
    of ``units`` (:func:`gis.analysis.grouping.unit_groups`). Groups read from a file are
    reported like an indicator table (every row matched or listed); units of ``level`` the file
    does not name are printed as left out.
    """
    import pandas as pd

    from gis.analysis.grouping import unit_groups
    from gis.tables.groups import read_unit_groups

    path, column = (groups_file, None) if groups_file is not None else (table_columns.get(grouping), grouping)
    if path is None:
        if grouping is None:
            raise GisError("give --groups NAME or --groups-file FILE")
        from gis.units.planning import grouping_sources

        sources = grouping_sources([grouping], boundaries.province["adcode"])
        source = sources[0]["source"] if sources else ("counties by prefecture" if grouping == "prefecture" else f"column {grouping!r}")
        return unit_groups(units, grouping, level), source
    read = read_unit_groups(path, boundaries, column=column, allow_unmatched=allow_unmatched, level=level)
    click.echo(read.summary())
    groups = units["adcode"].map(read.groups)
    left = units[groups.isna()]
    if len(left):
        click.echo(f"Left out ({len(left)} of {len(units)} {level}, in no group of {read.source}): "
                   + ", ".join(f"{n} ({a})" for n, a in zip(left["name"], left["adcode"])))
    if groups.notna().sum() == 0:
        raise GisError(f"{read.source}: none of its units are {level} of {boundaries.name}")
    return pd.Series(pd.Categorical(groups, categories=read.order), index=units.index), read.source
