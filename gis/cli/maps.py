"""``gis map SPEC.toml …``: draw offline HTML maps from map specs into ``out/maps``."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli.report import stage, wrote
from gis.maps import load_spec, render_maps
from gis.maps.spec import BASEMAPS



@click.command("map")
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--province", default="330000", show_default=True, help="6-digit province adcode, or 'all'.")
@click.option("--data", "data_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Your indicator table (.csv or .xlsx); repeat for several.")
@click.option("--allow-unmatched", is_flag=True, help="Leave out table rows that match no unit (they are still reported).")
@click.option("--year", type=int, default=None, help="Year of --data tables without a year column or years in their headers.")
@click.option("--population", "population_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Population raster for our DEGURBA engine; default: the official grid, area weights.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/maps"), show_default=True, help="Output folder for <spec name>.html and index.html.")
@click.option("--basemap", type=click.Choice(BASEMAPS), default=None, help="Background tiles; overrides the spec. 'none' (default in specs) needs no network; tianditu needs env TIANDITU_KEY.")
def map_command(specs, province, data_paths, allow_unmatched, year, population_path, out_dir, basemap) -> None:
    """Draw the maps of SPECS (maps/*.toml) as self-contained HTML files in OUT."""
    from gis.pipeline import assemble

    for spec in specs:  # a bad spec fails before any slow work
        load_spec(spec)
    built = assemble(province, data_paths, allow_unmatched, year, population_path=population_path, progress=stage)
    written = render_maps(specs, built.tables, out_dir, basemap=basemap, place=built.place,
                          on_note=lambda spec, message: stage(f"{spec.name}: {message}"))
    for path in written:
        wrote(path)


map = map_command  # the name gis.cli registers
