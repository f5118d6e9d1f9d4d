"""``gis map SPEC.toml …``: draw offline HTML maps from map specs into ``out/maps``."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli.report import stage, wrote
from gis.errors import GisError


@click.command("map")
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@options.province()
@options.tables
@options.degurba_inputs
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/maps"), show_default=True, help="Output folder for <spec name>.html and index.html.")
@options.basemap
@options.overwrite
def map_command(specs, province, data_paths, sheet, allow_unmatched, year, population_path, values_kind, rules_name,
                sduc_distance_km, weights, out_dir, basemap, overwrite) -> None:
    """Draw the maps of SPECS (maps/*.toml) as self-contained HTML files in OUT."""
    from gis._files import refuse_inputs_as_outputs, refuse_overwrite, require_writable_folder
    from gis.build.assemble import assemble
    from gis.degurba.rules import load_rules
    from gis.maps import load_spec, render_maps

    for spec in specs:  # a bad spec fails before any slow work
        load_spec(spec)
    # Existing pages are replaced only with --overwrite, and the folder must take files.
    pages = [out_dir / f"{Path(spec).stem}.html" for spec in specs] + [out_dir / "index.html"]
    refuse_inputs_as_outputs(pages, {"--population": population_path, "--data": list(data_paths)})
    refuse_overwrite(pages, overwrite)
    require_writable_folder(out_dir, "--out", is_folder=True)
    rules = load_rules(rules_name).with_distance(sduc_distance_km)
    built = assemble(province, data_paths, allow_unmatched, year, population_path=population_path, sheet=sheet,
                     population_values=values_kind, rules=rules, weights=weights, progress=stage)
    written = render_maps(specs, built.tables, out_dir, basemap=basemap, place=built.place, rasters=built.rasters,
                          on_note=lambda spec, message: stage(f"{spec.name}: {message}"))
    for path in written:
        wrote(path)
    if not [path for path in written if path.name != "index.html"]:
        raise GisError(f"no map drawn: {'the spec was' if len(specs) == 1 else 'all specs were'} skipped (see above)")

