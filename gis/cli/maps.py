"""``gis map SPEC.toml …``: draw offline HTML maps from map specs into ``out/maps``."""

from __future__ import annotations

from pathlib import Path

import click

from gis.maps import render_maps
from gis.maps.spec import BASEMAPS


def _assemble_layers(province: str) -> dict:
    """Layers for the maps: boundaries, planning groups and shipped indicators (EPSG:4326).

    Uses the build's :func:`gis.layers.build_layers` when it is available; otherwise joins
    the same inputs here. Degree of Urbanisation columns and the grid come only from a build.
    """
    from gis.boundaries import load_boundaries
    from gis.indicators import seed_indicators

    boundaries = load_boundaries(province)
    indicators = seed_indicators(boundaries.code)
    try:
        from gis.layers import build_layers, combine_indicators
    except ImportError:
        build_layers = None
    if build_layers is not None:
        return build_layers(boundaries, combine_indicators(indicators))

    from gis.indicators import to_wide
    from gis.planning import add_planning_attributes

    planned = add_planning_attributes(boundaries)
    return {
        name: frame.merge(to_wide(indicators, frame["adcode"]), on="adcode", how="left")
        for name, frame in (("prefectures", planned.prefectures), ("counties", planned.counties))
    }


@click.command("map")
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--province", default="330000", show_default=True, help="6-digit province adcode.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/maps"), show_default=True, help="Output folder for <spec name>.html and index.html.")
@click.option("--basemap", type=click.Choice(BASEMAPS), default=None, help="Background tiles; overrides the spec. 'none' (default in specs) needs no network; tianditu needs env TIANDITU_KEY.")
def map_command(specs: tuple[Path, ...], province: str, out_dir: Path, basemap: str | None) -> None:
    """Draw the maps of SPECS (maps/*.toml) as self-contained HTML files in OUT."""
    from gis.maps import load_spec

    for spec in specs:  # a bad spec fails before boundaries are read
        load_spec(spec)
    layers = _assemble_layers(province)
    for path in render_maps(specs, layers, out_dir, basemap=basemap):
        size = path.stat().st_size / 1e6
        click.echo(f"{path}  ({size:.2f} MB)")


map = map_command  # the name gis.cli registers
