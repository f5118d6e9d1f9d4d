"""What the data commands share: reading users' tables against a province's units."""

from __future__ import annotations

import click

from gis.errors import GisError

LEVELS = ("counties", "prefectures")


def load_tables(paths, province: str, allow_unmatched: bool, year: int | None, sheet: str | None = None):
    """Boundaries and joined user tables; on a join problem the report is printed first."""
    from gis.tables.join import load_user_tables
    from gis.tables.report import JoinError
    from gis.units.boundaries import load_boundaries

    if not paths:
        raise GisError("give at least one table with --data")
    boundaries = load_boundaries(province)
    try:
        long, report = load_user_tables(paths, boundaries, allow_unmatched=allow_unmatched, default_year=year, sheet=sheet)
    except JoinError as error:
        click.echo(error.report.summary())
        raise
    return boundaries, long, report
