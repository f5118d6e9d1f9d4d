"""``gis index``: the urban-rural integration index (entropy weights) and coupling coordination."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli._tables import LEVELS, load_tables
from gis.errors import GisError


@click.command(name="index")
@options.data("paths")
@click.option("--indicators", required=True, help="Comma-separated registry names of the inputs.")
@click.option("--groups", default=None, help="Two groups for the coupling coordination degree: 'income=a,b;services=c,d'.")
@click.option("--year", type=options.YEARS, default=None, help="Year of the values (needed when the data have several years).")
@click.option("--level", type=click.Choice(LEVELS), default="counties", show_default=True, help="Units to score.")
@click.option("--alpha", type=options.FiniteFloat(0, 1), default=0.5, show_default=True, help="Weight of the first group in T (β = 1 − α).")
@options.province(allow_all=False)
@options.allow_unmatched
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output .csv (weights go to <name>.weights.csv).")
@options.overwrite
def index_command(paths, indicators, groups, year, level, alpha, province, allow_unmatched, output, overwrite) -> None:
    """Urban-rural integration index (entropy weights) and coupling coordination degree."""
    from gis._files import refuse_overwrite
    from gis.analysis.integration import integration_index, parse_groups

    if output.suffix.lower() != ".csv":
        raise GisError(f"{output}: expected a .csv file name")
    weights_path = output.with_name(output.stem + ".weights.csv")
    for path in (output, weights_path):
        refuse_overwrite([path], overwrite)
    names = [i.strip() for i in indicators.split(",") if i.strip()]
    group_map = parse_groups(groups, names)
    boundaries, long, report = load_tables(paths, province, allow_unmatched, year)
    click.echo(report.summary())
    units_frame = boundaries.counties if level == "counties" else boundaries.prefectures
    result = integration_index(long, names, units_frame, group_map or None, year, alpha, 1 - alpha)
    # Every unit appears in the output; those without an index say which inputs they lack.
    table = units_frame[["adcode", "name"]].merge(result.scores.drop(columns=["name"]), on="adcode", how="left")
    table["year"] = result.year
    missing = {key.rsplit(" (", 1)[1].rstrip(")"): ", ".join(v) for key, v in result.missing.items()}
    table["missing_inputs"] = table["adcode"].map(missing).fillna("")
    table.to_csv(output, index=False, encoding="utf-8-sig")
    result.weights.to_csv(weights_path, index=False, encoding="utf-8-sig")
    click.echo(result.summary())
    click.echo(f"wrote {output} and {weights_path}")
