"""``gis figure SPEC.toml --out FILE.png|svg|pdf``: one print figure of a map spec
(:func:`gis.figures.write.write_figure`)."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli.report import stage, wrote
from gis.errors import GisError


@click.command("figure")
@click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False, path_type=Path))
@options.province()
@options.tables
@options.degurba_inputs
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The figure: FILE.png, FILE.svg or FILE.pdf.")
@click.option("--view", default=None, metavar="N|NAME",
              help="The view to draw: its number (from 1), label, indicator or column; default the spec's [figure] view, else the first.")
@click.option(
    "--map-year", type=options.YEARS, default=None, help="The year of the view's values to draw (default: the spec's, else the page's first year shown)."
)
@click.option("--width-mm", type=options.FiniteFloat(30, 1200), default=None, help="Width in mm (default: the spec's, else 170).")
@click.option("--height-mm", type=options.FiniteFloat(30, 1200), default=None, help="Height in mm (default: from the map's frame).")
@click.option("--dpi", type=click.IntRange(72, 1200), default=None, help="PNG resolution (default: the spec's, else 300).")
@click.option("--language", type=click.Choice(["zh", "en", "both"]), default=None, help="Text language (default: the spec's, else zh).")
@options.overwrite
def figure(spec_path, province, data_paths, sheet, allow_unmatched, year, population_path, values_kind, rules_name,
           sduc_distance_km, weights, out_path, view, map_year, width_mm, height_mm, dpi, language, overwrite) -> None:
    """Draw one view of the map SPEC (maps/*.toml) as a print figure: the page's classes and colours, legend, scale
    bar, north arrow, sources; Albers projection; Chinese text in an embedded font."""
    from gis._files import refuse_inputs_as_outputs, refuse_overwrite, require_writable_folder
    from gis.build.assemble import assemble
    from gis.degurba.rules import load_rules
    from gis.figures.fonts import cjk_font
    from gis.figures.write import FORMATS, with_overrides, write_figure
    from gis.maps.spec import find_view, load_spec, view_names

    spec = load_spec(spec_path)  # a bad spec, view, size or path fails before any slow work
    if out_path.suffix.lower() not in FORMATS:
        raise GisError(f"--out {out_path}: a figure is .png, .svg or .pdf")
    index = None
    if view is not None:
        index = find_view(spec.views, view)
        if index is None:
            known = "; ".join(f"{i + 1} ({', '.join(view_names(v))})" for i, v in enumerate(spec.views))
            raise GisError(f"--view {view}: not a view of {spec_path}; views: {known}")
    chosen = spec.views[index if index is not None else spec.figure.view or 0]
    if map_year is not None and not chosen.years_all and map_year not in chosen.columns:
        raise GisError(f"--map-year {map_year}: view {chosen.label_zh!r} of {spec_path} has no such year; its years: "
                       + ", ".join(str(y) for y in chosen.columns if y is not None))
    spec = with_overrides(spec, year=map_year, width_mm=width_mm, height_mm=height_mm, dpi=dpi, language=language)
    refuse_inputs_as_outputs([out_path], {"--population": population_path, "--data": list(data_paths)})
    refuse_overwrite([out_path], overwrite)
    require_writable_folder(out_path, "--out")
    cjk_font()  # no Chinese font: say so before the slow work
    rules = load_rules(rules_name).with_distance(sduc_distance_km)
    built = assemble(province, data_paths, allow_unmatched, year, population_path=population_path, sheet=sheet,
                     population_values=values_kind, rules=rules, weights=weights, progress=stage)
    wrote(write_figure(spec, built.tables, out_path, place=built.place, view=index))
