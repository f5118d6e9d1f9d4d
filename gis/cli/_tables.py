"""What the data commands share: reading users' tables against a province's units."""

from __future__ import annotations

import click


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


def load_tables(paths, province: str, allow_unmatched: bool, year: int | None):
    """Boundaries and joined user tables; on a join problem the report is printed first.
    Without ``paths``: the values shipped with the tool (:func:`shipped_tables`)."""
    from gis.tables.join import load_user_tables
    from gis.tables.report import JoinError
    from gis.units.boundaries import load_boundaries

    if not paths:
        return shipped_tables(province)
    boundaries = load_boundaries(province)
    try:
        long, report = load_user_tables(paths, boundaries, allow_unmatched=allow_unmatched, default_year=year)
    except JoinError as error:
        click.echo(error.report.summary())
        raise
    return boundaries, long, report
