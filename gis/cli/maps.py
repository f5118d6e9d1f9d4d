"""``gis map SPEC.toml …``: draw offline HTML maps from map specs into ``out/maps``."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli.report import stage, wrote
from gis.errors import GisError


@click.command("map")
@click.argument("specs", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--units", "units_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Your own polygon file (e.g. from 'gis degurba units'): the layer of specs with layer = \"units\"; "
                   "without SPECS, its Degree of Urbanisation map.")
@options.units_layer
@options.skip_invalid
@options.province()
@options.tables
@options.degurba_inputs
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("out/maps"),
    show_default=True,
    help="Output folder for <spec name>.html and index.html.",
)
@options.basemap
@options.overwrite
def map_command(specs, units_path, units_layer, skip_invalid, province, data_paths, sheet, allow_unmatched, year,
                population_path, values_kind, rules_name, sduc_distance_km, weights, out_dir, basemap, overwrite) -> None:
    """Draw the maps of SPECS (maps/*.toml) as self-contained HTML files in OUT.

    A spec with layer = "units" draws your own polygons (--units FILE, or the spec's units key)."""
    from gis._files import refuse_inputs_as_outputs, refuse_overwrite, require_writable_folder
    from gis.maps import load_spec, render_maps

    if not specs and units_path is None:
        raise GisError("give map specs (SPECS…), or --units FILE for the map of your own units")
    loaded = [load_spec(spec) for spec in specs]  # a bad spec fails before any slow work
    if not specs or all(spec.layer == "units" for spec in loaded):
        _user_maps(loaded, units_path, units_layer, skip_invalid, out_dir, basemap, overwrite)
        return
    # Existing pages are replaced only with --overwrite, and the folder must take files.
    pages = [out_dir / f"{Path(spec).stem}.html" for spec in specs] + [out_dir / "index.html"]
    refuse_inputs_as_outputs(pages, {"--population": population_path, "--data": list(data_paths)})
    refuse_overwrite(pages, overwrite)
    require_writable_folder(out_dir, "--out", is_folder=True)
    from gis.build.assemble import assemble
    from gis.degurba.rules import load_rules

    if any(spec.layer == "units" for spec in loaded):
        raise GisError("specs with layer = \"units\" (your polygons) and specs of the build's layers: draw them in two runs")
    rules = load_rules(rules_name).with_distance(sduc_distance_km)
    built = assemble(province, data_paths, allow_unmatched, year, population_path=population_path, sheet=sheet,
                     population_values=values_kind, rules=rules, weights=weights, progress=stage)
    written = render_maps(specs, built.tables, out_dir, basemap=basemap, place=built.place, rasters=built.rasters,
                          on_note=lambda spec, message: stage(f"{spec.name}: {message}"))
    for path in written:
        wrote(path)
    if not [path for path in written if path.name != "index.html"]:
        raise GisError(f"no map drawn: {'the spec was' if len(specs) == 1 else 'all specs were'} skipped (see above)")



def _user_maps(specs, units_path, units_layer, skip_invalid, out_dir, basemap, overwrite) -> None:
    """``gis map [SPECS] --units FILE``: pages of the user's own polygons, no build needed; each
    spec's ``units`` file unless --units is given; no SPECS: the shipped units DEGURBA map."""
    from dataclasses import replace

    from gis._files import refuse_overwrite, require_writable_folder
    from gis.maps import render_maps
    from gis.maps.user_layer import default_units_spec, user_map_layer
    from gis.units.user_units import read_user_units

    jobs = []  # (spec or None for the default one, file)
    for spec in specs or [None]:
        path = units_path or (spec.units if spec is not None else None)
        if path is None:
            raise GisError(f"{spec.path}: layer = \"units\" needs a polygon file: --units FILE, or units = \"FILE\" in the spec")
        jobs.append((spec, Path(path)))
    names = [spec.name if spec is not None else "units_degurba" for spec, _ in jobs]
    refuse_overwrite([out_dir / f"{name}.html" for name in names] + [out_dir / "index.html"], overwrite)
    require_writable_folder(out_dir, "--out", is_folder=True)
    groups: dict[Path, list] = {}  # one render per file (its pages share the file's layer)
    for spec, path in jobs:
        groups.setdefault(path, []).append(spec)
    written = []
    for path, group in groups.items():
        frame = read_user_units(path, layer=units_layer, skip_invalid=skip_invalid, on_note=lambda m: stage(f"note: {m}"))
        stage(f"{path}: {len(frame)} units")
        group = [spec if spec is not None else replace(default_units_spec(frame), name="units_degurba") for spec in group]
        pages = render_maps(group, user_map_layer(frame, path.name), out_dir, basemap=basemap,
                            on_note=lambda spec_path, message: stage(f"{Path(spec_path).stem}: {message}"))
        written += [p for p in pages if p.name != "index.html"]
    written.append(out_dir / "index.html")  # the last file's pages (one file: all of them)
    for path in written:
        wrote(path)
    if not [path for path in written if path.name != "index.html"]:
        raise GisError("no map drawn: the units have none of the spec's columns (see above)")
