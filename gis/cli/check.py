"""``gis check``: validate users' tables and print the join report, building nothing."""

from __future__ import annotations

import click

from gis.cli import options
from gis.cli._tables import load_tables


@click.command()
@options.data("paths")
@options.province()
@options.allow_unmatched
@options.year
def check(paths, sheet, province: str, allow_unmatched: bool, year: int | None) -> None:
    """Validate tables and print the join report, without building anything."""
    _, _, report = load_tables(paths, province, allow_unmatched, year, sheet)
    click.echo(report.summary())
