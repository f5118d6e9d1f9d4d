"""``gis map SPEC.toml …``: draw offline HTML maps from map specs into ``out/maps``."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli.report import stage, wrote


@click.command("map")
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@options.province()
@options.data()
@options.allow_unmatched
@options.year
@options.population
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/maps"), show_default=True, help="Output folder for <spec name>.html and index.html.")
@options.basemap
def map_command(specs, province, data_paths, allow_unmatched, year, population_path, out_dir, basemap) -> None:
    """Draw the maps of SPECS (maps/*.toml) as self-contained HTML files in OUT."""
    from gis.build.assemble import assemble
    from gis.maps import load_spec, render_maps

    for spec in specs:  # a bad spec fails before any slow work
        load_spec(spec)
    built = assemble(province, data_paths, allow_unmatched, year, population_path=population_path, progress=stage)
    written = render_maps(specs, built.tables, out_dir, basemap=basemap, place=built.place,
                          on_note=lambda spec, message: stage(f"{spec.name}: {message}"))
    for path in written:
        wrote(path)

