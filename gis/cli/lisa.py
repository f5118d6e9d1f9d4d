"""``gis lisa``: hot spots of one indicator (local Moran's I), as a layer and an HTML map."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli._tables import LEVELS, load_tables
from gis.errors import GisError


@click.command()
@options.data("paths")
@click.option("--indicator", required=True, help="Registry name of the indicator to analyse.")
@click.option("--year", type=options.YEARS, default=None, help="Year of the values (needed when the data have several years).")
@click.option("--level", type=click.Choice(LEVELS), default="counties", show_default=True, help="Units to analyse.")
@click.option("--permutations", type=click.IntRange(19, 99_999), default=999, show_default=True, help="Conditional permutations for pseudo p-values.")
@click.option("--seed", type=int, default=None, help="Random seed (default: fixed, so results repeat).")
@click.option("--alpha", "significance", type=options.FiniteFloat(1e-6, 0.5), default=0.05, show_default=True, help="Significance level for clusters.")
@click.option("--fdr", is_flag=True, help="Control the false discovery rate (Benjamini–Hochberg, esda.fdr) at --alpha instead of testing each unit at --alpha.")
@click.option("--islands", type=options.IslandsChoice(), default="exclude", show_default=True,
              help="Units without a queen neighbour (舟山's islands, 洞头): leave out and report, or link to their K nearest units.")
@options.province(allow_all=False)
@options.allow_unmatched
@click.option(
    "-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output .gpkg (layer lisa_<indicator>_<year>) or .geojson."
)
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also draw the clusters as an offline HTML map (.html).")
@options.overwrite
def lisa(paths, sheet, indicator, year, level, permutations, seed, significance, fdr, islands, province, allow_unmatched, output, map_path, overwrite) -> None:
    """Hot spots of one indicator: local Moran's I over queen contiguity. Units without a
    neighbour are reported and left out, or linked with --islands knn:K; --fdr controls the
    false discovery rate."""
    from gis._files import atomic_path, refuse_overwrite, require_writable_folder
    from gis.analysis.lisa import SEED, local_moran
    from gis.tables.indicators import registry, to_wide
    from gis.tables.join import cited_files

    suffix = output.suffix.lower()
    if suffix not in (".gpkg", ".geojson"):
        raise GisError(f"{output}: expected a .gpkg or .geojson file name")
    if map_path is not None and map_path.suffix.lower() != ".html":
        raise GisError(f"--map {map_path}: expected a .html file name")
    refuse_overwrite([output], overwrite)
    if map_path is not None:
        refuse_overwrite([map_path], overwrite)
        require_writable_folder(map_path, "--map")
    require_writable_folder(output, "-o")
    if indicator not in registry().index:
        raise GisError(f"--indicator {indicator}: not in gis/data/indicators.csv")
    boundaries, long, report = load_tables(paths, province, allow_unmatched, year, sheet)
    click.echo(report.summary())
    rows = long[long["indicator"] == indicator]
    years = sorted(rows["year"].unique())
    if year is None:
        if len(years) != 1:
            raise GisError(f"{indicator} has values for {len(years)} years ({', '.join(map(str, years))}); choose one with --year")
        year = int(years[0])
    column = f"{indicator}_{year}"
    units_frame = boundaries.counties if level == "counties" else boundaries.prefectures
    wide = to_wide(rows[rows["year"] == year], units_frame["adcode"])
    frame = units_frame[["adcode", "name", "geometry"]].merge(wide, on="adcode", how="left")
    if column not in frame.columns:
        raise GisError(f"no values of {indicator} for {year} among the {level}")
    result = local_moran(frame[["adcode", "name", column, "geometry"]], column, permutations, SEED if seed is None else seed, significance, fdr, islands)
    layer = f"lisa_{column}"
    with atomic_path(output) as temporary:
        if suffix == ".gpkg":
            result.frame.to_file(temporary, layer=layer, driver="GPKG")
        else:
            result.frame.to_file(temporary, driver="GeoJSON")
    where = f"{output} (layer {layer})" if suffix == ".gpkg" else str(output)
    click.echo(result.summary())
    click.echo(f"wrote {where}")
    if map_path is not None:
        files = sorted(cited_files(rows["source"]).unique())
        _lisa_map(result.frame, units_frame, indicator, year, boundaries, map_path, "; ".join(files), level)
        click.echo(f"wrote {map_path}")


def _lisa_map(clusters, units_frame, indicator: str, year: int, boundaries, map_path: Path, data_source: str,
              level: str) -> None:
    """Draw the LISA clusters with the shipped spec ``gis/assets/maps/lisa.toml``; units left
    out of the analysis are drawn as no data, ``data_source`` names where the values came from."""
    from gis.maps.analysis import analysis_spec, write_analysis_map
    from gis.tables.indicators import registry
    from gis.units.boundaries import province_name_en

    label = registry().loc[indicator]
    spec = analysis_spec("lisa").with_tokens(
        {"indicator": str(label["label_zh"]), "year": str(year), "place": boundaries.name},
        {"indicator": str(label["label_en"]), "year": str(year), "place": province_name_en(boundaries.code)},
    )
    columns = [c for c in clusters.columns if c not in units_frame.columns or c == "adcode"]
    frame = units_frame.merge(clusters[columns], on="adcode", how="left")
    write_analysis_map(spec, frame, level, data_source, map_path)
