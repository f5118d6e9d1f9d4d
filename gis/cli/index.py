"""``gis index``: the urban-rural integration index — entropy weights (one set across years),
entropy-TOPSIS, obstacle degree and the coupling coordination degree with its ten grades."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli._tables import LEVELS, load_tables, resolve_groups, table_group_columns
from gis.errors import GisError

#: Written beside the scores (<name>.method.txt): what was computed, the formulas, the sources.
METHOD_TEXT = """\
城乡融合发展指数 Urban-rural integration index — method
========================================================
Indicators: {indicators}
Units: {n_units} {level}; years: {years} ({panel})
Method: {method}

1. Min-max normalisation by direction (gis/data/indicators.csv `direction`), over all unit-years:
   higher_better x' = (x − min) / (max − min); higher_worse x' = (max − x) / (max − min).
   One min and max across the years, so scores of different years are comparable
   (杨丽, 孙之淳 2015, 经济问题 (3): 115–119).
2. Entropy weights 熵值法: p = x' / Σx', e = −Σ p ln p / ln n (n = unit-years; 0·ln 0 = 0),
   w = (1 − e) / Σ(1 − e)  (Shannon 1948). One weight set for all years.
3. index = Σ w·x'  ∈ [0, 1].
4. Entropy-TOPSIS (Hwang & Yoon 1981): v = w·x', D⁺ = ‖v − max v‖, D⁻ = ‖v − min v‖,
   closeness = D⁻ / (D⁺ + D⁻) ∈ [0, 1].
5. Obstacle degree 障碍度: O_j = w_j (1 − x'_j) / Σ_j w_j (1 − x'_j); per unit-year the shares
   sum to 1; obstacle_rank 1 is the indicator holding the unit back most.
{coupling}
Weights: <name>.weights.csv; obstacles: <name>.obstacles.csv; map layer: <name>.gpkg.
No value is filled in: units missing an input in any year analysed get no score (listed in
missing_inputs).
"""

COUPLING_TEXT = {
    "wang2021": """\
6. Coupling coordination degree 耦合协调度 between {k} subsystems ({groups}), each scored with
   its own entropy weights over the panel (U_i):
   C = sqrt{{[1 − Σ_(i>j) |U_i − U_j| / Σ_(m=1..n−1) m] · Π_i (U_i / max U)^(1/(n−1))}}
   (two subsystems: C = sqrt[(1 − |U1 − U2|) · min(U1, U2) / max(U1, U2)]),
   the modified coupling degree of 王淑佳, 孔伟, 任亮, 治丹丹, 戴彬婷 (2021) 国内耦合协调度模型的
   误区及修正, 自然资源学报 36(3): 793–810. NOTE: transcribed from secondary citations of the
   paper and checked for consistency with its 表 8 (original vs modified C of 13 京津冀
   cities); the printed equation could not be read here — verify before publishing.
   T = Σ α_i U_i (α = {alpha}), D = sqrt(C · T).
   Grades of D (廖重斌 1999, 热带地理 19(2)): [0,0.1) 极度失调, [0.1,0.2) 严重失调, [0.2,0.3) 中度失调,
   [0.3,0.4) 轻度失调, [0.4,0.5) 濒临失调, [0.5,0.6) 勉强协调, [0.6,0.7) 初级协调,
   [0.7,0.8) 中级协调, [0.8,0.9) 良好协调, [0.9,1] 优质协调.
""",
    "traditional": """\
6. Coupling coordination degree 耦合协调度 between {k} subsystems ({groups}), each scored with
   its own entropy weights over the panel (U_i), traditional form as restated by 王淑佳 等
   (2021, 自然资源学报 36(3): 793–810): C = [Π U_i / ((Σ U_i)/n)^n]^(1/n)
   (two subsystems: C = 2 sqrt(U1 U2) / (U1 + U2); 刘耀彬 等 2005, 自然资源学报 20(1)).
   T = Σ α_i U_i (α = {alpha}), D = sqrt(C · T).
   Grades of D (廖重斌 1999, 热带地理 19(2)): [0,0.1) 极度失调 … [0.9,1] 优质协调 (ten classes of 0.1).
""",
}


#: How the map names the coupling form (gis/assets/maps/index.toml tokens {coupling_*} and
#: {coupling_short_*}): the default form is flagged as unverified on the page itself.
COUPLING_NOTES = {
    "wang2021": (
        "耦合度 C 采用王淑佳等（2021）修正式：公式转录自二次引用，未核对原文印刷公式，发表前请核对。",
        "Coupling degree C: corrected form of Wang et al. (2021), transcribed from secondary citations; "
        "the paper's printed equation is not verified, check before publishing.",
        "C：王淑佳等 2021 式，未核对原文",
        "C: Wang et al. 2021 form, unverified",
    ),
    "traditional": (
        "耦合度 C 采用传统式（刘耀彬等 2005）。",
        "Coupling degree C: traditional form (Liu et al. 2005).",
        "C：传统式",
        "C: traditional form",
    ),
}
SCORE_LABELS = {
    "entropy": ("熵权综合指数", "entropy-weighted index"),
    "entropy_topsis": ("熵权 TOPSIS 贴近度", "entropy-TOPSIS closeness"),
}


def _years_option(text: str | None):
    if text is None or text == "all":
        return text
    try:
        return sorted({int(y) for y in text.split(",") if y.strip()})
    except ValueError:
        raise GisError(f"--years {text}: expected 'all' or years like 2015,2020") from None


@click.command(name="index")
@options.data("paths")
@click.option("--indicators", required=True, help="Comma-separated registry names of the inputs.")
@click.option("--groups", default=None, help="Two subsystems for the coupling coordination degree: 'income=a,b;services=c,d'.")
@click.option("--by", "by", default=None,
              help="Unit groups to summarise the scores by (NAME.groups.csv): a shipped grouping (economic_region, region, "
                   "mountain26, pilot_zone, prefecture) or a text column of your --data table.")
@click.option("--groups-file", "groups_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Your own unit groups for the summary: a CSV/XLSX of unit (adcode or name) and group.")
@click.option("--method", type=click.Choice(["entropy", "entropy_topsis"]), default="entropy", show_default=True,
              help="Score by the entropy-weighted sum, or by TOPSIS closeness with entropy weights (both are written; this names the one mapped and ranked).")
@click.option("--coupling-form", type=click.Choice(["wang2021", "traditional"]), default="wang2021", show_default=True,
              help="Coupling degree C: the corrected form of 王淑佳 et al. 2021, or the traditional one.")
@click.option("--year", type=options.YEARS, default=None, help="One year of the values (needed when the data have several years and --years is not given).")
@click.option("--years", "years_text", default=None, help="Panel: 'all' or comma-separated years scored with one weight set, so scores compare over time.")
@click.option("--level", type=click.Choice(LEVELS), default="counties", show_default=True, help="Units to score.")
@click.option("--alpha", type=options.FiniteFloat(0, 1), default=0.5, show_default=True, help="Weight of the first group in T (β = 1 − α).")
@options.province(allow_all=False)
@options.allow_unmatched
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output .csv; <name>.weights.csv, .obstacles.csv, .method.txt and .gpkg go beside it.")
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw the scores (and coupling coordination grades) as an offline HTML map (.html).")
@options.overwrite
def index_command(
    paths,
    sheet,
    indicators,
    groups,
    by,
    groups_file,
    method,
    coupling_form,
    year,
    years_text,
    level,
    alpha,
    province,
    allow_unmatched,
    output,
    map_path,
    overwrite,
) -> None:
    """Urban-rural integration index: entropy weights (one set across the years of a panel),
    entropy-TOPSIS, obstacle degree and the coupling coordination degree with its ten grades."""
    import pandas as pd

    from gis._files import refuse_overwrite, require_writable_folder, write_csv, write_text_atomic
    from gis.analysis.integration import check_index_indicators, parse_groups
    from gis.analysis.mcda import panel_entropy_index

    if output.suffix.lower() != ".csv":
        raise GisError(f"{output}: expected a .csv file name")
    beside = {kind: output.with_name(f"{output.stem}.{kind}") for kind in ("weights.csv", "obstacles.csv", "method.txt")}
    if by is not None or groups_file is not None:
        beside["groups.csv"] = output.with_name(f"{output.stem}.groups.csv")
    gpkg_path = output.with_suffix(".gpkg")
    if map_path is not None and map_path.suffix.lower() != ".html":
        raise GisError(f"--map {map_path}: expected a .html file name")
    refuse_overwrite([output, gpkg_path, *beside.values(), *([map_path] if map_path else [])], overwrite)
    require_writable_folder(output, "-o")
    if map_path is not None:
        require_writable_folder(map_path, "--map")
    if year is not None and years_text is not None:
        raise GisError("give --year (one year) or --years (a panel), not both")
    names = [i.strip() for i in indicators.split(",") if i.strip()]
    reg = check_index_indicators(names)
    directions = {i: reg.loc[i, "direction"] for i in names}
    neutral = [i for i, d in directions.items() if d not in ("higher_better", "higher_worse")]
    if neutral:
        raise GisError(f"--indicators: {', '.join(neutral)} ha{'s' if len(neutral) == 1 else 've'} direction 'neutral' in "
                       f"gis/data/indicators.csv; the index needs higher_better or higher_worse")
    group_map = parse_groups(groups, names)
    wanted_years = _years_option(years_text)
    columns = table_group_columns(paths, [by]) if by is not None and groups_file is None else {}
    boundaries, long, report = load_tables(paths, province, allow_unmatched, year, sheet, attribute_columns=list(columns))
    click.echo(report.summary())
    units = (boundaries.counties if level == "counties" else boundaries.prefectures).reset_index(drop=True)
    unit_groups = None
    if "groups.csv" in beside:
        from gis.units.planning import add_planning_attributes

        planned = add_planning_attributes(boundaries)
        planned_units = (planned.counties if level == "counties" else planned.prefectures).reset_index(drop=True)
        unit_groups, group_source = resolve_groups(planned_units, by, groups_file, columns, boundaries, level, allow_unmatched)
    rows = long[long["indicator"].isin(names) & long["adcode"].isin(set(units["adcode"]))]
    have_years = sorted(int(y) for y in rows["year"].unique())
    if not have_years:
        raise GisError(f"no values for {', '.join(names)} among the {level}")
    if wanted_years is None:
        if year is None and len(have_years) > 1:
            raise GisError(
                f"the inputs have several years ({', '.join(map(str, have_years))}); choose one with --year, or score them as a panel with --years all"
            )
        chosen = [year if year is not None else have_years[0]]
    else:
        chosen = have_years if wanted_years == "all" else wanted_years
    absent_years = [y for y in chosen if y not in have_years]
    if absent_years:
        raise GisError(f"no values in {', '.join(map(str, absent_years))} (the data have {', '.join(map(str, have_years))})")
    rows = rows[rows["year"].isin(chosen)]
    # A unit scores only with every input in every chosen year; the rest are listed, not filled.
    full = pd.MultiIndex.from_product([units["adcode"], chosen, names], names=["adcode", "year", "indicator"])
    present = pd.Series(True, index=pd.MultiIndex.from_frame(rows[["adcode", "year", "indicator"]]))
    holes = full.difference(present.index)
    missing = {}
    for adcode, y, indicator in holes:
        missing.setdefault(adcode, []).append(f"{indicator} {y}" if len(chosen) > 1 else indicator)
    complete = rows[~rows["adcode"].isin(set(missing))]
    if complete["adcode"].nunique() < 2:
        raise GisError(f"fewer than 2 {level} have every input in {', '.join(map(str, chosen))}; {len(missing)} lack some (e.g. "
                       + "; ".join(f"{a}: {', '.join(v[:3])}" for a, v in list(missing.items())[:3]) + ")")
    k = len(group_map)
    alphas = [alpha, 1 - alpha] if k == 2 else None
    result = panel_entropy_index(complete, directions, group_map or None, alphas, coupling_form)
    names_by_code = dict(zip(units["adcode"], units["name"]))
    inputs = complete.pivot_table(index=["adcode", "year"], columns="indicator", values="value").reindex(columns=names).reset_index()
    scores = result.scores.rename(columns={"index": "integration_index", "closeness": "topsis_closeness", "grade": "coordination_grade"})
    scores = inputs.merge(scores, on=["adcode", "year"])
    score_column = "integration_index" if method == "entropy" else "topsis_closeness"
    scores["rank"] = scores.groupby("year")[score_column].rank(ascending=False, method="min").astype(int)
    table = pd.DataFrame({"adcode": units["adcode"].repeat(len(chosen)).to_numpy(), "year": chosen * len(units)})
    table.insert(1, "name", table["adcode"].map(names_by_code))
    table = table.merge(scores, on=["adcode", "year"], how="left")
    table["rank"] = table["rank"].astype("Int64")
    table["missing_inputs"] = table["adcode"].map(lambda a: ", ".join(missing.get(a, [])))
    table["method"] = method
    obstacles = result.obstacles.rename(columns={"obstacle": "obstacle_degree"})
    obstacles["obstacle_rank"] = obstacles.groupby(["adcode", "year"])["obstacle_degree"].rank(ascending=False, method="min").astype("Int64")
    obstacles.insert(1, "name", obstacles["adcode"].map(names_by_code))
    obstacles["label_zh"] = obstacles["indicator"].map(reg["label_zh"])
    weights = result.weights.assign(label_zh=lambda w: w["indicator"].map(reg["label_zh"]), years=",".join(map(str, chosen)))
    if unit_groups is not None:
        group_of = dict(zip(units["adcode"], unit_groups.astype(object)))
        table["unit_group"] = table["adcode"].map(group_of)
        scored = table[table[score_column].notna() & table["unit_group"].notna()]
        summary = (scored.groupby(["year", pd.Categorical(scored["unit_group"], categories=list(unit_groups.cat.categories))],
                                  observed=True)[score_column].agg(["count", "mean", "min", "max"]).reset_index())
        summary.columns = ["year", "group", "units", f"mean_{score_column}", f"min_{score_column}", f"max_{score_column}"]
        write_csv(summary.assign(groups=by or "groups_file", groups_source=group_source), beside["groups.csv"])
        click.echo(f"{score_column} by group ({by or groups_file}):")
        click.echo(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for frame, path in ((table, output), (weights, beside["weights.csv"]), (obstacles, beside["obstacles.csv"])):
        write_csv(frame, path)
    coupling = ""
    if group_map:
        coupling = COUPLING_TEXT[coupling_form].format(
            k=k, groups="; ".join(f"{g} = {', '.join(m)}" for g, m in group_map.items()),
            alpha=", ".join(f"{a:g}" for a in (alphas or [1 / k] * k)))
    write_text_atomic(beside["method.txt"], METHOD_TEXT.format(
        indicators=", ".join(f"{i} ({reg.loc[i, 'label_zh']}, {directions[i]})" for i in names),
        n_units=complete["adcode"].nunique(), level=level, years=", ".join(map(str, chosen)),
        panel="panel: one weight set across the years" if len(chosen) > 1 else "one year",
        method={"entropy": "entropy-weighted index (ranked and mapped)", "entropy_topsis": "entropy-TOPSIS closeness (ranked and mapped)"}[method],
        coupling=coupling))
    _write_gpkg(gpkg_path, units, table, score_column, chosen, bool(group_map))
    _echo_summary(weights, table, missing, names_by_code, chosen)
    click.echo(f"wrote {output}, {', '.join(str(p) for p in beside.values())} and {gpkg_path}")
    if map_path is not None:
        from gis.tables.join import cited_files

        files = "; ".join(sorted(cited_files(complete["source"]).unique()))
        _write_map(map_path, units, table, obstacles, score_column, method, coupling_form if group_map else None,
                   chosen, level, boundaries, files)
        click.echo(f"wrote {map_path}")


def _write_map(path: Path, units, table, obstacles, score_column: str, method: str, coupling_form: str | None,
               years: list[int], level: str, boundaries, data_source: str) -> None:
    """Units coloured by the mapped score (and, with subsystems, by the coordination grade)
    from ``gis/assets/maps/index.toml``; popups per year with score, rank, D, grade and the
    three indicators with the largest obstacle degree. Units without a score show as no data."""
    import pandas as pd

    from gis.maps.analysis import analysis_spec, by_year, write_analysis_map
    from gis.units.boundaries import province_name_en

    top = obstacles[obstacles["obstacle_rank"] <= 3].sort_values(["adcode", "year", "obstacle_rank", "indicator"])
    top = top.assign(text=top["label_zh"] + " " + (100 * top["obstacle_degree"]).map("{:.1f}%".format))
    top_text = top.groupby(["adcode", "year"])["text"].agg("；".join).rename("top_obstacles").reset_index()
    per_year = table.rename(columns={score_column: "score"}).merge(top_text, on=["adcode", "year"], how="left")
    measures = [c for c in ("score", "rank", "coordination_d", "coordination_grade", "top_obstacles") if c in per_year.columns]
    wide = per_year.pivot(index="adcode", columns="year", values=measures)
    wide.columns = [f"{m}_{y}" for m, y in wide.columns]
    for y in years:  # pivot makes ranks floats and blank texts NaN: both read as no data
        wide[f"rank_{y}"] = pd.to_numeric(wide[f"rank_{y}"]).astype("Int64")
    missing = table.drop_duplicates("adcode").set_index("adcode")["missing_inputs"].replace("", None)
    frame = units[["adcode", "name", "geometry"]].merge(wide.reset_index(), on="adcode", how="left")
    frame["missing_inputs"] = frame["adcode"].map(missing)
    note_zh, note_en, short_zh, short_en = COUPLING_NOTES.get(coupling_form, ("", "", "", ""))
    span = f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])
    score_zh, score_en = SCORE_LABELS[method]
    spec = analysis_spec("index").with_tokens(
        {"place": boundaries.name, "year": span, "score_zh": score_zh, "coupling_zh": note_zh, "coupling_short_zh": short_zh},
        {"place": province_name_en(boundaries.code), "year": span, "score_en": score_en, "coupling_en": note_en,
         "coupling_short_en": short_en},
    )
    write_analysis_map(by_year(spec, frame.columns, years), frame, level, data_source, path)


def _echo_summary(weights, table, missing, names_by_code, years) -> None:
    scored = table["integration_index"].notna()
    click.echo(f"Index for {table.loc[scored, 'adcode'].nunique()} units, years {', '.join(map(str, years))}:")
    for row in weights.itertuples(index=False):
        group = f" [{row.group}, weight in group {row.weight_in_group:.4f}]" if row.group else ""
        click.echo(f"  {row.indicator}: weight {row.weight:.4f} (entropy {row.entropy:.4f}, {row.direction}){group}")
    if missing:
        click.echo(f"Units without an index — missing inputs ({len(missing)}):")
        for adcode, inputs in missing.items():
            click.echo(f"  {names_by_code.get(adcode, adcode)} ({adcode}): {', '.join(inputs)}")


def _write_gpkg(path: Path, units, table, score_column: str, years, coupled: bool) -> None:
    """Units with their scores, one column per measure and year, styled by the mapped score
    (and by the coupling coordination grade where subsystems were given)."""
    import geopandas as gpd

    from gis.analysis.mcda import GRADES
    from gis.maps.palettes import palette_colours
    from gis.outputs.gpkg import OutputLayer, write_geopackage
    from gis.outputs.qgis_style import FillSymbol, LayerStyle, StyleClass, class_bounds, graduated_classes, literal, no_data_class, quote_field

    measures = [c for c in ("integration_index", "topsis_closeness", "coordination_d", "coordination_grade", "rank") if c in table.columns]
    wide = table.pivot(index="adcode", columns="year", values=measures)
    wide.columns = [f"{m}_{y}" for m, y in wide.columns]
    frame = gpd.GeoDataFrame(units[["adcode", "name", "geometry"]].merge(wide.reset_index(), on="adcode", how="left"),
                             geometry="geometry", crs=units.crs)
    last = max(years)
    styles = []
    column = f"{score_column}_{last}"
    bounds = class_bounds(frame[column], "quantiles", 5)
    if len(bounds) > 1:
        styles.append(LayerStyle(f"{score_column} {last}", graduated_classes(column, bounds, palette_colours("YlGnBu", len(bounds) - 1), 3, FillSymbol())
                                 + [no_data_class()], label_field="name", description=f"{score_column} in {last}, quintiles", default=True))
    if coupled:
        grade_column = f"coordination_grade_{last}"
        colours = palette_colours("RdYlGn", 10)
        styles.append(LayerStyle(f"coupling coordination {last}",
                                 [StyleClass(f"{quote_field(grade_column)} = {literal(label)}", label, FillSymbol(fill=colours[i]))
                                  for i, (_, label) in enumerate(GRADES)] + [no_data_class()],
                                 label_field="name", description="Coupling coordination grade (ten classes)", default=not styles))
    write_geopackage(path, [OutputLayer("index_units", frame, "Integration index", "Scores by unit and year (wide)", styles)])
