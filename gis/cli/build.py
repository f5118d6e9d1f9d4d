"""``gis build``: boundaries + indicators (+ Degree of Urbanisation) -> styled GeoPackage."""

from __future__ import annotations

import time
from pathlib import Path

import click
from pyproj import CRS
from pyproj.exceptions import CRSError

from gis.boundaries import load_boundaries, province_slug
from gis.errors import GisError
from gis.gpkg import OutputLayer, write_geopackage
from gis.indicators import seed_indicators
from gis.layer_specs import DEFAULT_LAYERS_DIR, SOURCES, load_layer_specs, resolve_styles
from gis.layers import build_layers, combine_indicators


def _output_crs(epsg: int) -> CRS:
    try:
        crs = CRS.from_epsg(epsg)
    except CRSError:
        raise GisError(f"--crs {epsg}: not an EPSG code pyproj knows (e.g. 4326 WGS-84, 4490 CGCS2000)") from None
    if not crs.is_geographic:
        raise GisError(f"--crs {epsg}: expected a geographic CRS such as 4326 (WGS-84) or 4490 (CGCS2000)")
    return crs


def _refuse_overwrite(paths: list[Path], overwrite: bool) -> None:
    existing = [str(p) for p in paths if p.exists()]
    if existing and not overwrite:
        raise GisError(f"{', '.join(existing)} already exists; pass --overwrite to replace it")


def _stage(message: str) -> None:
    click.echo(f"[{time.strftime('%H:%M:%S')}] {message}", err=True)


@click.command()
@click.option("--province", default="330000", show_default=True, help="6-digit province adcode.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out"), show_default=True, help="Output folder.")
@click.option("--crs", "epsg", type=int, default=4326, show_default=True, help="EPSG code of the output CRS: 4326 (WGS-84) or 4490 (CGCS2000).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
@click.option("--layers-dir", type=click.Path(file_okay=False, exists=True, path_type=Path), default=DEFAULT_LAYERS_DIR, show_default=True, help="Folder of layer specs (*.toml).")
def build(province: str, out_dir: Path, epsg: int, overwrite: bool, layers_dir: Path) -> None:
    """Build the province's GeoPackage (and maps) into OUT."""
    started = time.perf_counter()
    crs = _output_crs(epsg)
    # Layers in the order a GIS user reads them: province, prefectures, counties, grid, tables.
    specs = sorted(load_layer_specs(layers_dir), key=lambda spec: SOURCES.index(spec.source))
    gpkg_path = out_dir / f"{province_slug(province)}.gpkg"
    _refuse_overwrite([gpkg_path], overwrite)

    _stage(f"reading boundaries of {province}")
    boundaries = load_boundaries(province)
    indicators = combine_indicators(seed_indicators(boundaries.code))
    tables = build_layers(boundaries, indicators)

    layers, notes = [], []
    for spec in specs:
        if spec.source not in tables:
            notes.append(f"layer {spec.name}: no {spec.source} table in this build, skipped")
            continue
        styles, style_notes = resolve_styles(spec, tables[spec.source])
        notes += style_notes
        layers.append(OutputLayer(spec.name, tables[spec.source], spec.title, spec.description, styles))

    _stage(f"writing {gpkg_path}")
    write_geopackage(gpkg_path, layers, crs=crs)
    for note in notes:
        _stage(note)
    written = [gpkg_path]
    for path in written:
        size_mb = path.stat().st_size / 1e6
        click.echo(f"wrote {path} ({size_mb:.1f} MB)")
    _stage(f"done in {time.perf_counter() - started:.1f} s")
