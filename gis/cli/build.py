"""``gis build``: boundaries + indicators + Degree of Urbanisation -> styled GeoPackage, class
GeoTIFFs and offline HTML maps, all in one output folder (:func:`gis.build.run.run_build`)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from gis.cli import options
from gis.cli.report import stage, wrote


@click.command()
@options.province()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"), show_default=True, help="Output folder.")
@click.option("--crs", "epsg", type=int, default=4326, show_default=True, help="EPSG code of the GeoPackage: 4326 (WGS-84) or 4490 (CGCS2000).")
@options.tables
@options.degurba_inputs
@click.option("--no-degurba", is_flag=True, help="Skip the Degree of Urbanisation (no grid layer, no DEGURBA map).")
@options.basemap
@click.option(
    "--layers-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder of layer specs (*.toml); default: the ones shipped with the package.",
)
@click.option(
    "--maps-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Folder of map specs (*.toml); default: the ones shipped with the package.",
)
@click.option("--figures", is_flag=True, help="Also write print figures of every map drawn: OUT/figures/NAME.png, .svg and .pdf.")
@options.overwrite
def build(
    province, out_dir, epsg, data_paths, sheet, allow_unmatched, year, population_path, values_kind,
    rules_name, sduc_distance_km, weights, no_degurba, basemap, layers_dir, maps_dir, figures, overwrite,
) -> None:
    """Build a province's styled GeoPackage, DEGURBA class grids and HTML maps into OUT."""
    from gis.build.run import BuildOptions, run_build

    started = time.perf_counter()
    written = run_build(
        BuildOptions(
            province=province, out_dir=out_dir, epsg=epsg, data_paths=data_paths, sheet=sheet, allow_unmatched=allow_unmatched,
            year=year, population_path=population_path, population_values=values_kind,
            rules=rules_name, sduc_distance_km=sduc_distance_km, weights=weights, with_degurba=not no_degurba, basemap=basemap,
            layers_dir=layers_dir, maps_dir=maps_dir, overwrite=overwrite, figures=figures,
        ),
        progress=stage, say=click.echo,
    )
    for path in written:
        wrote(Path(path))
    stage(f"done in {time.perf_counter() - started:.1f} s")
