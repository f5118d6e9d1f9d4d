"""Map specifications: TOML files in ``maps/`` read with :mod:`tomllib` and validated.

A spec is data, never code. Every problem is reported as :class:`gis.errors.GisError` naming
the file, the key (``views[0].scheme``) and what is allowed, so a planner who copied and
edited a spec can fix it without reading Python.

Spec layout (see ``maps/*.toml`` for complete examples)::

    title_zh = "{place}…"     # required, shown first; {place} becomes 浙江省 (Zhejiang in _en)
    title_en = "…"            # required, shown under the Chinese title
    description_zh = "…"      # one line, shown on the map and in index.html
    description_en = "…"
    layer = "prefectures"     # prefectures | counties | degurba_grid | units (your file: gis map --units FILE, or units = "file.gpkg")
    basemap = "none"          # none | osm | amap | tianditu (CLI --basemap overrides)
    source_zh / source_en     # optional attribution in the map corner (boundaries etc.); the
                              # sources of the values drawn are added from the data itself

    [[views]]                 # one or more themes of the layer (switched with radio buttons)
    indicator = "income_ratio"         # from gis/data/indicators.csv, or column = "…"
    years = [2000, 2005, 2010, 2015, 2020]   # or "all"; a year control when more than one
    scheme = "fisher_jenks"   # quantiles | fisher_jenks | equal_interval | user_breaks | categories
    classes = 5
    palette = "YlOrRd"        # ColorBrewer; colour-blind-safe unless allow_unsafe_palette = true

    [[views]]                 # categories found in the data (groups, strata of a factor):
    column = "group"          # one class per distinct value, in the column's categorical
    scheme = "categories"     # order if it has one (else sorted), coloured from palette
    categories = "@data"      # "Okabe-Ito" (qualitative) or a colour-blind-safe ColorBrewer
    palette = "Okabe-Ito"     # scheme for ordered classes

    [tooltip]  fields = ["prefecture_name"]      # extra rows under name and value
    [popup]    fields = ["region", "@indicators"] # "@indicators" = every indicator with data

    review_number = "GS(2024)1234号"   # optional 审图号, printed in the footer; without it
                              # the footer says the map is a schematic (示意图) from AMap data

    [figure]                  # optional: print figures (gis figure, gis build --figures)
    width_mm = 170            # 30 to 1200 mm; default 170 (an A4 text block)
    height_mm = 120           # default: from the map's frame
    dpi = 300                 # PNG resolution, 72 to 1200
    view = 1                  # one view: its number (from 1), label, indicator or column;
                              # default: one figure per view
    year = 2020               # default: the view's initial_year, else its last year
    language = "zh"           # zh | en | both: title, legend and notes
    labels = "auto"           # unit names: true | false | "auto" (up to 150 units)

    [[overlays]]              # outlined groups or a categorised layer, toggleable
    where = "mountain26"      # bool column of the map's layer: its members, dissolved, outlined;
                              # a text column (pilot_zone): one named outline per group
    layer = "counties"        # optional: outline the other level's units (default: the map's)
    requires = "mountain26"   # the overlay, with its description_zh/_en sentence, is dropped
                              # on pages whose data lack this column or have no value in it
                              # (default: the 'where' column); e.g. other provinces' pages
    description_zh = "…"      # optional sentence appended to the map's description when
    description_en = "…"      # the overlay is drawn
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gis.errors import SpecError
from gis.maps.palettes import COLORBLIND_SAFE, QUALITATIVE, check_palette, load_categories
from gis.maps.schemes import SCHEMES
from gis.tables.indicators import registry, units

LAYERS = ("prefectures", "counties", "degurba_grid", "units")
#: The map's layer is the user's own polygon file (``gis map --units FILE``, or the spec's
#: ``units`` key: a path relative to the spec).
USER_UNITS = "units"
BASEMAPS = ("none", "osm", "amap", "tianditu")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")
_DASH = re.compile(r"^[0-9]+( [0-9]+)*$")
INDICATORS_TOKEN = "@indicators"
#: ``categories = "@data"``: the classes are the distinct values of the view's column.
DATA_CATEGORIES = "@data"
#: At most this many user breaks (one more class than breaks; palettes have at most 9 colours).
MAX_USER_BREAKS = 8


@dataclass(frozen=True)
class Category:
    """One class of a categorical view: stored ``value``, fill ``color`` and bilingual label."""

    value: Any
    color: str
    label_zh: str
    label_en: str


@dataclass(frozen=True)
class View:
    """One theme of the map's layer: which values, how they are classed and coloured.

    ``columns`` maps each year (``None`` for a column without years) to the layer column
    holding the values. ``unit`` is a name from ``gis/data/units.csv`` (``None`` for
    categories).
    """

    label_zh: str
    label_en: str
    indicator: str | None
    columns: dict[int | None, str]
    years_all: bool
    unit: str | None
    scheme: str
    classes: int
    breaks: tuple[float, ...]
    palette: str
    reverse: bool
    categories: tuple[Category, ...]
    weights_column: str | None
    initial_year: int | None
    categories_from_data: bool = False


@dataclass(frozen=True)
class Overlay:
    """A toggleable overlay: a dissolved outline of the rows where ``where`` is true, or a
    categorised fill of ``column`` (e.g. the 1 km grid)."""

    label_zh: str
    label_en: str
    layer: str
    where: str | None
    column: str | None
    categories: tuple[Category, ...]
    color: str
    weight: float
    dash: str | None
    fill_opacity: float
    show: bool
    requires: str | None = None
    description_zh: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class FieldLabel:
    """Label and unit of a non-indicator column shown in tooltips and popups."""

    label_zh: str
    label_en: str
    unit: str | None = None


#: Figure languages: Chinese, English, or Chinese with English below.
FIGURE_LANGUAGES = ("zh", "en", "both")
#: Figure sizes in mm: from a thumbnail column to an A0 sheet's long side.
FIGURE_MM = (30.0, 1200.0)


@dataclass(frozen=True)
class FigureSettings:
    """The spec's ``[figure]`` table: a print figure's size (mm), resolution, view, year,
    language and unit labels. ``view`` is an index into the spec's views (None: every view
    gets a figure); ``labels`` None means automatic (names when there are few units)."""

    width_mm: float = 170.0
    height_mm: float | None = None
    dpi: int = 300
    view: int | None = None
    year: int | None = None
    language: str = "zh"
    labels: bool | None = None


@dataclass(frozen=True)
class MapSpec:
    """A validated map specification read from ``path``."""

    path: Path
    name: str
    title_zh: str
    title_en: str
    description_zh: str
    description_en: str
    layer: str
    basemap: str
    source_zh: str
    source_en: str
    views: tuple[View, ...]
    tooltip_fields: tuple[str, ...]
    popup_fields: tuple[str, ...]
    overlays: tuple[Overlay, ...]
    fields: dict[str, FieldLabel] = field(default_factory=dict)
    review_number: str = ""
    #: With ``layer = "units"``: the polygon file named by the spec (resolved against the
    #: spec's folder), or None when ``gis map --units`` gives it.
    units: Path | None = None
    figure: FigureSettings = field(default_factory=FigureSettings)

    def with_tokens(self, zh: dict[str, str], en: dict[str, str]) -> MapSpec:
        """This spec with ``{key}`` in its titles, descriptions, sources and labels replaced by ``zh[key]``
        (Chinese texts) or ``en[key]`` (English ones), e.g. ``{place}`` by ``浙江省`` /
        ``Zhejiang``: one spec serves every province. Plain text replacement, not ``format``."""
        def fill(text: str, values: dict[str, str]) -> str:
            for key, value in values.items():
                text = text.replace("{" + key + "}", value)
            return text

        return replace(
            self, title_zh=fill(self.title_zh, zh), title_en=fill(self.title_en, en),
            description_zh=fill(self.description_zh, zh), description_en=fill(self.description_en, en),
            source_zh=fill(self.source_zh, zh), source_en=fill(self.source_en, en),
            views=tuple(replace(v, label_zh=fill(v.label_zh, zh), label_en=fill(v.label_en, en)) for v in self.views),
            overlays=tuple(
                replace(o, description_zh=fill(o.description_zh, zh), description_en=fill(o.description_en, en))
                for o in self.overlays
            ),
            fields={name: replace(f, label_zh=fill(f.label_zh, zh), label_en=fill(f.label_en, en))
                    for name, f in self.fields.items()},
        )

    def for_place(self, place_zh: str, place_en: str) -> MapSpec:
        """:meth:`with_tokens` for ``{place}``: the province's (or country's) name."""
        return self.with_tokens({"place": place_zh}, {"place": place_en})


#: Labels of the attribute columns the build puts on layers; a spec's ``[fields.<column>]``
#: table adds or overrides entries.
DEFAULT_FIELDS: dict[str, FieldLabel] = {
    "name": FieldLabel("名称", "Name"),
    "adcode": FieldLabel("行政区划代码", "Division code"),
    "prefecture_name": FieldLabel("所属地级市", "Prefecture"),
    "region": FieldLabel("区域", "Region"),
    "mountain26": FieldLabel("山区26县", "Mountain-26 county"),
    "pilot_zone": FieldLabel("国家城乡融合发展试验区", "National urban-rural integration pilot zone"),
    "pilot_zone_partial": FieldLabel("部分位于试验区", "Partly in the pilot zone"),
    "economic_region": FieldLabel("四大经济区域", "NBS economic region"),
    "area_km2": FieldLabel("面积（km²）", "Area (km²)"),
    "degurba_l1": FieldLabel("城市化程度 L1", "Degree of Urbanisation L1"),
    "degurba_l2": FieldLabel("城市化程度 L2", "Degree of Urbanisation L2"),
    "degurba_weights": FieldLabel("分级权重", "Classification weights"),
}

DEFAULT_POPUP_FIELDS = (
    "prefecture_name",
    "region",
    "mountain26",
    "pilot_zone",
    "degurba_l1",
    "degurba_l2",
    "degurba_weights",
    INDICATORS_TOKEN,
)

_TOP_KEYS = {
    "title_zh", "title_en", "description_zh", "description_en", "layer", "basemap",
    "source_zh", "source_en", "views", "tooltip", "popup", "overlays", "fields", "review_number", "units",
    "figure",
}
_FIGURE_KEYS = {"width_mm", "height_mm", "dpi", "view", "year", "language", "labels"}
_VIEW_KEYS = {
    "label_zh", "label_en", "indicator", "column", "unit", "years", "scheme", "classes",
    "breaks", "palette", "reverse", "allow_unsafe_palette", "categories", "weights_column",
    "initial_year",
}
_OVERLAY_KEYS = {
    "label_zh", "label_en", "layer", "where", "column", "categories", "color", "weight",
    "dash", "fill_opacity", "show", "requires", "description_zh", "description_en",
}


class _Reader:
    """Typed access to one TOML table with errors that name the file and the key path."""

    def __init__(self, path: Path, table: dict, prefix: str = ""):
        self.path = path
        self.table = table
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str, message: str) -> SpecError:
        return SpecError(f"{self.path}: key '{self.key(name)}': {message}")

    def only(self, allowed: set[str]) -> None:
        """Reject unknown keys: a typo must not silently fall back to a default."""
        for name in self.table:
            if name not in allowed:
                raise self.fail(name, f"unknown key; allowed keys: {', '.join(sorted(allowed))}")

    def text(self, name: str, default: str | None = None) -> str:
        value = self.table.get(name, default)
        if value is None:
            raise self.fail(name, "missing; a non-empty string is required")
        if not isinstance(value, str) or (not value.strip() and default is None):
            raise self.fail(name, f"{value!r} is not allowed; a non-empty string is required")
        return value.strip()

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value = self.table.get(name, default)
        if value not in allowed:
            shown = "missing" if value is None else f"{value!r} is not allowed"
            raise self.fail(name, f"{shown}; allowed: {', '.join(allowed)}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.table.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, f"{value!r} is not allowed; allowed: true, false")
        return value

    def integer(self, name: str, default: int | None, low: int, high: int) -> int | None:
        value = self.table.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(name, f"{value!r} is not allowed; an integer from {low} to {high}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self.table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise self.fail(name, f"{value!r} is not allowed; a number from {low:g} to {high:g}")
        return float(value)

    def colour(self, name: str, default: str) -> str:
        value = self.table.get(name, default)
        if not isinstance(value, str) or not _COLOUR.match(value):
            raise self.fail(name, f"{value!r} is not allowed; a colour like \"#54278f\"")
        return value

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.table.get(name, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(name, f"{value!r} is not allowed; a list of column names")
        return tuple(value)

    def sub(self, name: str, index: int | None = None) -> _Reader:
        value = self.table.get(name, {}) if index is None else self.table[name][index]
        key = name if index is None else f"{name}[{index}]"
        if not isinstance(value, dict):
            raise self.fail(name, f"{value!r} is not allowed; a table is required")
        return _Reader(self.path, value, f"{self.prefix}{key}.")


def _read_categories(reader: _Reader, name: str) -> tuple[Category, ...]:
    """A named category set from package data or an inline list of tables."""
    value = reader.table.get(name)
    if isinstance(value, str):
        try:
            rows = load_categories(value)
        except KeyError as error:
            raise reader.fail(name, str(error.args[0])) from None
    elif isinstance(value, list) and value:
        rows = value
    else:
        raise reader.fail(
            name, f"{value!r} is not allowed; a named set (e.g. \"degurba_l2_units\") or a "
            "list of {value, color, label_zh, label_en} tables"
        )
    categories = []
    for i, row in enumerate(rows):
        item = _Reader(reader.path, row, f"{reader.key(name)}[{i}].")
        item.only({"value", "color", "label_zh", "label_en"})
        if "value" not in row or isinstance(row["value"], (dict, list)):
            raise item.fail("value", "missing; the stored value (number, string or boolean)")
        categories.append(
            Category(row["value"], item.colour("color", ""), item.text("label_zh"), item.text("label_en"))
        )
    return tuple(categories)


def _read_years(reader: _Reader) -> tuple[list[int] | None, bool]:
    value = reader.table.get("years")
    if value is None:
        raise reader.fail("years", "missing; a list of years like [2000, 2020] or \"all\"")
    if value == "all":
        return None, True
    if (
        not isinstance(value, list) or not value
        or not all(isinstance(y, int) and not isinstance(y, bool) and 1900 <= y <= 2100 for y in value)
        or len(set(value)) != len(value)
    ):
        raise reader.fail("years", f"{value!r} is not allowed; distinct years like [2000, 2020] or \"all\"")
    return sorted(value), False


def _read_view(reader: _Reader) -> View:
    reader.only(_VIEW_KEYS)
    indicator = reader.table.get("indicator")
    column = reader.table.get("column")
    if (indicator is None) == (column is None):
        raise reader.fail("indicator", "give exactly one of 'indicator' (with 'years') or 'column'")
    scheme = reader.choice("scheme", tuple(SCHEMES) + ("categories",))
    unit_names = tuple(units().index)
    if indicator is not None:
        known = registry()
        if indicator not in known.index:
            raise reader.fail(
                "indicator", f"{indicator!r} is not in gis/data/indicators.csv; allowed: "
                + ", ".join(known.index)
            )
        entry = known.loc[indicator]
        years, years_all = _read_years(reader)
        columns = {} if years_all else {y: f"{indicator}_{y}" for y in years}
        unit = str(entry["unit"])
        label_zh = reader.text("label_zh", str(entry["label_zh"]))
        label_en = reader.text("label_en", str(entry["label_en"]))
        if "unit" in reader.table:
            raise reader.fail("unit", "units of indicators come from gis/data/indicators.csv; remove it")
    else:
        if not isinstance(column, str) or not column:
            raise reader.fail("column", f"{column!r} is not allowed; a column name")
        if "years" in reader.table:
            raise reader.fail("years", "only with 'indicator'; a column has one value per unit")
        columns, years_all = {None: column}, False
        unit = None if scheme == "categories" else reader.choice("unit", unit_names)
        label_zh = reader.text("label_zh")
        label_en = reader.text("label_en")

    categories: tuple[Category, ...] = ()
    classes, breaks, palette, reverse = 0, (), "", False
    from_data = scheme == "categories" and reader.table.get("categories") == DATA_CATEGORIES
    if from_data:
        for name in ("classes", "breaks", "reverse"):
            if name in reader.table:
                raise reader.fail(name, "not used with categories = \"@data\"; there is one class per value")
        palette = reader.table.get("palette", "Okabe-Ito")
        if palette not in QUALITATIVE and palette not in COLORBLIND_SAFE:
            raise reader.fail("palette", f"{palette!r} is not allowed; {', '.join(QUALITATIVE)} or a colour-blind-safe "
                              f"ColorBrewer scheme ({', '.join(COLORBLIND_SAFE)})")
    elif scheme == "categories":
        categories = _read_categories(reader, "categories")
        for name in ("classes", "breaks", "palette", "reverse"):
            if name in reader.table:
                raise reader.fail(name, "not used with scheme = \"categories\"; the categories carry colours")
    else:
        if "categories" in reader.table:
            raise reader.fail("categories", "only with scheme = \"categories\"")
        if scheme == "user_breaks":
            raw = reader.table.get("breaks")
            if (
                not isinstance(raw, list) or not raw
                or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in raw)
                or sorted(raw) != raw or len(set(raw)) != len(raw)
            ):
                shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:59] + "…"
                raise reader.fail("breaks", f"{shown} is not allowed; increasing finite upper class bounds like [1.8, 2.0, 2.2]")
            if len(raw) > MAX_USER_BREAKS:
                raise reader.fail("breaks", f"{len(raw)} breaks is too many; at most {MAX_USER_BREAKS} ({MAX_USER_BREAKS + 1} classes, as palettes have)")
            breaks = tuple(float(b) for b in raw)
            classes = len(breaks) + 1
            if "classes" in reader.table and reader.table["classes"] != classes:
                raise reader.fail("classes", f"must equal len(breaks) + 1 = {classes} (or be left out)")
        else:
            if "breaks" in reader.table:
                raise reader.fail("breaks", "only with scheme = \"user_breaks\"")
            classes = reader.integer("classes", 5, 2, 9)
        reverse = reader.boolean("reverse", False)
        try:
            palette = check_palette(
                reader.table.get("palette", "YlOrRd"), classes,
                reader.boolean("allow_unsafe_palette", False),
            )
        except ValueError as error:
            raise reader.fail("palette", str(error)) from None
    weights = reader.table.get("weights_column")
    if weights is not None and not isinstance(weights, str):
        raise reader.fail("weights_column", f"{weights!r} is not allowed; a column name")
    initial = reader.integer("initial_year", None, 1900, 2100)
    return View(
        label_zh=label_zh, label_en=label_en, indicator=indicator, columns=columns,
        years_all=years_all, unit=unit, scheme=scheme, classes=classes, breaks=breaks,
        palette=palette, reverse=reverse, categories=categories, weights_column=weights,
        initial_year=initial, categories_from_data=from_data,
    )


def _read_overlay(reader: _Reader, layer: str) -> Overlay:
    reader.only(_OVERLAY_KEYS)
    where = reader.table.get("where")
    column = reader.table.get("column")
    if (where is None) == (column is None):
        raise reader.fail("where", "give exactly one of 'where' (bool column to outline) or 'column' (with 'categories')")
    for name, value in (("where", where), ("column", column)):
        if value is not None and (not isinstance(value, str) or not value):
            raise reader.fail(name, f"{value!r} is not allowed; a column name")
    overlay_layer = reader.choice("layer", LAYERS, layer)
    if where is not None and overlay_layer not in ("prefectures", "counties"):
        # Outlines are dissolved from units: the map's own simplified coverage (they meet its
        # borders), or the other level's units (pilot-zone counties on a prefecture page).
        raise reader.fail("layer", f"an outline overlay outlines prefectures or counties, not {overlay_layer!r}")
    categories = _read_categories(reader, "categories") if column is not None else ()
    return Overlay(
        label_zh=reader.text("label_zh"),
        label_en=reader.text("label_en"),
        layer=overlay_layer,
        where=where,
        column=column,
        categories=categories,
        color=reader.colour("color", "#333333"),
        weight=reader.number("weight", 2.5, 0.0, 10.0),
        dash=_dash(reader),
        fill_opacity=reader.number("fill_opacity", 0.75, 0.0, 1.0),
        show=reader.boolean("show", True),
        requires=_requires(reader, where),
        description_zh=reader.text("description_zh", ""),
        description_en=reader.text("description_en", ""),
    )


def _requires(reader: _Reader, where: str | None) -> str | None:
    value = reader.table.get("requires", where)
    if value is not None and (not isinstance(value, str) or not value):
        raise reader.fail("requires", f"{value!r} is not allowed; the name of a column of the map's layer")
    return value


def _dash(reader: _Reader) -> str | None:
    value = reader.table.get("dash")
    if value is None:
        return None
    if not isinstance(value, str) or not _DASH.match(value):
        raise reader.fail("dash", f"{value!r} is not allowed; SVG dash lengths like \"6 4\"")
    return value


def _read_fields(reader: _Reader) -> dict[str, FieldLabel]:
    fields = dict(DEFAULT_FIELDS)
    for name, value in reader.table.items():
        item = reader.sub(name)
        item.only({"label_zh", "label_en", "unit"})
        unit = item.choice("unit", tuple(units().index)) if "unit" in value else None
        fields[name] = FieldLabel(item.text("label_zh"), item.text("label_en"), unit)
    return fields


def view_names(view: View) -> tuple[str, ...]:
    """What a ``[figure] view`` (or ``gis figure --view``) may call ``view`` besides its number."""
    return tuple(dict.fromkeys(n for n in (view.indicator, *view.columns.values(), view.label_zh, view.label_en) if n))


def find_view(views: tuple[View, ...], wanted: object) -> int | None:
    """Index of the view ``wanted`` names (number from 1, label, indicator or column), or None."""
    if isinstance(wanted, int) and not isinstance(wanted, bool):
        return wanted - 1 if 1 <= wanted <= len(views) else None
    if isinstance(wanted, str):
        text = wanted.strip()
        if text.isdigit():
            return find_view(views, int(text))
        for i, view in enumerate(views):
            if text in view_names(view):
                return i
    return None


def _read_figure(reader: _Reader, views: tuple[View, ...]) -> FigureSettings:
    reader.only(_FIGURE_KEYS)
    low, high = FIGURE_MM
    width = reader.number("width_mm", 170.0, low, high)
    height = reader.number("height_mm", low, low, high) if "height_mm" in reader.table else None
    view = None
    if "view" in reader.table:
        view = find_view(views, reader.table["view"])
        if view is None:
            known = "; ".join(f"{i + 1} ({', '.join(view_names(v))})" for i, v in enumerate(views))
            raise reader.fail("view", f"{reader.table['view']!r} is not a view of this map; views: {known}")
    year = reader.integer("year", None, 1900, 2100)
    if year is not None:
        for v in (views if view is None else views[view:view + 1]):
            if not v.years_all and year not in v.columns:
                raise reader.fail("year", f"{year} is not a year of view {v.label_zh!r}; its years: "
                                  + ", ".join(str(y) for y in v.columns))
    labels = reader.table.get("labels", "auto")
    if labels not in (True, False, "auto"):
        raise reader.fail("labels", f"{labels!r} is not allowed; allowed: true, false, \"auto\"")
    return FigureSettings(
        width_mm=width, height_mm=height, dpi=int(reader.integer("dpi", 300, 72, 1200)), view=view, year=year,
        language=reader.choice("language", FIGURE_LANGUAGES, "zh"), labels=None if labels == "auto" else labels,
    )


#: Page names (file stems, case-insensitive) a map spec may not take: the run writes these pages.
RESERVED_PAGE_NAMES = frozenset({"index"})


def load_spec(path: str | Path, beside_index: bool = True) -> MapSpec:
    """Read and validate one map spec; the map's name is the file stem (``<name>.html``).

    ``beside_index``: the page goes into a folder with ``index.html`` (``gis build``, ``gis
    map``), so the names of the pages the run writes itself are refused; the analysis maps,
    written to a path of the user's choosing, pass False.

    Raises :class:`SpecError` (a :class:`GisError`) naming the file and key at fault.
    """
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SpecError(f"{path}: no such map spec") from None
    except OSError as error:  # a folder named *.toml, no permission
        raise SpecError(f"{path}: cannot read the map spec ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: not valid TOML: {error}") from None
    # Letters of any script (中文.toml is fine), digits, '_' and '-': a safe page name.
    if not re.fullmatch(r"[\w-]+", path.stem):
        raise SpecError(f"{path}: file name must use letters, digits, '_' or '-' (it names {path.stem}.html)")
    # Pages a run writes itself beside the maps; compared case-insensitively because Windows and
    # macOS folders are (Index.html would replace index.html there).
    if beside_index and path.stem.casefold() in RESERVED_PAGE_NAMES:
        raise SpecError(f"{path}: the name {path.stem!r} is reserved ({path.stem}.html is the page listing the maps); rename the file")
    top = _Reader(path, table)
    top.only(_TOP_KEYS)
    layer = top.choice("layer", LAYERS)
    raw_views = table.get("views")
    if not isinstance(raw_views, list) or not raw_views:
        raise top.fail("views", "missing; at least one [[views]] table is required")
    raw_overlays = table.get("overlays", [])
    if not isinstance(raw_overlays, list):
        raise top.fail("overlays", "must be [[overlays]] tables")
    units_file = top.text("units", "") or None
    if units_file is not None and layer != USER_UNITS:
        raise top.fail("units", f"only with layer = \"{USER_UNITS}\" (the map of your own polygon file)")
    tooltip, popup = top.sub("tooltip"), top.sub("popup")
    tooltip.only({"fields"})
    popup.only({"fields"})
    views = tuple(_read_view(top.sub("views", i)) for i in range(len(raw_views)))
    return MapSpec(
        path=path,
        name=path.stem,
        title_zh=top.text("title_zh"),
        title_en=top.text("title_en"),
        description_zh=top.text("description_zh"),
        description_en=top.text("description_en"),
        layer=layer,
        basemap=top.choice("basemap", BASEMAPS, "none"),
        source_zh=top.text("source_zh", ""),
        source_en=top.text("source_en", ""),
        views=views,
        tooltip_fields=tooltip.strings("fields", ()),
        popup_fields=popup.strings("fields", DEFAULT_POPUP_FIELDS),
        overlays=tuple(_read_overlay(top.sub("overlays", i), layer) for i in range(len(raw_overlays))),
        fields=_read_fields(top.sub("fields")),
        review_number=top.text("review_number", ""),
        units=(path.parent / units_file) if units_file else None,
        figure=_read_figure(top.sub("figure"), views),
    )
