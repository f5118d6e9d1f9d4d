"""``gis access``: population-weighted access to facilities (clinics, schools, care homes)."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.errors import GisError

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command()
@click.option("--facilities", "facilities_path", type=click.Path(exists=True, path_type=Path), required=True,
              help="Facility points: CSV/XLSX with lon/lat (经度/纬度) columns or a 'location' column, or a point layer.")
@click.option("--facilities-layer", "facilities_layer", default=None, metavar="NAME",
              help="Layer of the --facilities file to read (required when it has several).")
@click.option("--coords", type=click.Choice(["wgs84", "gcj02", "bd09"]), default="wgs84", show_default=True,
              help="Datum of the facility coordinates: gcj02 for AMap/Tencent POIs, bd09 for Baidu.")
@click.option("--capacity", default=None, help="Column of capacities (beds, doctors, places): adds Gaussian 2SFCA accessibility.")
@click.option("--population", "population_path", type=_FILE, default=None,
              help="Population raster (counts per cell). Default: the census estimate gis build makes.")
@click.option("--units", default="counties", show_default=True, help="counties, prefectures, or a polygon file (all its columns are kept).")
@options.units_layer
@options.skip_invalid
@options.province(allow_all=False)
@click.option("--thresholds-km", default=None, help="Straight-line thresholds in km, e.g. 1,3,5.")
@click.option("--thresholds-min", default=None, help="Travel-time thresholds in minutes, e.g. 15,30 (needs --roads).")
@click.option("--roads", "roads_path", type=click.Path(exists=True, path_type=Path), default=None,
              help="Road network: GeoPackage, Shapefile, GeoJSON or OSM .pbf.")
@click.option("--speeds", "speeds_path", type=_FILE, default=None, help="Speeds per road class (TOML or CSV class,speed_kmh) over the defaults.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output .gpkg (layer access_units, styled) or .csv; the distance GeoTIFF, method and facility report go beside it.")
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also draw an offline HTML map (.html).")
@options.overwrite
def access(facilities_path, facilities_layer, coords, capacity, population_path, units, units_layer, skip_invalid, province,
           thresholds_km, thresholds_min, roads_path, speeds_path, output, map_path, overwrite) -> None:
    """Population-weighted access to facilities: share of people within each threshold, mean
    distance (straight line) or travel time (--roads), split urban/rural by DEGURBA class,
    and with --capacity Gaussian 2SFCA."""
    from gis._files import refuse_overwrite, require_writable_folder
    from gis.analysis.access import parse_thresholds
    from gis.analysis.access_run import access_for_area, side_paths, write_access
    from gis.cli.degurba import _read_units
    from gis.cli.report import stage, wrote
    from gis.units.boundaries import load_boundaries

    if (thresholds_km is None) == (thresholds_min is None):
        raise GisError("give exactly one of --thresholds-km (straight line) or --thresholds-min (travel time, with --roads)")
    if thresholds_min is not None and roads_path is None:
        raise GisError("--thresholds-min measures travel time over a road network: give --roads too")
    if roads_path is not None and thresholds_min is None:
        raise GisError("--roads gives travel times: use --thresholds-min instead of --thresholds-km")
    if speeds_path is not None and roads_path is None:
        raise GisError("--speeds applies to --roads; give a road file")
    unit = "km" if thresholds_km is not None else "min"
    thresholds = parse_thresholds(thresholds_km if unit == "km" else thresholds_min, unit)
    if output.suffix.lower() not in (".gpkg", ".csv"):
        raise GisError(f"-o {output}: expected a .gpkg or .csv file name")
    if map_path is not None and map_path.suffix.lower() != ".html":
        raise GisError(f"--map {map_path}: expected a .html file name")
    targets = [output, *side_paths(output).values()] + ([map_path] if map_path is not None else [])
    refuse_overwrite(targets, overwrite)
    for path, option in ((output, "-o"), (map_path, "--map")):
        if path is not None:
            require_writable_folder(path, option)
    boundaries = load_boundaries(province)
    frame, _ = _read_units(units, province, units_layer, skip_invalid)
    run = access_for_area(boundaries, frame, facilities_path, thresholds, unit, coords, capacity, population_path,
                          roads_path, speeds_path, progress=stage, facilities_layer=facilities_layer)
    click.echo(run.result.summary())
    for path in write_access(run, output, map_path, units if units in ("counties", "prefectures") else "counties"):
        wrote(path)
