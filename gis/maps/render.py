"""Turn a validated :class:`~gis.maps.spec.MapSpec` and layer frames into one HTML page.

The page is one HTML file: Leaflet and the planner script are inlined
(:mod:`gis.maps.assets`), so with no basemap the page makes no network request.
One GeoJSON carries each unit's geometry once, with its class and formatted value for every
theme and year; the inline script restyles the units when the theme or year changes.

All text from data or specs reaches the page either HTML-escaped here (title, legend,
layer-control labels, attribution) or as JSON strings that the script writes with
``textContent`` (names and values in tooltips and popups). JSON inside ``<script>`` has
``<``, ``>`` and ``&`` escaped so no string can close the script element.
"""

from __future__ import annotations

import fnmatch
import html
import json
import os
import re
from dataclasses import dataclass, field, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.colours import NO_DATA_FILL, NO_DATA_HATCH
from gis.errors import GisError
from gis.maps import assets, china
from gis.maps.geometry import (
    bounds_latlon,
    dissolve,
    geojson_geometries,
    geojson_geometry,
    simplify_coverage,
    to_display_crs,
    tolerance_for,
)
from gis.maps.numbers import (
    NO_DATA,
    format_number,
    format_value,
    is_missing,
    unit_labels,
)
from gis.maps.palettes import category_colours, load_categories, palette_colours
from gis.maps.raster import class_image, grid_image
from gis.maps.schemes import SCHEMES, class_bounds, class_index
from gis.maps.needs import needs_text
from gis.maps.spec import INDICATORS_TOKEN, Category, FieldLabel, MapSpec, Overlay, View
from gis.tables.indicators import registry

_YEAR_COLUMN = re.compile(r"^(?P<indicator>.+)_(?P<year>\d{4})$")

_WEIGHTS_TEXT = {
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

#: Category sets used to label DEGURBA columns in tooltips and popups.
_FIELD_CATEGORIES = {"degurba_l1": "degurba_l1_units", "degurba_l2": "degurba_l2_units"}

BASEMAPS = {
    "osm": {
        "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "options": {"maxZoom": 19},
        "attribution": ("OpenStreetMap", "https://www.openstreetmap.org/copyright", "© {link} 贡献者 contributors"),
    },
    "amap": {
        "url": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "options": {"subdomains": "1234", "maxZoom": 18},
        "attribution": ("高德地图 AutoNavi", "https://www.amap.com/", "© {link}（GCJ-02）"),
    },
    "tianditu": {
        "url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
               "&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
               "&TILECOL={x}&tk={tk}",
        "labels": "https://t{s}.tianditu.gov.cn/cva_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
                  "&LAYER=cva&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}"
                  "&TILECOL={x}&tk={tk}",
        "options": {"subdomains": "01234567", "maxZoom": 18},
        "attribution": ("天地图 Tianditu", "https://www.tianditu.gov.cn/", "© {link}"),
    },
}


class MapSkipped(Exception):
    """The layers lack what a spec needs (a layer or column): the map is not drawn."""


@dataclass
class PageCache:
    """Work that pages drawn from the same layers share within one :func:`gis.maps.render_maps`
    call: a layer's units simplified for the map (a province's prefectures serve three pages)
    and grid images (the county and prefecture pages of a province show the same grid).

    Keys hold the geometry objects themselves (compared by identity), so an entry can only be
    found again for the very same geometries."""

    units: dict = field(default_factory=dict)
    images: dict = field(default_factory=dict)


@dataclass
class RenderedMap:
    """A page ready to write, plus notes about parts left out (e.g. a missing overlay)."""

    html: str
    notes: list[str] = field(default_factory=list)


def esc(text: object) -> str:
    """HTML-escape any text (quotes too, so it is safe in attributes)."""
    return html.escape(str(text), quote=True)


def script_json(value) -> str:
    """JSON for inside a ``<script>`` element: ``<``, ``>``, ``&`` as ``\\u`` escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def bilingual(zh: str, en: str) -> str:
    """Chinese first, English after a slash (plain text, not escaped)."""
    return zh if zh == en else f"{zh} / {en}"


# --------------------------------------------------------------------------- data checks


def resolve_columns(view: View, frame: pd.DataFrame, spec: MapSpec) -> dict[int | None, str]:
    """Columns of ``frame`` holding the view's values by year; raise MapSkipped if absent."""
    if view.years_all:
        found = {}
        for column in frame.columns:
            match = _YEAR_COLUMN.match(str(column))
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


@dataclass
class ClassedView:
    """One view after classification: per-unit class and text for each year, and its legend."""

    view: View
    years: list[int | None]
    classes: list[list[int]]  # [unit][year] class index, -1 for no data
    texts: list[list[str]]  # [unit][year] formatted value
    colours: list[str]
    legend_rows: list[tuple[str, str]]  # (colour, label)
    note: str


def _category_index(values: pd.Series, categories: tuple[Category, ...]) -> np.ndarray:
    lookup = {_category_key(c.value): i for i, c in enumerate(categories)}
    return np.asarray([lookup.get(_category_key(v), -1) for v in values], dtype=int)


def _category_key(value) -> str:
    """Compare category values by meaning: 30, 30.0 and "30" are one class; NaN matches nothing."""
    if is_missing(value):
        return "\0missing"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, float, np.integer, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _category_label(category: Category) -> str:
    code = _category_key(category.value)
    prefix = f"{code} " if code.lstrip("-").isdigit() else ""
    return prefix + bilingual(category.label_zh, category.label_en)


def _weights_note(view: View, frame: pd.DataFrame) -> str:
    if view.weights_column is None:
        return ""
    if view.weights_column not in frame.columns:
        return "权重未说明 / weights not stated"
    kinds = sorted({str(v) for v in frame[view.weights_column] if not is_missing(v)})
    texts = [bilingual(*_WEIGHTS_TEXT.get(k, (k, k))) for k in kinds]
    note = "分级权重 / weights: " + ("; ".join(texts) if texts else NO_DATA)
    if "degurba_rules" in frame.columns:
        # Which Degree of Urbanisation rules made these classes (a preset, a user's file, or
        # the official grid's own): a classification is only comparable under the same rules.
        rules = sorted({str(v) for v in frame["degurba_rules"] if not is_missing(v)})
        note += "\n分级规则 / rules: " + ("; ".join(rules) if rules else NO_DATA)
    return note


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
    note_from_data = ""
    if view.categories_from_data:
        view, note_from_data = _categories_from_data(view, [frame[columns[y]] for y in years])
    if view.scheme == "categories":
        colours = [c.color.lower() for c in view.categories]
        per_year = [_category_index(frame[columns[y]], view.categories) for y in years]
        texts_by_year = [
            [_category_label(view.categories[k]) if k >= 0 else NO_DATA for k in idx] for idx in per_year
        ]
        rows = [(c.color.lower(), _category_label(c)) for c in view.categories]
        note = "\n".join(filter(None, [note_from_data, _weights_note(view, frame)]))
    else:
        values = [pd.to_numeric(frame[columns[y]], errors="coerce").to_numpy(dtype="float64") for y in years]
        bounds = class_bounds(view.scheme, np.concatenate(values), view.classes, view.breaks)
        colours = palette_colours(view.palette, max(len(bounds), 1), view.reverse)[: len(bounds)]
        per_year = [class_index(v, bounds) for v in values]
        texts_by_year = [[format_value(x, view.unit) for x in v] for v in values]
        finite = np.concatenate(values)
        finite = finite[np.isfinite(finite)]
        rows = _numeric_legend_rows(bounds, colours, float(finite.min()) if finite.size else None, view.unit)
        scheme = SCHEMES[view.scheme]
        shared_zh, shared_en = ("，各年份共用", ", shared by all years") if len(years) > 1 else ("", "")
        note = (
            f"分级：{scheme.label_zh}，{len(bounds)} 类{shared_zh}\n"
            f"Classes: {scheme.label_en}, {len(bounds)} classes{shared_en}"
        )
        weights = _weights_note(view, frame)
        note = f"{note}\n{weights}" if weights else note
    classes = np.column_stack(per_year).tolist() if len(frame) else []
    texts = [list(t) for t in zip(*texts_by_year)] if len(frame) else []
    return ClassedView(view, years, classes, texts, colours, rows, note)


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


def _view_label(view: View) -> str:
    return bilingual(view.label_zh, view.label_en)


def legend_html(spec: MapSpec, classed: list[ClassedView], overlays: list[Overlay],
                standard: bool = False) -> str:
    """The legend block (hidden until the script places it); all text escaped. ``standard``:
    the page has the 南海诸岛 inset below the legend and the maritime line."""
    extra = " gis-legend-with-inset" if standard else ""
    parts = [f'<div id="gis-legend" class="gis-panel gis-legend{extra}" hidden>']
    for i, cv in enumerate(classed):
        view = cv.view
        zh_unit, en_unit = unit_labels(view.unit)
        zh = f"{view.label_zh}（{zh_unit}）" if zh_unit else view.label_zh
        en = f"{view.label_en} ({en_unit})" if en_unit else view.label_en
        parts.append(f'<section class="gis-legend-view" data-view="{i}">')
        parts.append(f"<h3>{esc(zh)}</h3><h4>{esc(en)}</h4>")
        if len(cv.years) > 1 or cv.years[0] is not None:
            parts.append('<div class="gis-legend-yearline">年份 Year <span class="gis-legend-year"></span></div>')
        parts.append("<ul>")
        for colour, label in cv.legend_rows:
            parts.append(f'<li><span class="gis-swatch" style="background:{esc(colour)}"></span>{esc(label)}</li>')
        parts.append(f'<li><span class="gis-swatch gis-swatch-nodata"></span>{esc(NO_DATA)}</li></ul>')
        for line in filter(None, cv.note.split("\n")):
            parts.append(f'<div class="gis-legend-note">{esc(line)}</div>')
        parts.append("</section>")
    if overlays or standard:
        parts.append('<div class="gis-legend-overlays">')
        for overlay in overlays:
            label = esc(bilingual(overlay.label_zh, overlay.label_en))
            if overlay.where is not None:
                dashed = " gis-dashed" if overlay.dash else ""
                parts.append(
                    f'<div class="gis-legend-line"><span class="gis-swatch-line{dashed}" '
                    f'style="border-top-color:{esc(overlay.color)}"></span>{label}</div>'
                )
            else:
                parts.append(f"<details><summary>{label}</summary><ul>")
                for category in overlay.categories:
                    parts.append(
                        f'<li><span class="gis-swatch" style="background:{esc(category.color)}"></span>'
                        f"{esc(_category_label(category))}</li>"
                    )
                parts.append("</ul></details>")
        if standard:
            line = china.config()["maritime_line"]
            parts.append(
                f'<div class="gis-legend-line"><span class="gis-swatch-line" style="border-top-color:{esc(line["color"])}">'
                f'</span>{esc(bilingual(line["label_zh"], line["label_en"]))}</div>'
            )
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def footer_html(review_number: str = "") -> str:
    """Footer block: the 审图号 if one is given, else the schematic-map statement."""
    zh, en = china.footer_text(review_number)
    return (
        '<div id="gis-footer" class="gis-panel gis-footer" hidden>'
        f'<span lang="zh-CN">{esc(zh)}</span><br><span class="gis-en" lang="en">{esc(en)}</span></div>'
    )


def has_values(frame: pd.DataFrame, column: str | None) -> bool:
    """True if ``column`` is in ``frame`` with at least one value (None: no requirement)."""
    return column is None or (column in frame.columns and bool(frame[column].notna().any()))


def title_html(spec: MapSpec) -> str:
    """Title block: Chinese title, English title under it, then the one-line descriptions."""
    return (
        '<div id="gis-title" class="gis-panel gis-title" hidden>'
        f'<h1 lang="zh-CN">{esc(spec.title_zh)}</h1><h2 lang="en">{esc(spec.title_en)}</h2>'
        f'<p lang="zh-CN">{esc(spec.description_zh)}</p><p class="gis-en" lang="en">{esc(spec.description_en)}</p>'
        "</div>"
    )


# --------------------------------------------------------------------------- fields


def _field_formatter(column: str, fields: dict[str, FieldLabel]):
    """A function giving the text of one value of non-indicator attribute ``column``: yes/no,
    DEGURBA class names, numbers with their unit, or no data. The column's class names and
    unit are looked up once, not once per unit."""
    categories: dict[str, str] = {}
    if column in _FIELD_CATEGORIES:
        for row in load_categories(_FIELD_CATEGORIES[column]):
            categories.setdefault(_category_key(row["value"]),
                                  _category_label(Category(row["value"], row["color"], row["label_zh"], row["label_en"])))
    label = fields.get(column)
    unit = label.unit if label is not None else None

    def text(value) -> str:
        if is_missing(value):
            return NO_DATA
        if isinstance(value, (bool, np.bool_)):
            return "是 / yes" if value else "否 / no"
        if categories:
            found = categories.get(_category_key(value))
            if found is not None:
                return found
        if column == "degurba_weights" and str(value) in _WEIGHTS_TEXT:
            return bilingual(*_WEIGHTS_TEXT[str(value)])
        if isinstance(value, (int, float, np.integer, np.floating)):
            if unit is not None:
                return format_value(value, unit)
            return f"{float(value):,.2f}".rstrip("0").rstrip(".")
        return str(value)

    return text


def field_texts(column: str, values, fields: dict[str, FieldLabel]) -> list[str]:
    """Each of ``values`` (a non-indicator column) as text, in order: yes/no, DEGURBA class
    names, numbers with their unit, or no data."""
    text = _field_formatter(column, fields)
    return [text(value) for value in values]


def field_label(column: str, fields: dict[str, FieldLabel]) -> str:
    entry = fields.get(column)
    return bilingual(entry.label_zh, entry.label_en) if entry else column


def indicator_columns(frame: pd.DataFrame) -> list[tuple[str, int, str]]:
    """``(indicator, year, column)`` of every registry indicator with at least one value."""
    known = registry()
    order = {name: i for i, name in enumerate(known.index)}
    found = []
    for column in frame.columns:
        match = _YEAR_COLUMN.match(str(column))
        if match and match["indicator"] in order and frame[column].notna().any():
            found.append((match["indicator"], int(match["year"]), str(column)))
    return sorted(found, key=lambda t: (order[t[0]], t[1]))


def popup_columns(frame: pd.DataFrame, spec: MapSpec, present: list[str], indicators) -> list[tuple]:
    """Popup rows of every unit, column by column: ``(label, year or None, texts, missing)``
    where ``texts[i]`` and ``missing[i]`` are unit ``i``'s text and whether its value is missing."""
    rows = []
    for column in present:
        if column == INDICATORS_TOKEN:
            known = registry()
            for indicator, year, name in indicators:
                entry = known.loc[indicator]
                unit = str(entry["unit"])
                values = frame[name].tolist()
                rows.append((
                    bilingual(str(entry["label_zh"]), str(entry["label_en"])), year,
                    # A number and its unit stay on one line; category texts may wrap.
                    [format_value(value, unit).replace(" ", "\u00a0") for value in values],
                    [is_missing(value) for value in values],
                ))
        else:
            values = frame[column].tolist()
            rows.append((field_label(column, spec.fields), None, field_texts(column, values, spec.fields),
                         [is_missing(value) for value in values]))
    return rows


class _StringTable:
    """Texts of a page stored once each; :meth:`add` returns a text's index."""

    def __init__(self):
        self.texts: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, text: str) -> int:
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.texts)
            self.texts.append(text)
        return index


# --------------------------------------------------------------------------- page


def basemap_config(basemap: str) -> tuple[list[dict], list[str]]:
    """Tile layers and their attribution HTML for ``basemap`` (``none`` gives none)."""
    if basemap == "none":
        return [], []
    entry = BASEMAPS[basemap]
    options = dict(entry["options"])
    text, url, template = entry["attribution"]
    attribution = template.format(link=f'<a href="{esc(url)}">{esc(text)}</a>')
    options["attribution"] = attribution
    layers = [{"url": entry["url"], "options": options}]
    if basemap == "tianditu":
        key = os.environ.get("TIANDITU_KEY", "").strip()
        if not key:
            raise GisError(
                "basemap 'tianditu' needs a Tianditu browser key in environment variable TIANDITU_KEY "
                "(apply at https://console.tianditu.gov.cn/); or use --basemap osm|amap or none"
            )
        if not re.fullmatch(r"[A-Za-z0-9]+", key):
            raise GisError("environment variable TIANDITU_KEY: a Tianditu key has only letters and digits")
        options["tk"] = key
        layers.append({"url": entry["labels"], "options": {**options, "attribution": ""}})
    return layers, [attribution]


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


def _prepare_units(frame: gpd.GeoDataFrame, basemap: str, cache: PageCache | None = None) -> tuple[np.ndarray, int]:
    """The layer's geometries simplified as a coverage for its extent, in the basemap's datum,
    and the coordinate decimals to write them with (from ``cache`` when the same geometries
    were prepared for another page)."""
    source = frame.geometry.to_numpy()
    key = (basemap, tuple(map(id, source)))
    found = cache.units.get(key) if cache is not None else None
    if found is not None:
        return found[1], found[2]
    tolerance, decimals = tolerance_for(source)
    geometries = to_display_crs(simplify_coverage(source, tolerance), basemap)
    if cache is not None:
        cache.units[key] = (source, geometries, decimals)  # ``source`` keeps the ids in the key valid
    return geometries, decimals


def build_page(spec: MapSpec, layers: dict[str, gpd.GeoDataFrame], basemap: str, standard: bool = False,
               min_coverage: float = 0.0, rasters=None, cache: PageCache | None = None) -> RenderedMap:
    """Render ``spec`` on ``layers`` (EPSG:4326) into a complete offline HTML page.

    ``standard``: draw the page to the China map standard (:mod:`gis.maps.china`: mainland
    frame, maritime line, 南海诸岛 inset). Overlays whose ``requires`` column is absent or
    empty in the page's data are dropped with their description sentence, and so are popup
    and tooltip fields without any value (another province's planning groups).
    Raises :class:`MapSkipped` when the map's layer or a view's column is absent, or when
    fewer than ``min_coverage`` of the units have a value in any view (a national page on
    one province's data). ``rasters``: as for :func:`gis.maps.render_maps`. ``cache``: work
    shared with other pages of the same run (:class:`PageCache`).
    """
    notes: list[str] = []
    if spec.layer not in layers or layers[spec.layer] is None:
        raise MapSkipped(f"layer {spec.layer!r} was not built (have: {', '.join(sorted(layers)) or 'none'})")
    frame = layers[spec.layer]
    frame = frame[~frame.geometry.isna() & ~frame.geometry.is_empty].reset_index(drop=True)
    if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    # A view whose values are missing is left out (users bring some indicators, not all);
    # the map is drawn if any view is left.
    views, columns, left_out = [], [], []
    for view in spec.views:
        try:
            columns.append(resolve_columns(view, frame, spec))
            views.append(view)
        except MapSkipped as reason:
            if len(spec.views) == 1:
                raise
            left_out.append((view, str(reason)))
    if not views:
        raise MapSkipped(needs_text(spec, [view for view, _ in left_out]))
    notes += [f"view {_view_label(view)!r} left out: {reason}" for view, reason in left_out]
    if min_coverage > 0 and len(frame):
        used = [c for cols in columns for c in cols.values()]
        covered = int(frame[used].notna().any(axis=1).sum())
        if covered < min_coverage * len(frame):
            raise MapSkipped(
                f"its data cover {covered} of {len(frame)} units ({covered / len(frame):.0%}), "
                f"under {min_coverage:.0%} of the country"
            )
    classed = [classify_view(view, cols, frame) for view, cols in zip(views, columns)]

    geometries, decimals = _prepare_units(frame, basemap, cache)
    present = [c for c in spec.popup_fields if c == INDICATORS_TOKEN or has_values(frame, c)]
    notes += [f"popup field {c!r} is not in layer {spec.layer!r}" for c in spec.popup_fields
              if c not in frame.columns and c != INDICATORS_TOKEN and c not in _DEFAULT_OPTIONAL]
    tips = [c for c in spec.tooltip_fields if has_values(frame, c)]
    notes += [f"tooltip field {c!r} is not in layer {spec.layer!r}" for c in spec.tooltip_fields if c not in frame.columns]
    indicators = indicator_columns(frame)
    names = frame["name"] if "name" in frame.columns else frame.get("adcode", pd.Series(range(len(frame))))

    # Texts repeat across units (labels, class names, "no data"): each is stored once in the
    # page's string table and units refer to it by index (a national page was over 3 MB).
    # Texts are made column by column; they enter the table unit by unit, in page order.
    strings = _StringTable()
    shapes = geojson_geometries(geometries, decimals)
    unit_names = [NO_DATA if is_missing(name) else str(name) for name in names.tolist()]
    tip_columns = [(field_label(c, spec.fields), field_texts(c, frame[c].tolist(), spec.fields)) for c in tips]
    pop_columns = popup_columns(frame, spec, present, indicators)
    features = []
    for i, geometry in enumerate(shapes):
        if geometry is None:
            continue
        features.append({
            "type": "Feature",
            "geometry": geometry,
            "properties": {
                "n": unit_names[i],
                "k": [cv.classes[i] for cv in classed],
                "t": [[strings.add(text) for text in cv.texts[i]] for cv in classed],
                "tip": [[strings.add(label), strings.add(texts[i])] for label, texts in tip_columns],
                "pop": [[strings.add(label), year, strings.add(texts[i]), missing[i]]
                        for label, year, texts, missing in pop_columns],
            },
        })
    units_json = {"type": "FeatureCollection", "features": features}

    overlay_payload, legend_overlays = [], []
    for overlay in spec.overlays:
        if not has_values(frame, overlay.requires):
            notes.append(f"overlay {bilingual(overlay.label_zh, overlay.label_en)!r} and its text left out: "
                         f"no values of {overlay.requires!r} on this page")
            continue
        try:
            overlay_payload.append(_overlay_data(overlay, frame, geometries, decimals, layers, basemap, rasters or {},
                                                         cache or PageCache()))
            legend_overlays.append(overlay)
        except MapSkipped as reason:
            notes.append(f"overlay {bilingual(overlay.label_zh, overlay.label_en)!r} left out: {reason}")

    tiles, attributions = basemap_config(basemap)
    used = [column for view_columns in columns for column in view_columns.values()]
    data_sources = sources_of(layers.get("sources"), spec.layer, used)
    if data_sources:
        attributions.append(esc("数据来源 Data: " + "; ".join(data_sources)))
    source = bilingual(spec.source_zh, spec.source_en) if spec.source_zh or spec.source_en else ""
    if source:
        attributions.append(esc(source))
    spec = replace(
        spec,
        description_zh="".join([spec.description_zh, *(o.description_zh for o in legend_overlays)]),
        description_en=" ".join([spec.description_en, *(o.description_en for o in legend_overlays if o.description_en)]),
    )
    config = {
        "views": [
            {
                "label": _view_label(cv.view),
                "controlLabel": esc(_view_label(cv.view)),
                "colors": cv.colours,
                "years": cv.years,
                "initialYear": cv.years.index(cv.view.initial_year) if cv.view.initial_year in cv.years else len(cv.years) - 1,
            }
            for cv in classed
        ],
        "initialView": 0,
        "bounds": china.mainland_bounds(geometries) if standard else bounds_latlon(geometries),
        "standard": china.standard_payload(basemap) if standard else None,
        "basemaps": tiles,
        "attributions": attributions,
        "attributionPrefix": '<a href="https://leafletjs.com" title="Leaflet (BSD-2-Clause)">Leaflet</a>',
        "noData": {"fill": NO_DATA_FILL, "hatch": NO_DATA_HATCH},
        "strings": strings.texts,
        "style": {
            "edge": "#ffffff",
            "edgeWeight": 1.0 if spec.layer == "prefectures" else 0.5,
            "hover": "#1a1a1a",
            "fillOpacity": 0.72 if tiles else 0.88,
        },
    }
    payload = ", ".join(script_json(x) for x in (config, units_json, overlay_payload))

    blocks = title_html(spec) + legend_html(spec, classed, legend_overlays, standard) + footer_html(spec.review_number)
    return RenderedMap(page_html(spec.name, _head_html(spec), blocks, payload), notes)


#: The page around its parts. Leaflet and the planner script come inlined in ``head``; the
#: map fills the window (what folium's map page did, from which this skeleton is taken; folium
#: itself took 0.3 s to import on every build and compiled each page's megabytes as templates).
_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta http-equiv="content-type" content="text/html; charset=UTF-8" />
{head}
<meta name="viewport" content="width=device-width, initial-scale=1.0, maximum-scale=1.0, user-scalable=no" />
<style>
html, body {{ width: 100%; height: 100%; margin: 0; padding: 0; }}
#{map_id} {{ position: relative; width: 100%; height: 100%; left: 0; top: 0; }}
.leaflet-container {{ font-size: 1rem; }}
</style>
</head>
<body>
{blocks}
<div class="gis-map" id="{map_id}"></div>
<script>
var {map_id} = L.map("{map_id}", {{center: [30.0, 120.0], zoom: 7, zoomControl: false, zoomSnap: 0.25}});
GisMap.init({map_id}, {payload});
</script>
</body>
</html>
"""


def page_html(name: str, head: str, blocks: str, payload: str) -> str:
    """The page: ``head`` (title, metadata, inlined assets) in ``<head>``; ``blocks`` (title,
    legend, footer) and the map ``<div>`` in the body; then the script creating the Leaflet
    map (id ``map_<name>``) and calling ``GisMap.init(map, payload)``.

    zoomSnap 0.25: fitBounds can then fill the window instead of jumping a whole zoom level;
    ``GisMap.init`` fits the map to the data, so the first centre and zoom are placeholders."""
    map_id = "map_" + re.sub(r"[^A-Za-z0-9_]", "_", name)
    return _PAGE.format(head=head, blocks=blocks, map_id=map_id, payload=payload)


#: Default popup fields that many layers lack; their absence is not worth a note.
_DEFAULT_OPTIONAL = {"prefecture_name", "census_note", "region", "mountain26", "pilot_zone", "degurba_l1", "degurba_l2", "degurba_weights",
                     "degurba_l1_stable", "population_2020", "density_2020", "population_basis"}


def _overlay_data(overlay: Overlay, frame: gpd.GeoDataFrame, geometries: np.ndarray, decimals: int, layers, basemap: str,
                  rasters, cache: PageCache) -> dict:
    """GeoJSON (outlines) or an embedded image (categorised grids) and style of one overlay;
    MapSkipped when its layer or column is missing. A categorised overlay uses the class
    raster ``rasters[(layer, column)]`` when there is one, else rasterises the layer's
    polygons."""
    label = esc(bilingual(overlay.label_zh, overlay.label_en))
    if overlay.where is not None:
        if overlay.where not in frame.columns:
            raise MapSkipped(f"column {overlay.where!r} is not in layer {overlay.layer!r}")
        members = frame[overlay.where].fillna(False).astype(bool).to_numpy()
        outline = dissolve(geometries[members])
        geometry = geojson_geometry(outline, decimals) if outline is not None else None
        features = [{"type": "Feature", "geometry": geometry, "properties": {}}] if geometry else []
        dashed = " gis-dashed" if overlay.dash else ""
        return {
            "kind": "outline",
            "label": f'<span class="gis-swatch-line{dashed}" style="border-top-color:{esc(overlay.color)}"></span>{label}',
            "color": overlay.color, "weight": overlay.weight, "dash": overlay.dash, "show": overlay.show,
            "data": {"type": "FeatureCollection", "features": features},
        }
    grid = layers.get(overlay.layer)
    if grid is None:
        raise MapSkipped(f"layer {overlay.layer!r} was not built")
    if overlay.column not in grid.columns:
        raise MapSkipped(f"column {overlay.column!r} is not in layer {overlay.layer!r}")
    colours = [c.color for c in overlay.categories]
    raster = rasters.get((overlay.layer, overlay.column))  # the grid the patches came from
    if raster is not None and basemap != "amap":  # AMap tiles want GCJ-02: shift the patches
        code_index = {int(c.value): k for k, c in enumerate(overlay.categories)}
        key = (id(raster), tuple(code_index.items()), tuple(colours), tuple(frame.total_bounds))
        if key not in cache.images:
            cache.images[key] = (raster, grid_image(raster.codes, raster.transform, raster.crs, code_index, colours, key[3]))
        image = cache.images[key][1]
    else:
        grid = grid[~grid.geometry.isna() & ~grid.geometry.is_empty].reset_index(drop=True)
        if grid.crs is not None and not grid.crs.equals("EPSG:4326"):
            grid = grid.to_crs("EPSG:4326")
        classes = _category_index(grid[overlay.column], overlay.categories)
        image = class_image(to_display_crs(grid.geometry.to_numpy(), basemap), classes, colours)
    if image is None:
        raise MapSkipped(f"no cell of layer {overlay.layer!r} has one of the overlay's categories")
    return {
        "kind": "image",
        "label": label,
        "url": image.data_url,
        "bounds": image.bounds,
        "opacity": overlay.fill_opacity, "show": overlay.show,
    }


def _head_html(spec: MapSpec) -> str:
    """Title, metadata read back by index.html, and the inlined Leaflet and planner assets."""
    licence = assets.leaflet_license().replace("--", "- -")
    return (
        f"<title>{esc(spec.title_zh)} | {esc(spec.title_en)}</title>\n"
        f'<meta name="gis:title_zh" content="{esc(spec.title_zh)}">\n'
        f'<meta name="gis:title_en" content="{esc(spec.title_en)}">\n'
        f'<meta name="gis:description_zh" content="{esc(spec.description_zh)}">\n'
        f'<meta name="gis:description_en" content="{esc(spec.description_en)}">\n'
        f"<!-- Leaflet {assets.LEAFLET_VERSION} is included below under its licence:\n{licence}\n-->\n"
        f"<style>{assets.inline_safe(assets.leaflet_css(), 'style')}</style>\n"
        f"<script>{assets.inline_safe(assets.leaflet_js(), 'script')}</script>\n"
        f"<style>{assets.inline_safe(assets.planner_css(), 'style')}</style>\n"
        f"<script>{assets.inline_safe(assets.planner_js(), 'script')}</script>"
    )
