"""Declarative GeoPackage layer specs (``layers/*.toml``) and the QGIS styles they describe.

A spec names a layer, the table the build assembles for it (``source``) and any number of
QGIS styles. :func:`load_layer_specs` reads and validates the files (errors name the file
and the key); :func:`resolve_styles` turns a spec's styles into
:class:`gis.outputs.qgis_style.LayerStyle` objects for a given frame, computing class bounds from the
data where the spec asks for a classification scheme. See ``layers/README.md``.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gis.errors import SpecError
from gis.outputs.qgis_style import (
    FillSymbol,
    LayerStyle,
    StyleClass,
    class_bounds,
    graduated_classes,
    literal,
    no_data_class,
    other_values_class,
    quote_field,
)
from gis.specs import specs_dir

SOURCES = ("province", "prefectures", "counties", "maritime_line", "degurba_grid", "degurba_class_density", "degurba_rules", "indicators", "sources")
RENDERERS = ("single", "graduated", "categorized")
SCHEMES = ("quantiles", "fisher_jenks", "equal_interval")
#: ``classes = "@data"`` in a categorized style: one class per value of the column, in the
#: groups' source order for a shipped grouping (else first appearance), coloured so that
#: touching groups differ (:func:`gis.analysis.grouping.group_colours`).
DATA_CLASSES = "@data"



@dataclass(frozen=True)
class LayerSpec:
    """One GeoPackage layer as declared in ``layers/<name>.toml``."""

    path: Path
    name: str
    title: str
    description: str
    source: str
    styles: tuple[dict, ...]
    geometry: str = "polygon"


def _require(table: dict, key: str, kind, path: Path, where: str = ""):
    if key not in table:
        raise SpecError(f"{path}: missing key {where}{key!r}")
    value = table[key]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SpecError(f"{path}: key {where}{key!r} must be a {expected}, got {value!r}")
    return value


def _check_choice(value, allowed, path: Path, key: str):
    if value not in allowed:
        raise SpecError(f"{path}: key {key!r} is {value!r}; allowed: {', '.join(map(str, allowed))}")


def _check_colour(value, path: Path, key: str):
    if not (isinstance(value, str) and len(value) == 7 and value.startswith("#")):
        raise SpecError(f"{path}: key {key!r} must be a colour like '#a1b2c3', got {value!r}")
    try:
        int(value[1:], 16)
    except ValueError:
        raise SpecError(f"{path}: key {key!r} must be a colour like '#a1b2c3', got {value!r}") from None


#: The keys a layer spec, a style and a class may have (layers/README.md); anything else is a
#: typo (``colour`` for ``colors``) that must not pass silently.
LAYER_KEYS = frozenset({"name", "title", "description", "source", "geometry", "styles"})
STYLE_KEYS = frozenset({
    "name", "default", "label_field", "renderer", "column", "breaks", "scheme", "classes", "colors", "decimals",
    "fill", "fill_opacity", "outline", "outline_width_mm",
})
CLASS_KEYS = frozenset({"value", "label", "fill", "fill_opacity", "outline", "outline_width_mm"})


def _only(table, allowed: frozenset, path: Path, where: str = "") -> None:
    if not isinstance(table, dict):
        raise SpecError(f"{path}: {where.rstrip('.') or 'the file'} must be a table, got {table!r}")
    for key in table:
        if key not in allowed:
            raise SpecError(f"{path}: unknown key {where}{key!r}; allowed keys: {', '.join(sorted(allowed))}")


def _validate_style(style: dict, path: Path, index: int) -> None:
    where = f"styles[{index}]."
    _only(style, STYLE_KEYS, path, where)
    _require(style, "name", str, path, where)
    renderer = _require(style, "renderer", str, path, where)
    _check_choice(renderer, RENDERERS, path, where + "renderer")
    for key in ("fill", "outline"):
        if key in style:
            _check_colour(style[key], path, where + key)
    if renderer == "graduated":
        _require(style, "column", str, path, where)
        colours = _require(style, "colors", list, path, where)
        for i, colour in enumerate(colours):
            _check_colour(colour, path, f"{where}colors[{i}]")
        if "breaks" in style:
            breaks = _require(style, "breaks", list, path, where)
            numeric = all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in breaks)
            if len(breaks) < 2 or not numeric or any(b <= a for a, b in zip(breaks, breaks[1:])):
                raise SpecError(f"{path}: key {where}'breaks' must be at least two increasing numbers")
            if len(colours) != len(breaks) - 1:
                raise SpecError(
                    f"{path}: key {where}'colors' has {len(colours)} colours for "
                    f"{len(breaks) - 1} classes (one colour per class between breaks)"
                )
        else:
            scheme = _require(style, "scheme", str, path, where)
            _check_choice(scheme, SCHEMES, path, where + "scheme")
            classes = _require(style, "classes", int, path, where)
            if len(colours) < classes:
                raise SpecError(f"{path}: key {where}'colors' needs {classes} colours, has {len(colours)}")
    elif renderer == "categorized":
        _require(style, "column", str, path, where)
        if style.get("classes") == DATA_CLASSES:
            return  # one class per group found in the data (see _data_classes)
        for i, entry in enumerate(_require(style, "classes", list, path, where)):
            _only(entry, CLASS_KEYS, path, f"{where}classes[{i}].")
            _require(entry, "value", (str, int, float, bool), path, f"{where}classes[{i}].")
            _require(entry, "label", str, path, f"{where}classes[{i}].")
            for key in ("fill", "outline"):
                if key in entry:
                    _check_colour(entry[key], path, f"{where}classes[{i}].{key}")


#: Table names GeoPackage and SQLite keep for themselves (compared case-insensitively, as SQLite
#: compares table names): the GeoPackage's own tables, its spatial indexes, SQLite's internal
#: tables and the QGIS styles table this package writes.
RESERVED_LAYER_PREFIXES = ("gpkg_", "rtree_", "sqlite_")
RESERVED_LAYER_NAMES = frozenset({"layer_styles", "gpkg_contents", "gpkg_geometry_columns", "gpkg_spatial_ref_sys"})


def _check_layer_name(name: str, path: Path) -> None:
    """A layer name is a GeoPackage table name: not blank, no control characters or edge spaces,
    not one of the names GeoPackage, SQLite or the styles table reserve."""
    if not name.strip():
        raise SpecError(f"{path}: key 'name': the layer name is empty")
    if name != name.strip() or any(ord(c) < 32 for c in name):
        raise SpecError(f"{path}: key 'name': {name!r} has spaces at its ends or control characters")
    folded = name.casefold()
    if folded in RESERVED_LAYER_NAMES or folded.startswith(RESERVED_LAYER_PREFIXES):
        raise SpecError(
            f"{path}: key 'name': {name!r} is reserved by GeoPackage/SQLite (gpkg_*, rtree_*, sqlite_*, layer_styles); rename the layer"
        )


def read_layer_spec(path: Path) -> LayerSpec:
    """Read and validate one layer spec file."""
    path = Path(path)
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(f"{path}: cannot read: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(f"{path}: not valid TOML: {error}") from None
    _only(spec, LAYER_KEYS, path)
    name = _require(spec, "name", str, path)
    _check_layer_name(name, path)
    source = _require(spec, "source", str, path)
    _check_choice(source, SOURCES, path, "source")
    geometry = spec.get("geometry", "polygon")
    _check_choice(geometry, ("polygon", "line"), path, "geometry")
    styles = spec.get("styles", [])
    if not isinstance(styles, list):
        raise SpecError(f"{path}: key 'styles' must be an array of tables ([[styles]])")
    for i, style in enumerate(styles):
        _validate_style(style, path, i)
    defaults = [s["name"] for s in styles if s.get("default")]
    if len(defaults) > 1:
        raise SpecError(f"{path}: more than one style has default = true: {', '.join(defaults)}")
    return LayerSpec(
        path=path,
        name=name,
        title=str(spec.get("title", name)),
        description=str(spec.get("description", "")),
        source=source,
        styles=tuple(styles),
        geometry=geometry,
    )


def load_layer_specs(directory: Path | None = None) -> list[LayerSpec]:
    """All ``*.toml`` layer specs in ``directory`` (default: the shipped ones, :func:`gis.specs.specs_dir`),
    sorted by file name; names must be unique."""
    directory = Path(directory) if directory is not None else specs_dir("layers")
    paths = sorted(directory.glob("*.toml"))
    if not paths:
        raise SpecError(f"{directory}: no layer specs (*.toml) found")
    specs = [read_layer_spec(p) for p in paths]
    # SQLite table names are case-insensitive: COUNTIES and counties are one table.
    seen: dict[str, LayerSpec] = {}
    for spec in specs:
        other = seen.get(spec.name.casefold())
        if other is not None:
            same = "" if other.name == spec.name else f" ({other.name!r}: GeoPackage layer names are case-insensitive)"
            raise SpecError(f"{spec.path}: layer name {spec.name!r} is also used by {other.path}{same}")
        seen[spec.name.casefold()] = spec
    return specs


_DEFAULT_SYMBOL = FillSymbol()


def _symbol(entry: dict, defaults: FillSymbol = _DEFAULT_SYMBOL) -> FillSymbol:
    return FillSymbol(
        fill=entry.get("fill", defaults.fill),
        fill_opacity=float(entry.get("fill_opacity", defaults.fill_opacity)),
        outline=entry.get("outline", defaults.outline),
        outline_width_mm=float(entry.get("outline_width_mm", defaults.outline_width_mm)),
    )


def _style_classes(style: dict, frame: pd.DataFrame) -> list[StyleClass]:
    renderer = style["renderer"]
    base = _symbol(style)
    if renderer == "single":
        return [StyleClass(filter="", label=style["name"], symbol=base)]
    column = style["column"]
    if renderer == "graduated":
        fixed = "breaks" in style
        if fixed:
            bounds = [float(b) for b in style["breaks"]]
        else:
            bounds = class_bounds(frame[column], style["scheme"], style["classes"])
        classes = graduated_classes(
            column, bounds, style["colors"], int(style.get("decimals", 2)), base, open_labels=fixed
        )
    elif style["classes"] == DATA_CLASSES:
        classes = _data_classes(column, frame, base)
    else:
        classes = [
            StyleClass(
                filter=f"{quote_field(column)} = {literal(entry['value'])}",
                label=entry["label"],
                symbol=_symbol(entry, base),
            )
            for entry in style["classes"]
        ]
        # ELSE after IS NULL: only values with no class of their own reach it.
        return [*classes, no_data_class(base.outline, base.outline_width_mm, column), other_values_class(base.outline, base.outline_width_mm)]
    return [*classes, no_data_class(base.outline, base.outline_width_mm, column)]


def _data_classes(column: str, frame: pd.DataFrame, base: FillSymbol) -> list[StyleClass]:
    """One class per value of ``frame[column]``: a shipped grouping's groups in their source's
    order, other columns' in order of first appearance; colours from the groups' adjacency."""
    from gis.analysis.grouping import group_colours
    from gis.units.planning import GROUPINGS, group_order

    present = list(dict.fromkeys(frame[column].dropna().astype(str)))
    order = [g for g in group_order(column) if g in present] if column in GROUPINGS else present
    order += [g for g in present if g not in order]
    geometric = frame if "geometry" in frame.columns else None
    colours = group_colours(geometric, column, order)
    return [StyleClass(filter=f"{quote_field(column)} = {literal(g)}", label=g,
                       symbol=FillSymbol(fill=colours[g], fill_opacity=base.fill_opacity if base.fill_opacity < 1 else 0.7,
                                         outline=base.outline, outline_width_mm=base.outline_width_mm))
            for g in order]


def resolve_styles(spec: LayerSpec, frame: pd.DataFrame) -> tuple[list[LayerStyle], list[str]]:
    """The QGIS styles of ``spec`` for the data in ``frame``, and notes on styles skipped.

    A style whose column is missing from ``frame``, or has no values, is skipped (noted, except
    for a planning grouping's column, which exists only where the units belong to it); if the
    default style is skipped, the first remaining style becomes the default.
    """
    from gis.units.planning import grouping_columns

    styles, notes = [], []
    for style in spec.styles:
        column = style.get("column")
        if column is not None and (column not in frame.columns or frame[column].isna().all()):
            # A grouping the build's units do not belong to (山区26县 in Sichuan) has no column
            # there by design: its style is left out without a word.
            if column not in frame.columns and column in grouping_columns():
                continue
            notes.append(f"layer {spec.name}: style {style['name']!r} skipped, no values in column {column!r}")
            continue
        styles.append(
            LayerStyle(
                name=style["name"],
                classes=_style_classes(style, frame),
                label_field=style.get("label_field"),
                description=spec.description,
                default=bool(style.get("default", False)),
                geometry=spec.geometry,
            )
        )
    if styles and not any(s.default for s in styles):
        first = styles[0]
        styles[0] = LayerStyle(first.name, first.classes, first.label_field, first.description, True, first.geometry)
    return styles, notes
