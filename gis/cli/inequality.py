"""``gis inequality``: Theil T/L, Dagum Gini and CV of one indicator by groups, year by year."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli._tables import LEVELS, load_tables, resolve_groups, shipped_tables, table_group_columns
from gis.errors import GisError

MEASURE_LABELS = {
    "theil_t": ("泰尔指数 T", "Theil T (GE(1))"),
    "theil_l": ("泰尔指数 L", "Theil L (mean log deviation)"),
    "gini": ("基尼系数（Dagum 分解）", "Gini (Dagum decomposition)"),
    "cv": ("变异系数", "Coefficient of variation"),
}
GROUPING_LABELS = {"economic_region": "东部/中部/西部/东北", "region": "省内区域", "mountain26": "山区26县与其他",
                   "pilot_zone": "城乡融合发展试验区与其他", "prefecture": "设区市"}
GROUPING_LABELS_EN = {"economic_region": "NBS economic regions", "region": "provincial sub-regions",
                      "mountain26": "mountain-26 counties and the rest",
                      "pilot_zone": "urban-rural integration pilot zones and the rest", "prefecture": "prefecture"}
def grouping_labels(grouping: str, groups) -> tuple[str, str]:
    """Chinese and English name of a grouping for titles: a province's own sub-regions and the
    user's groups read as their groups (苏南/苏中/苏北), the other groupings by name."""
    groups = [str(g) for g in groups]
    if grouping in GROUPING_LABELS and grouping != "region":
        return GROUPING_LABELS[grouping], GROUPING_LABELS_EN[grouping]
    joined = "/".join(groups) if len(groups) <= 5 else f"{grouping} ({len(groups)} groups)"
    return joined, joined


COMPONENT_LABELS = {
    "total": "总体 total",
    "between": "组间 between",
    "within": "组内 within",
    "net_between": "净组间 net between",
    "transvariation": "超变密度 transvariation",
}


@click.command()
@options.data("paths")
@click.option("--indicator", required=True, help="Registry name of the indicator, e.g. rural_income.")
@click.option("--groups", "grouping", default=None,
              help="Groups of the decomposition: a shipped grouping (economic_region 东部/中部/西部/东北; region: the "
                   "province's own sub-regions, e.g. 苏南/苏中/苏北; mountain26; pilot_zone; prefecture) or a text column of your --data table.")
@click.option("--groups-file", "groups_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Your own groups: a CSV/XLSX of unit (adcode or name) and group.")
@click.option("--weights", type=click.Choice(["none", "population"]), default="none", show_default=True,
              help="Weight units by resident population (your table's resident_population, else the 2020 census).")
@click.option("--level", type=click.Choice(LEVELS), default="prefectures", show_default=True, help="Units compared.")
@click.option(
    "--year",
    type=options.YEARS,
    default=None,
    help="Year of --data tables that have no year column or years in their headers; without --data, the one year of the shipped values to analyse.",
)
@options.province(allow_all=False)
@options.allow_unmatched
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output .csv (tidy); <name>.gpkg and <name>.html are written beside it.")
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the units by group, with their values per year, as an offline HTML map (.html).")
@options.overwrite
def inequality(paths, sheet, indicator, grouping, groups_file, weights, level, year, province, allow_unmatched, output, map_path, overwrite) -> None:
    """Inequality of one indicator across units, decomposed between and within groups, for
    every year in the data. Without --data: the shipped seed data (urban and rural incomes of
    prefectures estimated from 表 3's ratio and gap, said so with their accuracy)."""
    import pandas as pd

    from gis._files import refuse_overwrite, write_csv
    from gis.analysis.grouping import census_population
    from gis.analysis.inequality import inequality_table
    from gis.tables.estimates import ESTIMATE_MARK, incomes_from_ratio_and_gap
    from gis.tables.indicators import registry
    from gis.units.planning import add_planning_attributes

    if output.suffix.lower() != ".csv":
        raise GisError(f"{output}: expected a .csv file name (the .gpkg and .html go beside it)")
    gpkg_path, html_path = output.with_suffix(".gpkg"), output.with_suffix(".html")
    if map_path is not None and map_path.suffix.lower() != ".html":
        raise GisError(f"--map {map_path}: expected a .html file name")
    if map_path is not None and map_path.resolve() == html_path.resolve():
        raise GisError(f"--map {map_path}: that is the chart page written beside -o; choose another name")
    refuse_overwrite([output, gpkg_path, html_path, *([map_path] if map_path else [])], overwrite)
    from gis._files import require_writable_folder

    require_writable_folder(output, "-o")
    if map_path is not None:
        require_writable_folder(map_path, "--map")
    if indicator not in registry().index:
        raise GisError(f"--indicator {indicator}: not in gis/data/indicators.csv")
    if grouping is None and groups_file is None:
        raise GisError("give --groups NAME or --groups-file FILE")
    columns = table_group_columns(paths, [grouping]) if groups_file is None else {}
    if paths:
        boundaries, long, report = load_tables(paths, province, allow_unmatched, year, sheet, attribute_columns=list(columns))
        click.echo(report.summary())
    else:
        boundaries, long, report = shipped_tables(province)
        click.echo(report.summary())
        if indicator == "resident_population" and not (long["indicator"] == indicator).any():
            long = pd.concat([long, _census_rows(level)], ignore_index=True)
            click.echo("resident_population: the 2020 census, gis/data/census/population_2020.csv")
        if year is not None:  # the census has 2010 and 2020, on different sets of units
            long = long[long["year"] == year]
    if indicator in ("rural_income", "urban_income"):
        estimated = incomes_from_ratio_and_gap(long)
        if not estimated.empty:
            long = pd.concat([long, estimated], ignore_index=True)
            click.echo(f"{len(estimated) // 2} unit-year(s) without incomes: rural and urban income estimated from "
                       f"income_ratio and income_gap (rural = gap / (ratio − 1)); each row's source gives its accuracy")
    boundaries = add_planning_attributes(boundaries)
    units = (boundaries.counties if level == "counties" else boundaries.prefectures).reset_index(drop=True)
    groups, group_source = resolve_groups(units, grouping, groups_file, columns, boundaries, level, allow_unmatched)
    grouping = grouping if groups_file is None else "groups_file"
    units = units.assign(group=groups.array)[groups.notna().to_numpy()].reset_index(drop=True)
    click.echo(f"groups: {', '.join(units['group'].cat.categories)} (from {group_source.split(';')[0][:80]}; in full in the CSV's groups_source)")
    rows = long[(long["indicator"] == indicator) & long["adcode"].isin(set(units["adcode"]))]
    if rows.empty:
        raise GisError(f"no values of {indicator} for the {level} of {boundaries.name}")
    without = units[~units["adcode"].isin(set(rows["adcode"]))]
    if len(without):
        click.echo(f"Left out ({len(without)} of {len(units)} {level}, no value of {indicator} in any year): "
                   + ", ".join(f"{n} ({a})" for n, a in zip(without["name"], without["adcode"])))
    frame = rows[["adcode", "year", "value", "source"]].merge(units[["adcode", "name", "group"]], on="adcode")
    spread = frame.groupby("year")["value"].agg(["min", "max"])
    flat = spread[spread["min"] == spread["max"]]
    if len(flat):
        raise GisError(f"{indicator} has the same value ({flat['min'].iloc[0]:g}) for every unit in "
                       f"{', '.join(map(str, flat.index))}; there is no inequality to decompose")
    weight_column, weight_source = None, "unweighted 不加权"
    if weights == "population":
        frame, weight_source = _population_weights(frame, long, level, census_population)
        weight_column = "population"
        click.echo(f"weights: {weight_source}")
    table = inequality_table(frame, value="value", group="group", weight=weight_column)
    sources = _value_sources(frame["source"], ESTIMATE_MARK)
    table = table.assign(indicator=indicator, level=level, groups=grouping, groups_source=group_source, weights=weight_source,
                         source=" | ".join(sources))
    write_csv(table, output)
    _write_gpkg(gpkg_path, table, units, frame, indicator, grouping)
    _write_page(html_path, table, frame, indicator, grouping, level, boundaries.name, weight_source, sources)
    click.echo(_summary(table))
    click.echo(f"wrote {output}, {gpkg_path} and {html_path}")
    if map_path is not None:
        _write_map(map_path, units, frame, indicator, grouping, level, boundaries, sources)
        click.echo(f"wrote {map_path}")


def _census_rows(level: str):
    """The shipped 2020 census resident population of every unit of ``level`` (long form)."""
    from gis.tables.census import census_population

    rows = census_population()
    rows = rows[rows["level"] == {"counties": "county", "prefectures": "prefecture"}[level]]
    return rows.assign(indicator="resident_population", unit="persons")[["adcode", "name", "year", "indicator", "value", "unit", "source"]]


def _write_map(path: Path, units, frame, indicator: str, grouping: str, level: str, boundaries, sources) -> None:
    """Units by group from ``gis/assets/maps/inequality.toml``, popups with the indicator in
    every year analysed. Units without a value in any year were left out of the decomposition
    and show as no data (group too); estimated values carry their source with its accuracy."""
    import pandas as pd

    from gis.maps.analysis import analysis_spec, write_analysis_map
    from gis.tables.estimates import ESTIMATE_MARK
    from gis.tables.indicators import registry
    from gis.units.boundaries import province_name_en

    wide = frame.pivot(index="adcode", columns="year", values="value")
    years = [int(y) for y in wide.columns]
    wide.columns = [f"{indicator}_{y}" for y in wide.columns]
    analysed = set(frame["adcode"])
    groups = list(units["group"].cat.categories)
    map_frame = units[["adcode", "name", "geometry"]].assign(
        group=pd.Categorical(units["group"].where(units["adcode"].isin(analysed)), categories=groups)
    ).merge(wide.reset_index(), on="adcode", how="left")
    # Which of a unit's values are estimates (their source says how and how accurate).
    estimated = frame[frame["source"].str.startswith(ESTIMATE_MARK)].sort_values("year")
    map_frame["estimated"] = map_frame["adcode"].map(estimated.groupby("adcode")["year"].agg(lambda y: ", ".join(map(str, y))))
    label = registry().loc[indicator]
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    spec = analysis_spec("inequality").with_tokens(
        {"place": boundaries.name, "indicator": str(label["label_zh"]), "years": f"{span}年", "grouping_zh": grouping_labels(grouping, groups)[0]},
        {"place": province_name_en(boundaries.code), "indicator": str(label["label_en"]), "years": span,
         "grouping_en": grouping_labels(grouping, groups)[1]},
    )
    write_analysis_map(spec, map_frame, level, "; ".join(sources), path)


def _population_weights(frame, long, level: str, census_population):
    """Attach ``population`` to every unit-year: the user's resident_population for each
    unit-year if the data give it for all of them, else the 2020 census for every year."""
    own = long[(long["indicator"] == "resident_population") & long["adcode"].isin(set(frame["adcode"]))]
    if not own.empty:
        merged = frame.merge(own[["adcode", "year", "value"]].rename(columns={"value": "population"}), on=["adcode", "year"], how="left")
        absent = merged[merged["population"].isna()]
        if len(absent):
            where = ", ".join(f"{n} ({y})" for n, y in zip(absent["name"][:10], absent["year"][:10]))
            raise GisError(f"--weights population: your data give resident_population but not for {len(absent)} unit-year(s): {where}; "
                           f"add them (the census is not mixed with your figures)")
        files = sorted(set(own["source"].str.replace(r", row \d+", "", regex=True)))
        return merged, "resident_population from " + "; ".join(files)
    population, source = census_population(frame["adcode"].unique(), level)
    frame = frame.assign(population=frame["adcode"].map(population).to_numpy())
    return frame, f"2020 census resident population, used for every year ({source})"


def _value_sources(sources, estimate_mark: str) -> list[str]:
    """Distinct sources of the values; estimated rows are summarised with their accuracy range."""
    import re

    plain = sorted(set(sources[~sources.str.startswith(estimate_mark)].str.replace(r", row \d+", "", regex=True)))
    estimated = sources[sources.str.startswith(estimate_mark)]
    lines = list(plain)
    if len(estimated):
        accuracy = estimated.str.extract(r"±([0-9.]+)%")[0].astype(float)
        bases = sorted({re.sub(r"^.*? from their rounding; ", "", s).rstrip(")") for s in estimated})
        lines.append(f"{estimate_mark}: rural = gap / (ratio − 1), urban = ratio × rural, from the printed ratio and gap; "
                     f"accurate to ±{accuracy.min():.2f}–{accuracy.max():.2f} % (rounding of the printed figures); "
                     + "; ".join(bases))
    return lines


def _summary(table) -> str:
    main = table[
        (table["component"].isin(["total", "between", "within", "net_between", "transvariation"])) & (table["group"] == "") & (table["measure"] != "n")
    ]
    wide = main.pivot_table(index="year", columns=["measure", "component"], values="value")
    return wide.to_string(float_format=lambda v: f"{v:.4f}")


def _write_gpkg(path: Path, table, units, frame, indicator: str, grouping: str) -> None:
    """The tidy table (non-spatial) and the units with their group and values (styled by group)."""
    import geopandas as gpd

    from gis.analysis.grouping import group_colours
    from gis.outputs.gpkg import OutputLayer, write_geopackage
    from gis.outputs.qgis_style import FillSymbol, LayerStyle, StyleClass, literal, no_data_class, quote_field

    wide = frame.pivot(index="adcode", columns="year", values="value")
    wide.columns = [f"{indicator}_{y}" for y in wide.columns]
    layer_units = gpd.GeoDataFrame(units[["adcode", "name", "group", "geometry"]].merge(wide.reset_index(), on="adcode", how="left"),
                                   geometry="geometry", crs=units.crs)
    groups = list(units["group"].cat.categories)
    colours = group_colours(layer_units, "group", groups)
    layer_units["group"] = layer_units["group"].astype(str)
    style = LayerStyle(
        name=f"groups ({grouping})",
        classes=[StyleClass(f"{quote_field('group')} = {literal(g)}", g, FillSymbol(fill=colours[g], fill_opacity=0.6))
                 for g in groups] + [no_data_class()],
        label_field="name", description=f"Units by --groups {grouping}", default=True,
    )
    write_geopackage(path, [
        OutputLayer(f"inequality_{indicator}_units", layer_units, f"{indicator} by {grouping}",
                    "Units of the decomposition with their group and the values analysed", [style]),
        OutputLayer(f"inequality_{indicator}", table, f"Inequality of {indicator}",
                    "Theil T/L, Dagum Gini and CV by year (tidy: year, measure, component, group, value)"),
    ])


def _write_page(path: Path, table, frame, indicator: str, grouping: str, level: str, place: str, weight_source: str, sources) -> None:
    from gis._files import write_text_atomic
    from gis.outputs.series_page import Chart, Series, SeriesPage, Table, render_series_page
    from gis.tables.indicators import registry

    label = registry().loc[indicator]
    charts = []
    for measure, (zh, en) in MEASURE_LABELS.items():
        part = table[(table["measure"] == measure) & (table["group"] == "")]
        if part.empty:
            continue
        series = [Series(COMPONENT_LABELS[c], list(zip(rows["year"].astype(float), rows["value"].astype(float))))
                  for c, rows in part.groupby("component", sort=False)]
        charts.append(Chart(f"{zh} / {en}", "指数 index", series))
    group_means = (frame.assign(wv=frame["value"] * (frame["population"] if "population" in frame else 1),
                                w=frame["population"] if "population" in frame else 1)
                   .groupby(["year", "group"])[["wv", "w"]].sum())
    means = (group_means["wv"] / group_means["w"]).unstack("group")
    charts.insert(0, Chart(f"各组均值 / Group means: {label['label_zh']}", f"{label['unit']}",
                           [Series(g, list(zip(means.index.astype(float), means[g].astype(float)))) for g in means.columns],
                           note="人口加权 population-weighted" if "population" in frame else "简单平均 unweighted mean"))
    main = table[(table["group"] == "") & (table["measure"] != "n")]
    wide = main.pivot_table(index="year", columns=["measure", "component"], values="value")
    header = ["年份 year"] + [f"{MEASURE_LABELS[m][0]} {COMPONENT_LABELS[c]}" for m, c in wide.columns]
    rows = [[str(y)] + [f"{v:.4f}" for v in wide.loc[y]] for y in wide.index]
    n_units = table[table["measure"] == "n"].set_index("year")["value"]
    page = SeriesPage(
        title_zh=f"{place}{label['label_zh']}的差异及其分解（按{grouping_labels(grouping, frame['group'].cat.categories)[0]}分组）",
        title_en=f"Inequality of {label['label_en']} across {level}, {place}, decomposed by {grouping}",
        description=f"单元 units: {level}, {int(n_units.min())} per year; 权重 weights: {weight_source}",
        charts=charts,
        tables=[Table("分解结果 Decomposition", header, rows)],
        sources=list(sources),
        notes=["Theil T/L: Theil (1967); Gini 分解: Dagum C. (1997) Empirical Economics 22: 515–531; "
               "CV: population standard deviation / mean. Formulas: gis/analysis/inequality.py."],
    )
    write_text_atomic(path, render_series_page(page))
