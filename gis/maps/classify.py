"""One classification of a map's views, shared by the HTML pages and the print figures.

A view's values (all its years pooled, so a colour means the same value in every year) are
classed by its scheme (:mod:`gis.maps.schemes`, on :mod:`gis.breaks`; the QGIS styles use the
same :func:`~gis.maps.schemes.class_bounds`) and coloured from its palette
(:mod:`gis.maps.palettes`). :func:`classify_view` gives each unit's class and text per year and
the legend rows, in Chinese and English; :mod:`gis.maps.render` writes them into a page and
:mod:`gis.figures` draws them, so a page and a figure of one spec cannot disagree.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from gis.maps.needs import needs_text
from gis.maps.numbers import NO_DATA, NO_DATA_EN, NO_DATA_ZH, format_number, format_value, is_missing
from gis.maps.palettes import category_colours, palette_colours
from gis.maps.schemes import SCHEMES, class_bounds, class_index
from gis.maps.spec import Category, MapSpec, View

#: A wide column of one indicator and year, ``income_ratio_2020``.
YEAR_COLUMN = re.compile(r"^(?P<indicator>.+)_(?P<year>\d{4})$")

#: How a view's classes were weighted (the ``degurba_weights`` column), Chinese and English.
WEIGHTS_TEXT = {
    "population": ("按人口加权", "population-weighted"),
    "area": ("按面积加权（无人口数据）", "area-weighted (no population data)"),
    "census_dasymetric": (
        "人口权重（普查总数按官方格网类别密度分配，估算）",
        "population weights: census totals spread over the official grid by fitted class densities (estimate)",
    ),
    "user_dasymetric": (
        "人口权重（您表中的常住人口按官方格网类别密度分配，估算）",
        "population weights: your table's resident population spread over the official grid by fitted class densities (estimate)",
    ),
}


class MapSkipped(Exception):
    """The layers lack what a spec needs (a layer or column): the map is not drawn."""


def bilingual(zh: str, en: str) -> str:
    """Chinese first, English after a slash (plain text, not escaped)."""
    return zh if zh == en else f"{zh} / {en}"


def layer_frame(spec: MapSpec, layers: dict):
    """The units ``spec`` draws: its layer of ``layers`` without null or empty geometries, in
    EPSG:4326 (pages and figures alike); :class:`MapSkipped` when the run built no such layer."""
    if spec.layer not in layers or layers[spec.layer] is None:
        raise MapSkipped(f"layer {spec.layer!r} was not built (have: {', '.join(sorted(layers)) or 'none'})")
    frame = layers[spec.layer]
    frame = frame[~frame.geometry.isna() & ~frame.geometry.is_empty].reset_index(drop=True)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return frame


def resolve_columns(view: View, frame: pd.DataFrame, spec: MapSpec) -> dict[int | None, str]:
    """Columns of ``frame`` holding the view's values by year; raise MapSkipped if absent."""
    if view.years_all:
        found = {}
        for column in frame.columns:
            match = YEAR_COLUMN.match(str(column))
            # A year without any value on this page (a province's counties cut from the
            # national layer) is no year of the view.
            if match and match["indicator"] == view.indicator and frame[column].notna().any():
                found[int(match["year"])] = str(column)
        if not found:
            raise MapSkipped(needs_text(spec, [view]))
        return dict(sorted(found.items()))
    missing = [c for c in view.columns.values() if c not in frame.columns]
    if missing:
        raise MapSkipped(needs_text(spec, [view]))
    return view.columns


# --------------------------------------------------------------------------- classes & legend


@dataclass(frozen=True)
class NoteLine:
    """One line of a legend's notes in Chinese, in English, and as a page shows it (both)."""

    zh: str
    en: str
    page: str


@dataclass
class ClassedView:
    """One view after classification: per-unit class and text for each year, and its legend.

    ``legend_rows`` are the page's (colour, bilingual label); ``labels`` the same rows' Chinese
    and English labels (a figure drawn in one language); ``notes`` the legend notes, of which
    ``note`` is the page's text."""

    view: View
    years: list[int | None]
    classes: list[list[int]]  # [unit][year] class index, -1 for no data
    texts: list[list[str]]  # [unit][year] formatted value
    colours: list[str]
    legend_rows: list[tuple[str, str]]  # (colour, label)
    note: str
    labels: list[tuple[str, str]] = field(default_factory=list)  # (Chinese, English) per legend row
    notes: list[NoteLine] = field(default_factory=list)


def category_index(values: pd.Series, categories: tuple[Category, ...]) -> np.ndarray:
    """Index into ``categories`` of each value (:func:`category_key` equality); -1 for none."""
    lookup = {category_key(c.value): i for i, c in enumerate(categories)}
    return np.asarray([lookup.get(category_key(v), -1) for v in values], dtype=int)


def category_key(value) -> str:
    """Compare category values by meaning: 30, 30.0 and "30" are one class; NaN matches nothing."""
    if is_missing(value):
        return "\0missing"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, float, np.integer, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def category_labels(category: Category) -> tuple[str, str]:
    """Chinese and English legend label of a category, its numeric code first (``30 城市``)."""
    code = category_key(category.value)
    prefix = f"{code} " if code.lstrip("-").isdigit() else ""
    return prefix + category.label_zh, prefix + category.label_en


def category_label(category: Category) -> str:
    """The page's label of a category: code, Chinese / English (``30 城市 / City``)."""
    code = category_key(category.value)
    prefix = f"{code} " if code.lstrip("-").isdigit() else ""
    return prefix + bilingual(category.label_zh, category.label_en)


def _weights_notes(view: View, frame: pd.DataFrame) -> list[NoteLine]:
    if view.weights_column is None:
        return []
    if view.weights_column not in frame.columns:
        return [NoteLine("权重未说明", "weights not stated", "权重未说明 / weights not stated")]
    kinds = sorted({str(v) for v in frame[view.weights_column] if not is_missing(v)})
    pairs = [WEIGHTS_TEXT.get(k, (k, k)) for k in kinds]
    texts = [bilingual(*pair) for pair in pairs]
    notes = [NoteLine(
        "分级权重：" + ("；".join(zh for zh, _ in pairs) if pairs else NO_DATA_ZH),
        "Weights: " + ("; ".join(en for _, en in pairs) if pairs else NO_DATA_EN),
        "分级权重 / weights: " + ("; ".join(texts) if texts else NO_DATA),
    )]
    if "degurba_rules" in frame.columns:
        # Which Degree of Urbanisation rules made these classes (a preset, a user's file, or
        # the official grid's own): a classification is only comparable under the same rules.
        rules = sorted({str(v) for v in frame["degurba_rules"] if not is_missing(v)})
        notes.append(NoteLine("分级规则：" + ("; ".join(rules) if rules else NO_DATA_ZH),
                              "Rules: " + ("; ".join(rules) if rules else NO_DATA_EN),
                              "分级规则 / rules: " + ("; ".join(rules) if rules else NO_DATA)))
    return notes


def _categories_from_data(view: View, series: list[pd.Series]) -> tuple[View, str]:
    """``view`` with one category per distinct value of its columns (``categories = "@data"``),
    in the columns' categorical order when they have one, else sorted (numbers as numbers);
    colours from the view's palette, and the palette's note (see ``category_colours``)."""
    ordered = [s.cat.categories for s in series if isinstance(s.dtype, pd.CategoricalDtype)]
    if ordered:
        values = list(dict.fromkeys(v for categories in ordered for v in categories))
    else:
        present = pd.concat(series, ignore_index=True).dropna().unique().tolist()
        numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in present)
        values = sorted(present, key=float if numeric else str)
    colours, note = category_colours(view.palette, len(values))
    categories = tuple(Category(v, c, str(v), str(v)) for v, c in zip(values, colours))
    return replace(view, categories=categories), note


def classify_view(view: View, columns: dict[int | None, str], frame: pd.DataFrame) -> ClassedView:
    """Classes, texts and legend of one view; numeric views share bounds across all years."""
    years = list(columns)
    notes: list[NoteLine] = []
    if view.categories_from_data:
        view, note_from_data = _categories_from_data(view, [frame[columns[y]] for y in years])
        if note_from_data:
            zh, _, en = note_from_data.partition(" / ")
            notes.append(NoteLine(zh, en, note_from_data))
    if view.scheme == "categories":
        colours = [c.color.lower() for c in view.categories]
        per_year = [category_index(frame[columns[y]], view.categories) for y in years]
        texts_by_year = [
            [category_label(view.categories[k]) if k >= 0 else NO_DATA for k in idx] for idx in per_year
        ]
        rows = [(c.color.lower(), category_label(c)) for c in view.categories]
        labels = [category_labels(c) for c in view.categories]
    else:
        values = [pd.to_numeric(frame[columns[y]], errors="coerce").to_numpy(dtype="float64") for y in years]
        bounds = class_bounds(view.scheme, np.concatenate(values), view.classes, view.breaks)
        colours = palette_colours(view.palette, max(len(bounds), 1), view.reverse)[: len(bounds)]
        per_year = [class_index(v, bounds) for v in values]
        texts_by_year = [[format_value(x, view.unit) for x in v] for v in values]
        finite = np.concatenate(values)
        finite = finite[np.isfinite(finite)]
        rows = _numeric_legend_rows(bounds, colours, float(finite.min()) if finite.size else None, view.unit)
        labels = [(label, label) for _, label in rows]
        scheme = SCHEMES[view.scheme]
        shared_zh, shared_en = ("，各年份共用", ", shared by all years") if len(years) > 1 else ("", "")
        zh = f"分级：{scheme.label_zh}，{len(bounds)} 类{shared_zh}"
        en = f"Classes: {scheme.label_en}, {len(bounds)} classes{shared_en}"
        notes.append(NoteLine(zh, en, f"{zh}\n{en}"))
    notes += _weights_notes(view, frame)
    note = "\n".join(n.page for n in notes)
    classes = np.column_stack(per_year).tolist() if len(frame) else []
    texts = [list(t) for t in zip(*texts_by_year)] if len(frame) else []
    return ClassedView(view, years, classes, texts, colours, rows, note, labels, notes)


def _numeric_legend_rows(bounds: np.ndarray, colours: list[str], low: float | None, unit: str | None):
    rows = []
    for i, (upper, colour) in enumerate(zip(bounds, colours)):
        lower = low if i == 0 else float(bounds[i - 1])
        if np.isinf(upper):
            label = f"> {format_number(lower, unit)}"
        elif i == 0 and lower is not None and lower > upper:  # a diverging scheme's empty side
            label = f"≤ {format_number(float(upper), unit)}"
        elif lower is None or lower == upper:
            label = format_number(float(upper), unit)
        else:
            label = f"{format_number(lower, unit)} – {format_number(float(upper), unit)}"
        rows.append((colour, label))
    return rows


def has_values(frame: pd.DataFrame, column: str | None) -> bool:
    """True if ``column`` is in ``frame`` with at least one value (None: no requirement)."""
    return column is None or (column in frame.columns and bool(frame[column].notna().any()))


def sources_of(sources: pd.DataFrame | None, layer: str, columns: list[str]) -> list[str]:
    """Distinct sources of ``columns`` of ``layer`` in a build's ``sources`` table (whose
    ``column`` entries may be patterns such as ``degurba_*``), in order of first use."""
    if sources is None or sources.empty:
        return []
    rows = sources[sources["layer"] == layer]
    found: list[str] = []
    for column in columns:
        for pattern, source in zip(rows["column"], rows["source"]):
            if fnmatch.fnmatchcase(column, pattern) and source not in found:
                found.append(source)
    return found
