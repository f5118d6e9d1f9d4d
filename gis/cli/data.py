"""``gis template``, ``gis check``, ``gis index`` and ``gis lisa``: bring-your-own-data commands.

``template`` writes a fill-in table for a province's counties or prefectures; ``check`` reads
users' tables and prints the join report without building anything; ``index`` computes the
entropy-weighted urban-rural integration index and the coupling coordination degree;
``lisa`` finds hot spots of one indicator (local Moran's I) and writes a GeoPackage layer or
GeoJSON.
"""

from __future__ import annotations

import csv
from pathlib import Path

import click
import pandas as pd

from gis.boundaries import load_boundaries
from gis.errors import GisError
from gis.indicators import registry, units, to_wide
from gis.join import JoinError, cited_files, load_user_tables
from gis.raster_io import atomic_path, refuse_overwrite

LEVELS = ("counties", "prefectures")


def _load(paths, province: str, allow_unmatched: bool, year: int | None):
    """Boundaries and joined user tables; on a join problem the report is printed first."""
    if not paths:
        raise GisError("give at least one table with --data")
    boundaries = load_boundaries(province)
    try:
        long, report = load_user_tables(paths, boundaries, allow_unmatched=allow_unmatched, default_year=year)
    except JoinError as error:
        click.echo(error.report.summary())
        raise
    return boundaries, long, report


# --------------------------------------------------------------------------------------------
# template


def template_frame(boundaries, level: str, year: int | None) -> pd.DataFrame:
    """The fill-in table: adcode, name, prefecture (counties), year (if not in the headers)
    and one empty column per registry indicator (``<name>_<year>`` when ``year`` is given)."""
    reg = registry()
    if level == "counties":
        units_frame = boundaries.counties
        table = pd.DataFrame({"adcode": units_frame["adcode"], "name": units_frame["name"], "prefecture": units_frame["prefecture_name"]})
    else:
        units_frame = boundaries.prefectures
        table = pd.DataFrame({"adcode": units_frame["adcode"], "name": units_frame["name"]})
    if year is None:
        table["year"] = ""
    for indicator in reg.index:
        table[indicator if year is None else f"{indicator}_{year}"] = ""
    return table.reset_index(drop=True)


def indicator_notes() -> pd.DataFrame:
    """One row per indicator: name, Chinese and English label, unit (and its Chinese label),
    direction, group, valid range and note — the template's description sheet."""
    reg = registry().reset_index()
    unit_zh = units()["label_zh"]
    return pd.DataFrame(
        {
            "indicator": reg["indicator"],
            "label_zh": reg["label_zh"],
            "label_en": reg["label_en"],
            "unit": reg["unit"],
            "unit_zh": reg["unit"].map(unit_zh).fillna(""),
            "direction": reg["direction"],
            "group": reg["group"],
            "min_value": reg["min_value"],
            "max_value": reg["max_value"],
            "note": reg["note"].fillna(""),
        }
    )


def _write_template_xlsx(table: pd.DataFrame, notes: pd.DataFrame, path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="data", index=False)
        notes.to_excel(writer, sheet_name="indicators 指标说明", index=False)
        sheet = writer.sheets["data"]
        sheet.freeze_panes = "C2"  # keep codes and names in view while filling in to the right
        for column in ("A", "B", "C"):
            sheet.column_dimensions[column].width = 14


def _write_template_csv(table: pd.DataFrame, notes: pd.DataFrame, path: Path) -> None:
    lines = [
        "# Fill-in table for gis check / gis build. Lines starting with # are ignored.",
        "# 填写说明：每行一个县（市、区）；数值按下列单位填写；缺失值留空或填 —。",
        "# indicator | 中文名称 | unit 单位 | direction | valid range",
    ]
    for row in notes.itertuples():
        low = "" if pd.isna(row.min_value) else f"{row.min_value:g}"
        high = "" if pd.isna(row.max_value) else f"{row.max_value:g}"
        unit = f"{row.unit} ({row.unit_zh})" if row.unit_zh else row.unit
        lines.append(f"# {row.indicator} | {row.label_zh} | {unit} | {row.direction} | {low}..{high}".replace(",", "，"))
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write("\n".join(lines) + "\n")
        table.to_csv(f, index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)


@click.command()
@click.argument("level", type=click.Choice(LEVELS))
@click.option("--province", default="330000", show_default=True, help="6-digit province adcode.")
@click.option("--year", type=int, default=None, help="Name the columns <indicator>_<year> instead of adding a year column.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output .xlsx or .csv.")
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
def template(level: str, province: str, year: int | None, output: Path, overwrite: bool) -> None:
    """Write a fill-in table of the province's COUNTIES or PREFECTURES, one column per indicator."""
    suffix = output.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise GisError(f"{output}: expected a .xlsx or .csv file name")
    refuse_overwrite([output], overwrite)
    boundaries = load_boundaries(province)
    table = template_frame(boundaries, level, year)
    notes = indicator_notes()
    if suffix == ".xlsx":
        _write_template_xlsx(table, notes, output)
    else:
        _write_template_csv(table, notes, output)
    click.echo(f"wrote {output} ({len(table)} {level}, {len(notes)} indicators)")


# --------------------------------------------------------------------------------------------
# check


@click.command()
@click.option("--data", "paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path), help="A table (.csv or .xlsx); repeat for several.")
@click.option("--province", default="330000", show_default=True, help="6-digit province adcode, or 'all'.")
@click.option("--allow-unmatched", is_flag=True, help="Leave out rows that match no unit (they are still reported).")
@click.option("--year", type=int, default=None, help="Year of wide tables without a year column or years in their headers.")
def check(paths, province: str, allow_unmatched: bool, year: int | None) -> None:
    """Validate tables and print the join report, without building anything."""
    _, long, report = _load(paths, province, allow_unmatched, year)
    click.echo(report.summary())


# --------------------------------------------------------------------------------------------
# index


@click.command(name="index")
@click.option("--data", "paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path), help="A table (.csv or .xlsx); repeat for several.")
@click.option("--indicators", required=True, help="Comma-separated registry names of the inputs.")
@click.option("--groups", default=None, help="Two groups for the coupling coordination degree: 'income=a,b;services=c,d'.")
@click.option("--year", type=int, default=None, help="Year of the values (needed when the data have several years).")
@click.option("--level", type=click.Choice(LEVELS), default="counties", show_default=True, help="Units to score.")
@click.option("--alpha", type=float, default=0.5, show_default=True, help="Weight of the first group in T (β = 1 − α).")
@click.option("--province", default="330000", show_default=True, help="6-digit province adcode.")
@click.option("--allow-unmatched", is_flag=True, help="Leave out rows that match no unit (they are still reported).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output .csv (weights go to <name>.weights.csv).")
@click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
def index_command(paths, indicators, groups, year, level, alpha, province, allow_unmatched, output, overwrite) -> None:
    """Urban-rural integration index (entropy weights) and coupling coordination degree."""
    from gis.integration import integration_index, parse_groups

    if output.suffix.lower() != ".csv":
        raise GisError(f"{output}: expected a .csv file name")
    weights_path = output.with_name(output.stem + ".weights.csv")
    for path in (output, weights_path):
        refuse_overwrite([path], overwrite)
    names = [i.strip() for i in indicators.split(",") if i.strip()]
    group_map = parse_groups(groups, names)
    boundaries, long, report = _load(paths, province, allow_unmatched, year)
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


# --------------------------------------------------------------------------------------------
# lisa


@click.command()
@click.option("--data", "paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path), help="A table (.csv or .xlsx); repeat for several.")
@click.option("--indicator", required=True, help="Registry name of the indicator to analyse.")
@click.option("--year", type=int, default=None, help="Year of the values (needed when the data have several years).")
@click.option("--level", type=click.Choice(LEVELS), default="counties", show_default=True, help="Units to analyse.")
@click.option("--permutations", type=int, default=999, show_default=True, help="Conditional permutations for pseudo p-values.")
@click.option("--seed", type=int, default=None, help="Random seed (default: fixed, so results repeat).")
@click.option("--alpha", "significance", type=float, default=0.05, show_default=True, help="Significance level for clusters.")
@click.option("--province", default="330000", show_default=True, help="6-digit province adcode.")
@click.option("--allow-unmatched", is_flag=True, help="Leave out rows that match no unit (they are still reported).")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output .gpkg (layer lisa_<indicator>_<year>) or .geojson.")
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Also draw the clusters as an offline HTML map (.html).")
@click.option("--overwrite", is_flag=True, help="Replace an existing file.")
def lisa(paths, indicator, year, level, permutations, seed, significance, province, allow_unmatched, output, map_path, overwrite) -> None:
    """Hot spots of one indicator: local Moran's I over queen contiguity."""
    from gis.lisa import SEED, local_moran

    suffix = output.suffix.lower()
    if suffix not in (".gpkg", ".geojson"):
        raise GisError(f"{output}: expected a .gpkg or .geojson file name")
    if map_path is not None and map_path.suffix.lower() != ".html":
        raise GisError(f"--map {map_path}: expected a .html file name")
    refuse_overwrite([output], overwrite)
    if map_path is not None:
        refuse_overwrite([map_path], overwrite)
    if indicator not in registry().index:
        raise GisError(f"--indicator {indicator}: not in gis/data/indicators.csv")
    boundaries, long, report = _load(paths, province, allow_unmatched, year)
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
    result = local_moran(frame[["adcode", "name", column, "geometry"]], column, permutations, SEED if seed is None else seed, significance)
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
        _lisa_map(result.frame, units_frame, indicator, year, boundaries, map_path, "; ".join(files))
        click.echo(f"wrote {map_path}")


def _lisa_map(clusters, units_frame, indicator: str, year: int, boundaries, map_path: Path, data_source: str) -> None:
    """Draw the LISA clusters with the shipped spec ``gis/assets/maps/lisa.toml``; units left
    out of the analysis are drawn as no data, ``data_source`` names where the values came from."""
    from importlib import resources

    from gis.boundaries import province_name_en
    from gis.maps import load_spec, write_atomic
    from gis.maps.render import build_page

    with resources.as_file(resources.files("gis").joinpath("assets", "maps", "lisa.toml")) as spec_path:
        spec = load_spec(spec_path)
    label = registry().loc[indicator]
    spec = spec.with_tokens(
        {"indicator": str(label["label_zh"]), "year": str(year), "place": boundaries.name},
        {"indicator": str(label["label_en"]), "year": str(year), "place": province_name_en(boundaries.code)},
    )
    columns = [c for c in clusters.columns if c not in units_frame.columns or c == "adcode"]
    frame = units_frame.merge(clusters[columns], on="adcode", how="left")
    sources = pd.DataFrame([{"layer": spec.layer, "column": "lisa_*", "source": data_source}])
    page = build_page(spec, {spec.layer: frame, "sources": sources}, spec.basemap)
    write_atomic(map_path, page.html)
