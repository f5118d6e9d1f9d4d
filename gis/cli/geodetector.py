"""``gis geodetector``: which factors stratify an indicator (q), how they interact, where Y is high."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli._tables import LEVELS, load_tables, resolve_groups, table_group_columns
from gis.errors import GisError

#: Categorical factors taken from the units themselves rather than from the tables.
UNIT_FACTORS = ("economic_region", "region", "mountain26", "pilot_zone", "prefecture")
#: Names of the unit factors on the map (Chinese, English).
UNIT_FACTOR_LABELS = {
    "economic_region": ("四大经济区域", "NBS economic regions"),
    "region": ("省内区域", "Provincial sub-regions"),
    "mountain26": ("山区26县", "Mountain-26 counties"),
    "pilot_zone": ("城乡融合发展试验区", "Urban-rural integration pilot zones"),
    "groups_file": ("自定义分组", "Your groups"),
    "prefecture": ("设区市", "Prefecture"),
}
#: Discretisation schemes as the map names them (Chinese, English).
SCHEME_LABELS = {
    "equal_interval": ("等间距", "equal intervals"),
    "quantiles": ("分位数", "quantiles"),
    "fisher_jenks": ("自然断点", "natural breaks"),
    "std": ("标准差", "standard deviations"),
}


#: Groups of each unit factor of the run in their source's order (legends follow it).
GROUP_ORDERS: dict[str, list[str]] = {}


def _in_order(factor: str, values) -> list[str]:
    """``values`` in the factor's group order (a grouping's source order), else sorted."""
    values = [str(v) for v in values]
    order = [g for g in GROUP_ORDERS.get(factor, []) if g in values]
    return order + sorted(v for v in values if v not in order)


def _discretize_option(value: str):
    """``optimal`` or ``SCHEME:K`` -> the ``continuous`` spec of :func:`gis.analysis.geodetector.geodetector`."""
    from gis.analysis.geodetector import SCHEMES

    if value == "optimal" or value in SCHEMES:
        return value
    scheme, _, k = value.partition(":")
    if scheme in SCHEMES and k.isdigit() and 2 <= int(k) <= 20:
        return (scheme, int(k))
    raise GisError(f"--discretize {value}: expected optimal, a scheme ({', '.join(SCHEMES)}) or SCHEME:K with K from 2 to 20")


@click.command(name="geodetector")
@options.data("paths")
@click.option("--y", "y_name", required=True, help="Registry name of the indicator to explain (Y).")
@click.option("--factors", required=True,
              help="Comma-separated factors: indicators (numeric, discretised) or unit groups (economic_region, region, "
                   "mountain26, pilot_zone, prefecture, a text column of your table, groups_file for --groups-file).")
@click.option("--groups-file", "groups_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Your own groups (unit, group), used as the factor named groups_file.")
@click.option("--discretize", "discretize", default="optimal", show_default=True,
              help="Numeric factors: optimal (OPGD search over schemes × 3–8 classes), a scheme (best class count), or SCHEME:K.")
@click.option("--year", type=options.YEARS, default=None, help="Year of the values (needed when the data have several years).")
@click.option("--level", type=click.Choice(LEVELS), default="counties", show_default=True, help="Units analysed.")
@click.option("--alpha", type=options.FiniteFloat(1e-6, 0.5), default=0.05, show_default=True, help="Level of the risk and ecological tests.")
@options.province(allow_all=False)
@options.allow_unmatched
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output .gpkg (units with their strata, and every detector's table); <name>.factors.csv beside it.")
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also draw every factor's strata, with its q, as an offline HTML map (.html).")
@options.overwrite
def geodetector_command(
    paths, sheet, y_name, factors, groups_file, discretize, year, level, alpha, province, allow_unmatched, output, map_path, overwrite
) -> None:
    """Geographical detector (王劲峰, 徐成东 2017): factor q and p, interaction types, risk and
    ecological detectors; numeric factors discretised by a named scheme or the optimal search."""
    import geopandas as gpd

    from gis._files import refuse_overwrite, write_csv
    from gis.analysis.geodetector import geodetector
    from gis.outputs.gpkg import OutputLayer, write_geopackage
    from gis.tables.indicators import registry
    from gis.units.planning import add_planning_attributes

    if output.suffix.lower() != ".gpkg":
        raise GisError(f"{output}: expected a .gpkg file name")
    csv_path = output.with_name(output.stem + ".factors.csv")
    if map_path is not None and map_path.suffix.lower() != ".html":
        raise GisError(f"--map {map_path}: expected a .html file name")
    refuse_overwrite([output, csv_path, *([map_path] if map_path else [])], overwrite)
    from gis._files import require_writable_folder

    require_writable_folder(output, "-o")
    if map_path is not None:
        require_writable_folder(map_path, "--map")
    names = [f.strip() for f in factors.split(",") if f.strip()]
    if not names:
        raise GisError("--factors: give at least one factor")
    if y_name in names:
        raise GisError(f"--factors: {y_name} is Y itself")
    reg = registry()
    columns = table_group_columns(paths, [f for f in names if f not in reg.index])
    if "groups_file" in names and groups_file is None:
        raise GisError("--factors groups_file: give the file with --groups-file")
    if groups_file is not None and "groups_file" not in names:
        names.append("groups_file")
    group_factors = [f for f in names if f not in reg.index]
    unknown = [f for f in [y_name, *group_factors] if f not in reg.index and f not in UNIT_FACTORS and f not in columns
               and f != "groups_file"]
    if unknown:
        raise GisError(f"unknown indicator(s) or factor(s) {', '.join(unknown)}; indicators are in gis/data/indicators.csv, "
                       f"unit factors are {', '.join(UNIT_FACTORS)} or a text column of your --data table")
    if y_name not in reg.index:
        raise GisError(f"--y {y_name}: Y must be an indicator of gis/data/indicators.csv")
    scheme = _discretize_option(discretize)
    GROUP_ORDERS.clear()
    boundaries, long, report = load_tables(paths, province, allow_unmatched, year, sheet, attribute_columns=list(columns))
    click.echo(report.summary())
    boundaries = add_planning_attributes(boundaries)
    units = (boundaries.counties if level == "counties" else boundaries.prefectures).reset_index(drop=True)
    indicators = [y_name, *[f for f in names if f not in group_factors]]
    rows = long[long["indicator"].isin(indicators) & long["adcode"].isin(set(units["adcode"]))]
    years = sorted(rows["year"].unique())
    if year is None:
        if len(years) != 1:
            raise GisError(f"the values span {len(years)} years ({', '.join(map(str, years))}); choose one with --year")
        year = int(years[0])
    rows = rows[rows["year"] == year]
    wide = rows.pivot_table(index="adcode", columns="indicator", values="value", aggfunc="first").reindex(columns=indicators)
    frame = units[["adcode", "name", "geometry"]].merge(wide.reset_index(), on="adcode", how="left")
    for factor in group_factors:
        groups, _ = resolve_groups(units, None if factor == "groups_file" else factor,
                                   groups_file if factor == "groups_file" else None, columns, boundaries, level, allow_unmatched)
        frame[factor] = groups.astype(object).to_numpy()
        GROUP_ORDERS[factor] = [str(g) for g in groups.cat.categories]
    lacking = frame[frame[[*indicators, *group_factors]].isna().any(axis=1)]
    if len(lacking):
        click.echo(f"Left out ({len(lacking)} of {len(frame)} {level}, missing Y or a factor in {year}): "
                   + "; ".join(f"{n} ({a}) lacks " + ", ".join(c for c in [*indicators, *group_factors] if frame.loc[i, c] != frame.loc[i, c])
                               for i, n, a in zip(lacking.index, lacking["name"], lacking["adcode"])))
    frame = frame.drop(index=lacking.index).reset_index(drop=True)
    if frame.empty:
        raise GisError(f"no {level} have {y_name} and every factor in {year}")
    continuous = {f: scheme for f in names if f not in group_factors}
    result = geodetector(frame, y_name, names, continuous=continuous, alpha=alpha)
    strata = result.strata.rename(columns={f: f"stratum_{f}" for f in names})
    layer_units = gpd.GeoDataFrame(frame[["adcode", "name", y_name, "geometry"]].merge(strata, on="adcode"),
                                   geometry="geometry", crs=frame.crs)
    for f in names:
        layer_units[f"stratum_{f}"] = layer_units[f"stratum_{f}"].astype(str)
    layer_units["year"] = year
    styles = [_strata_style(f, _in_order(f, layer_units[f"stratum_{f}"].unique()), i == 0) for i, f in enumerate(names)]
    tables = {
        "geodetector_factors": result.factors, "geodetector_interactions": result.interactions,
        "geodetector_risk_means": result.risk_means, "geodetector_risk_tests": result.risk_tests,
        "geodetector_ecological": result.ecological, "geodetector_discretization": result.discretization,
    }
    write_geopackage(output, [OutputLayer("geodetector_units", layer_units, f"Strata of the factors of {y_name} ({year})",
                                          "Units analysed, Y and the stratum of every factor", styles)]
                     + [OutputLayer(name, table.assign(y=y_name, year=year), name) for name, table in tables.items() if not table.empty])
    write_csv(result.factors.assign(y=y_name, year=year, level=level), csv_path)
    click.echo(f"Factor detector, Y = {y_name} ({year}, {len(frame)} {level}):")
    click.echo(result.factors.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if not result.interactions.empty:
        click.echo("Interaction detector:")
        click.echo(result.interactions.drop(columns=["type"]).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    chosen = result.discretization[result.discretization["chosen"]] if not result.discretization.empty else result.discretization
    for row in chosen.itertuples(index=False):
        click.echo(f"{row.factor}: {row.scheme}, {row.k} classes ({row.strata} non-empty), q = {row.q:.4f} "
                   f"— best of {int((result.discretization['factor'] == row.factor).sum())} trial(s)")
    click.echo(f"wrote {output} and {csv_path}")
    if map_path is not None:
        from gis.tables.join import cited_files

        files = "; ".join(sorted(cited_files(rows["source"]).unique()))
        _write_map(map_path, units, frame, result, y_name, names, discretize, year, level, boundaries, files)
        click.echo(f"wrote {map_path}")


def _write_map(path: Path, units, analysed, result, y_name: str, names: list[str], discretize: str, year: int,
               level: str, boundaries, data_source: str) -> None:
    """One view per factor from ``gis/assets/maps/geodetector.toml``: the units by the stratum
    the detector used, the factor's q and p in the view's title. An indicator's strata are
    labelled with the range of its values in each (ordered, sequential colours); units left
    out of the analysis show as no data."""
    from dataclasses import replace

    import pandas as pd

    from gis.maps.analysis import analysis_spec, write_analysis_map
    from gis.maps.spec import FieldLabel
    from gis.tables.indicators import registry
    from gis.units.boundaries import province_name_en

    reg = registry()
    strata = result.strata.rename(columns={f: f"stratum_{f}" for f in names})
    for factor in names:
        column = f"stratum_{factor}"
        if factor not in reg.index:
            strata[column] = pd.Categorical(strata[column].astype(str), categories=_in_order(factor, strata[column].astype(str).unique()))
        else:
            strata[column] = _stratum_labels(strata[column].to_numpy(), analysed[factor].to_numpy(), str(reg.loc[factor, "unit"]))
    frame = units[["adcode", "name", "geometry"]].merge(
        analysed[["adcode", y_name]].rename(columns={y_name: "y_value"}).merge(strata, on="adcode"), on="adcode", how="left")
    factors = result.factors.set_index("factor")
    spec = analysis_spec("geodetector")
    place_zh, place_en = boundaries.name, province_name_en(boundaries.code)
    spec = spec.with_tokens(
        {"place": place_zh, "year": str(year), "y": str(reg.loc[y_name, "label_zh"])},
        {"place": place_en, "year": str(year), "y": str(reg.loc[y_name, "label_en"]), "y_en": str(reg.loc[y_name, "label_en"])},
    )
    templates = {v.columns[None]: v for v in spec.views}
    views, fields, popup = [], dict(spec.fields), []
    for factor in names:
        column = f"stratum_{factor}"
        row = factors.loc[factor]
        tokens = {"q": f"{row['q']:.3f}", "p": f"{row['p']:.3g}", "factor": factor, "factor_en": factor,
                  "how": "", "how_en": ""}
        if factor not in reg.index:
            tokens["factor"], tokens["factor_en"] = UNIT_FACTOR_LABELS.get(factor, (factor, factor))
            template = templates["stratum_groups"]
        else:
            tokens["factor"], tokens["factor_en"] = str(reg.loc[factor, "label_zh"]), str(reg.loc[factor, "label_en"])
            zh, en = SCHEME_LABELS.get(row["scheme"], (row["scheme"], row["scheme"]))
            best_zh, best_en = ("最优离散化 ", "optimal ") if discretize == "optimal" else ("", "")
            tokens["how"] = f"{best_zh}{zh} {int(row['strata'])} 层"
            tokens["how_en"] = f"{best_en}{en}, {int(row['strata'])} strata"
            template = templates["stratum_numeric"]

        def fill(text: str, tokens=tokens) -> str:
            for key, value in tokens.items():
                text = text.replace("{" + key + "}", value)
            return text

        views.append(replace(template, columns={None: column}, label_zh=fill(template.label_zh), label_en=fill(template.label_en)))
        fields[column] = FieldLabel(f"{tokens['factor']}分层（q = {tokens['q']}）", f"{tokens['factor_en']} stratum (q = {tokens['q']})")
    for name in spec.popup_fields:
        popup.extend(f"stratum_{f}" for f in names) if name == "@strata" else popup.append(name)
    fields["y_value"] = replace(fields["y_value"], unit=str(reg.loc[y_name, "unit"]))
    spec = replace(spec, views=tuple(views), fields=fields, popup_fields=tuple(popup))
    write_analysis_map(spec, frame, level, data_source, path)


def _stratum_labels(codes, values, unit: str):
    """Ordered labels of an indicator's strata (class ``codes`` 0…k−1 of the units analysed,
    ``values`` the factor's values in ``unit``): "1: 30,000 – 35,500 元", the lowest and
    highest value among each stratum's units, as a pandas Categorical in class order."""
    import numpy as np
    import pandas as pd

    from gis.maps.numbers import format_number, unit_suffix

    codes = np.asarray(codes, dtype=int)
    order = np.unique(codes)
    low = pd.Series(values).groupby(codes).min()
    high = pd.Series(values).groupby(codes).max()
    labels = [f"{k + 1}: {format_number(low[k], unit)} – {format_number(high[k], unit)}{unit_suffix(unit)}" for k in order]
    return pd.Categorical.from_codes(np.searchsorted(order, codes), categories=labels, ordered=True)


def _strata_style(factor: str, strata: list[str], default: bool):
    """Categorised QGIS style of one factor's strata (the first factor's is the default)."""
    from gis.outputs.qgis_style import FillSymbol, LayerStyle, StyleClass, literal, no_data_class, quote_field
    from gis.outputs.series_page import LINE_COLOURS

    column = f"stratum_{factor}"
    classes = [StyleClass(f"{quote_field(column)} = {literal(s)}", s, FillSymbol(fill=LINE_COLOURS[i % len(LINE_COLOURS)], fill_opacity=0.7))
               for i, s in enumerate(strata)]
    return LayerStyle(f"strata of {factor}", classes + [no_data_class()], label_field="name",
                      description=f"Units by their stratum of {factor}", default=default)
