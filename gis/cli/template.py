"""``gis template``: a fill-in table for a province's counties or prefectures."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli._tables import LEVELS
from gis.errors import GisError


@click.command()
@click.argument("level", type=click.Choice(LEVELS))
@options.province(allow_all=False)
@click.option("--year", type=options.YEARS, default=None, help="Name the columns <indicator>_<year> instead of adding a year column.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output .xlsx or .csv.")
@options.overwrite
def template(level: str, province: str, year: int | None, output: Path, overwrite: bool) -> None:
    """Write a fill-in table of the province's COUNTIES or PREFECTURES, one column per indicator."""
    from gis._files import refuse_overwrite, require_writable_folder
    from gis.tables.template import write_template
    from gis.units.boundaries import load_boundaries

    if output.suffix.lower() not in (".xlsx", ".csv"):
        raise GisError(f"{output}: expected a .xlsx or .csv file name")
    refuse_overwrite([output], overwrite)
    require_writable_folder(output, "-o")
    rows, indicators = write_template(load_boundaries(province), level, year, output)
    click.echo(f"wrote {output} ({rows} {level}, {indicators} indicators)")
