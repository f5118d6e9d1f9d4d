"""``gis build``: boundaries + indicators + Degree of Urbanisation -> styled GeoPackage, class
GeoTIFFs and offline HTML maps, all in one output folder."""

from __future__ import annotations

import time
from pathlib import Path

import click
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.boundaries import NATIONAL, province_slug
from gis.cli.report import stage, wrote
from gis.errors import GisError
from gis.gpkg import OutputLayer, write_geopackage
from gis.layer_specs import DEFAULT_LAYERS_DIR, SOURCES, load_layer_specs, resolve_styles
from gis.maps import DEFAULT_MAPS_DIR, default_spec_paths, load_spec, render_maps
from gis.maps.spec import BASEMAPS
from gis.national import coverage_notes
from gis.raster_io import atomic_path, refuse_overwrite, write_class_geotiff


def _output_crs(epsg: int) -> CRS:
    try:
        crs = CRS.from_epsg(epsg)
    except CRSError:
        raise GisError(f"--crs {epsg}: not an EPSG code pyproj knows (e.g. 4326 WGS-84, 4490 CGCS2000)") from None
    if not crs.is_geographic:
        raise GisError(f"--crs {epsg}: expected a geographic CRS such as 4326 (WGS-84) or 4490 (CGCS2000)")
    return crs




@click.command()
@click.option("--province", default="330000", show_default=True, help="6-digit province adcode, or 'all' for the whole country.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"), show_default=True, help="Output folder.")
@click.option("--crs", "epsg", type=int, default=4326, show_default=True, help="EPSG code of the GeoPackage: 4326 (WGS-84) or 4490 (CGCS2000).")
@click.option("--data", "data_paths", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Your indicator table (.csv or .xlsx, see 'gis template'); repeat for several.")
@click.option("--allow-unmatched", is_flag=True, help="Leave out table rows that match no unit (they are still reported).")
@click.option("--year", type=int, default=None, help="Year of --data tables that have no year column or years in their headers.")
@click.option("--population", "population_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Population raster (any CRS and resolution) for our DEGURBA engine; default: the official GHS-WUP-DEGURBA 2025 grid, area weights.")
@click.option("--population-values", type=click.Choice(["counts", "density"]), default="counts", show_default=True, help="--population holds persons per cell or persons per km².")
@click.option("--sduc-distance-km", type=float, default=2.0, show_default=True, help="D of the semi-dense urban cluster rule, km edge to edge (GHSL grids use 3).")
@click.option("--no-degurba", is_flag=True, help="Skip the Degree of Urbanisation (no grid layer, no DEGURBA map).")
@click.option("--basemap", type=click.Choice(BASEMAPS), default=None, help="Background tiles of the maps; overrides the specs ('none' needs no network).")
@click.option("--layers-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=DEFAULT_LAYERS_DIR, show_default=True, help="Folder of layer specs (*.toml).")
@click.option("--maps-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=DEFAULT_MAPS_DIR, show_default=True, help="Folder of map specs (*.toml).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def build(
    province, out_dir, epsg, data_paths, allow_unmatched, year, population_path, population_values,
    sduc_distance_km, no_degurba, basemap, layers_dir, maps_dir, overwrite,
) -> None:
    """Build a province's styled GeoPackage, DEGURBA class grids and HTML maps into OUT."""
    from gis.official import write_agreement_csv
    from gis.pipeline import assemble

    started = time.perf_counter()
    crs = _output_crs(epsg)
    if sduc_distance_km < 0:
        raise GisError(f"--sduc-distance-km {sduc_distance_km}: expected a distance >= 0 km")
    if no_degurba and population_path is not None:
        raise GisError("--population is for the Degree of Urbanisation; it cannot go with --no-degurba")
    # Everything is checked before the slow work: layer and map specs, and existing outputs.
    # Layers in the order a GIS user reads them: province, prefectures, counties, grid, tables.
    specs = sorted(load_layer_specs(layers_dir), key=lambda spec: SOURCES.index(spec.source))
    map_specs = default_spec_paths(maps_dir)
    for path in map_specs:
        load_spec(path)
    slug = province_slug(province)
    gpkg_path = out_dir / f"{slug}.gpkg"
    grid_paths = {level: out_dir / f"{slug}_degurba_l{level}.tif" for level in (2, 1)}
    agreement_path = out_dir / f"{slug}_degurba_agreement.csv"
    coverage_path = out_dir / f"{slug}_coverage.txt"
    maps_out = out_dir / "maps"
    planned = [gpkg_path, maps_out / "index.html", *(maps_out / f"{p.stem}.html" for p in map_specs)]
    if not no_degurba:
        planned += grid_paths.values()
    if population_path is not None:
        planned.append(agreement_path)
    national = province.strip().lower() == NATIONAL
    if national:
        planned.append(coverage_path)
    refuse_overwrite(planned, overwrite)

    built = assemble(
        province, data_paths, allow_unmatched, year,
        with_degurba=not no_degurba, population_path=population_path,
        population_values=population_values, sduc_distance_km=sduc_distance_km, progress=stage,
    )
    tables = built.tables
    if built.degurba is not None:
        partial = built.degurba.counties.loc[built.degurba.counties["nodata_km2"] > 0, "adcode"]
        if len(partial):
            names = tables["counties"].set_index("adcode").loc[partial, "name"]
            stage(f"note: {len(partial)} county-level unit(s) partly on grid cells without a class (see nodata_km2): "
                  + ", ".join(f"{n} {c}" for c, n in names.items()))

    layers, notes = [], []
    for spec in specs:
        if spec.source not in tables:
            notes.append(f"layer {spec.name}: no {spec.source} table in this build, skipped")
            continue
        styles, style_notes = resolve_styles(spec, tables[spec.source])
        notes += style_notes
        layers.append(OutputLayer(spec.name, tables[spec.source], spec.title, spec.description, styles))
    for note in notes:
        stage(note)

    written = []
    if national:
        # What the boundary data holds and lacks across the country, said rather than guessed.
        lines = coverage_notes(built.boundaries)
        for line in lines:
            stage(line)
        with atomic_path(coverage_path) as temporary:
            temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(coverage_path)
    stage(f"writing {gpkg_path}")
    written.append(write_geopackage(gpkg_path, layers, crs=crs))
    if built.degurba is not None:
        degurba = built.degurba
        written.append(write_class_geotiff(grid_paths[2], degurba.grid_l2.codes, degurba.grid_l2.transform, level=2))
        written.append(write_class_geotiff(grid_paths[1], degurba.grid_l1.codes, degurba.grid_l1.transform, level=1))
        if degurba.agreement is not None:
            written += write_agreement_csv(degurba.agreement, agreement_path)
            stage(f"agreement with the official grid: {degurba.agreement.percent_same:.1f}% of "
                  f"{degurba.agreement.cells_compared} cells in the same Level 2 class")
            click.echo(degurba.agreement.confusion.to_string())
    stage(f"drawing {len(map_specs)} map(s)")
    written += render_maps(map_specs, tables, maps_out, basemap=basemap, place=built.place,
                           on_note=lambda spec, message: stage(f"{spec.name}: {message}"))
    for path in written:
        wrote(Path(path))
    stage(f"done in {time.perf_counter() - started:.1f} s")
