"""Turn a validated :class:`~gis.maps.spec.MapSpec` and layer frames into one HTML page.

The page is a folium map (:mod:`gis.maps.elements`) written as one HTML file: Leaflet and the
planner script are inlined (:mod:`gis.maps.assets`), so with no basemap the page makes no
network request.
One GeoJSON carries each unit's geometry once, with its class and formatted value for every
theme and year; the inline script restyles the units when the theme or year changes.

All text from data or specs reaches the page either HTML-escaped here (title, legend,
layer-control labels, attribution) or as JSON strings that the script writes with
``textContent`` (names and values in tooltips and popups). JSON inside ``<script>`` has
``<``, ``>`` and ``&`` escaped so no string can close the script element.
"""

from __future__ import annotations

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

# Classification is shared with the print figures (gis.figures): one code path for both.
from gis.maps.classify import (
    WEIGHTS_TEXT as _WEIGHTS_TEXT,
)
from gis.maps.classify import (
    YEAR_COLUMN as _YEAR_COLUMN,
)
from gis.maps.classify import (
    ClassedView,
    MapSkipped,
    bilingual,
    classify_view,
    has_values,
    layer_frame,
    resolve_columns,
    sources_of,
)
from gis.maps.classify import (
    category_index as _category_index,
)
from gis.maps.classify import (
    category_key as _category_key,
)
from gis.maps.classify import (
    category_label as _category_label,
)
from gis.maps.geometry import (
    bounds_latlon,
    dissolve,
    geojson_geometries,
    geojson_geometry,
    simplify_coverage,
    to_display_crs,
    tolerance_for,
)
from gis.maps.needs import needs_text
from gis.maps.numbers import (
    NO_DATA,
    format_value,
    is_missing,
    unit_labels,
)
from gis.maps.palettes import load_categories
from gis.maps.raster import class_image, grid_image
from gis.maps.spec import INDICATORS_TOKEN, Category, FieldLabel, MapSpec, Overlay, View
from gis.tables.indicators import registry

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
class PlannerPage:
    """A page as a folium map (:class:`gis.maps.elements.PlannerMap`), plus notes about parts
    left out (e.g. a missing overlay); :attr:`html` renders it."""

    map: object
    notes: list[str] = field(default_factory=list)

    @property
    def html(self) -> str:
        """The complete, self-contained page."""
        return self.map.get_root().render()


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



# --------------------------------------------------------------------------- data checks



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


def footer_html(review_number: str = "", users_units: bool = False) -> str:
    """Footer block: the 审图号 if one is given, else the schematic-map statement."""
    zh, en = china.footer_text(review_number, users_units)
    return (
        '<div id="gis-footer" class="gis-panel gis-footer" hidden>'
        f'<span lang="zh-CN">{esc(zh)}</span><br><span class="gis-en" lang="en">{esc(en)}</span></div>'
    )



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
               min_coverage: float = 0.0, rasters=None, cache: PageCache | None = None,
               initial_view: int | str | None = None, initial_year: int | None = None) -> PlannerPage:
    """Draw ``spec`` on ``layers`` (EPSG:4326) as a complete offline page: a folium map
    (:meth:`PlannerPage.html` renders it).

    ``standard``: draw the page to the China map standard (:mod:`gis.maps.china`: mainland
    frame, maritime line, 南海诸岛 inset). Overlays whose ``requires`` column is absent or
    empty in the page's data are dropped with their description sentence, and so are popup
    and tooltip fields without any value (another province's planning groups).
    Raises :class:`MapSkipped` when the map's layer or a view's column is absent, or when
    fewer than ``min_coverage`` of the units have a value in any view (a national page on
    one province's data). ``rasters``: as for :func:`gis.maps.render_maps`. ``cache``: work
    shared with other pages of the same run (:class:`PageCache`). ``initial_view`` and
    ``initial_year``: what the page opens on (see :func:`opening_view`; default the first
    view, each view at its spec's ``initial_year`` or its last year); a view or year the page
    does not have is a :class:`GisError` naming those it has.
    """
    notes: list[str] = []
    frame = layer_frame(spec, layers)
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
    first = opening_view(classed, initial_view)
    if initial_year is not None:
        if initial_year not in classed[first].years:
            shown = ", ".join(str(y) for y in classed[first].years if y is not None) or "none"
            raise GisError(f"year {initial_year}: view {_view_label(classed[first].view)!r} has years {shown}")
        classed = [replace(cv, view=replace(cv.view, initial_year=initial_year)) if initial_year in cv.years else cv
                   for cv in classed]

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
        other = layers.get(overlay.layer) if overlay.where is not None and overlay.layer != spec.layer else None
        if other is not None:  # outlines of another layer's units (pilot-zone counties on a prefecture page)
            if not has_values(other, overlay.requires):
                notes.append(f"overlay {bilingual(overlay.label_zh, overlay.label_en)!r} and its text left out: "
                             f"no values of {overlay.requires!r} on this page")
                continue
            overlay_payload.append(_other_layer_outline(overlay, other, basemap, tolerance_for(frame.geometry.to_numpy())[0], decimals))
            legend_overlays.append(overlay)
            continue
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
        "initialView": first,
        "bounds": china.mainland_bounds(geometries) if standard else bounds_latlon(geometries),
        "standard": china.standard_payload(basemap) if standard else None,
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
    page = page_map(spec, payload, classed, legend_overlays, overlay_payload, tiles, standard, first)
    return PlannerPage(page, notes)


def opening_view(classed: list[ClassedView], view: int | str | None) -> int:
    """Index among the drawn views of ``view``: a position among them (0 the first),
    or a view's indicator, column or label (Chinese or English); None: the first."""
    if view is None:
        return 0
    for i, cv in enumerate(classed):
        if isinstance(view, str) and view in (cv.view.indicator, cv.view.label_zh, cv.view.label_en,
                                              *cv.view.columns.values()):
            return i
    if isinstance(view, int) and not isinstance(view, bool) and 0 <= view < len(classed):
        return view
    have = "; ".join(f"{i}: {cv.view.indicator or next(iter(cv.view.columns.values()))}" for i, cv in enumerate(classed))
    raise GisError(f"view {view!r}: the map has views {have}")


def page_map(spec: MapSpec, payload: str, classed: list[ClassedView], legend_overlays: list[Overlay],
             overlay_payload: list[dict], tiles: list[dict], standard: bool, first_view: int = 0):
    """The page as a folium map (:mod:`gis.maps.elements`), its children in the order the
    page's script needs them: assets, tiles, title and footer, the units (``payload``:
    ``config, units, overlays`` as JSON), a feature group per overlay, the China map standard,
    the legend, the year slider, a feature group per view, the fit to the units and the
    layer control.

    Every element gets an id from its place in the page (``map_<spec name>``, ``…_gis3``), not
    folium's random one, so the same data make the same file."""
    from gis.maps import elements

    page = elements.PlannerMap("map_" + re.sub(r"[^A-Za-z0-9_]", "_", spec.name))
    parts = [(elements.ASSETS, elements.Assets(_head_html(spec)))]
    parts += [(f"gis_tiles_{i}", elements.tile_layer(t["url"], t["options"])) for i, t in enumerate(tiles)]
    parts += [("gis_title", elements.Block("gis-title", title_html(spec), "topleft")),
              ("gis_footer", elements.Block("gis-footer", footer_html(spec.review_number, spec.layer == "units"), "bottomleft")),
              ("gis_units", elements.Units(payload))]
    for i, overlay in enumerate(overlay_payload):
        group = elements.feature_group(overlay["label"], overlay=True, show=overlay["show"])
        parts.append((f"gis_overlay_{i}", group.add_child(elements.Overlay(i))))
    if standard:
        parts.append(("gis_standard", elements.ChinaStandard()))
    parts.append(("gis_legend", elements.Block("gis-legend", legend_html(spec, classed, legend_overlays, standard),
                                               "bottomright")))
    if any(len(cv.years) > 1 for cv in classed):
        parts.append(("gis_years", elements.YearSlider()))
    if len(classed) > 1:
        for i, cv in enumerate(classed):
            group = elements.feature_group(esc(_view_label(cv.view)), overlay=False, show=i == first_view)
            parts.append((f"gis_view_{i}", group.add_child(elements.View(i))))
    parts.append(("gis_fit", elements.Fit()))
    if len(classed) > 1 or overlay_payload:
        parts.append((elements.LAYER_CONTROL, elements.layer_control()))
    number = 0
    for name, element in parts:
        page.add_child(element, name=name)
        for part in (element, *element._children.values()):
            number += 1
            part._id = f"gis{number}"
    return page


#: Default popup fields that many layers lack; their absence is not worth a note.
_DEFAULT_OPTIONAL = {"prefecture_name", "census_note", "region", "mountain26", "pilot_zone", "degurba_l1", "degurba_l2", "degurba_weights",
                     "degurba_l1_stable", "population_2020", "density_2020", "population_basis"}


def _overlay_data(overlay: Overlay, frame: gpd.GeoDataFrame, geometries: np.ndarray, decimals: int, layers, basemap: str,
                  rasters, cache: PageCache) -> dict:
    """GeoJSON (outlines) or an embedded image (categorised grids) and style of one overlay;
    MapSkipped when its layer or column is missing. A categorised overlay uses the class
    raster ``rasters[(layer, column)]`` when there is one, else rasterises the layer's
    polygons."""
    if overlay.where is not None:
        if overlay.where not in frame.columns:
            raise MapSkipped(f"column {overlay.where!r} is not in layer {overlay.layer!r}")
        return _outline_payload(overlay, frame[overlay.where], geometries, decimals)
    label = esc(bilingual(overlay.label_zh, overlay.label_en))
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


def _outline_payload(overlay: Overlay, values: pd.Series, geometries: np.ndarray, decimals: int) -> dict:
    """The dissolved outline of the units where ``values`` is true; for a text column (a
    grouping: each pilot zone) one outline per group, named, in order of first appearance."""
    label = esc(bilingual(overlay.label_zh, overlay.label_en))
    if pd.api.types.is_bool_dtype(values) or values.dropna().map(type).eq(bool).all():
        groups = [(None, values.fillna(False).astype(bool).to_numpy())]
    else:
        present = values.notna().to_numpy()
        groups = [(str(g), (values == g).fillna(False).to_numpy()) for g in dict.fromkeys(values[present])]
    features = []
    for name, members in groups:
        outline = dissolve(geometries[members])
        geometry = geojson_geometry(outline, decimals) if outline is not None else None
        if geometry:
            features.append({"type": "Feature", "geometry": geometry, "properties": {"name": esc(name)} if name else {}})
    dashed = " gis-dashed" if overlay.dash else ""
    return {
        "kind": "outline",
        "label": f'<span class="gis-swatch-line{dashed}" style="border-top-color:{esc(overlay.color)}"></span>{label}',
        "color": overlay.color, "weight": overlay.weight, "dash": overlay.dash, "show": overlay.show,
        "data": {"type": "FeatureCollection", "features": features},
    }


def _other_layer_outline(overlay: Overlay, other: gpd.GeoDataFrame, basemap: str, page_tolerance: float, decimals: int) -> dict:
    """:func:`_outline_payload` from the members of another layer (simplified on their own:
    a few dozen counties, not the country's), no finer than the page's own units (``page_tolerance``,
    degrees): pilot-zone counties on the national overview are drawn at its 2 km, not at 200 m."""
    values = other[overlay.where]
    members = other[values.notna() & values.astype(object).ne(False)].reset_index(drop=True)
    members = members[~members.geometry.isna() & ~members.geometry.is_empty].reset_index(drop=True)
    if members.crs is not None and not members.crs.equals("EPSG:4326"):
        members = members.to_crs("EPSG:4326")
    source = members.geometry.to_numpy()
    tolerance = max(tolerance_for(source)[0], page_tolerance)
    geometries = to_display_crs(simplify_coverage(source, tolerance), basemap)
    return _outline_payload(overlay, members[overlay.where], geometries, decimals)


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
        f"<script>{assets.leaflet_marker_defaults()}</script>\n"
        f"<style>{assets.inline_safe(assets.planner_css(), 'style')}</style>\n"
        f"<script>{assets.inline_safe(assets.planner_js(), 'script')}</script>"
    )
