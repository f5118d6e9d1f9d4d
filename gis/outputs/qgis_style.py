"""QGIS styles (QML) built from the declarative style specs in ``layers/*.toml``.

Every style becomes a QGIS *rule-based* renderer: one rule per class, and a final rule
``"column" IS NULL`` drawn hatched grey for features whose value is missing, so "no data" is
visible and listed in the legend rather than silently not drawn (a plain graduated renderer
cannot draw nulls). No data means NULL and nothing else: graduated classes are open at both
ends (a value below the first break or above the last is in the end class, as on the pages),
and values a categorised style does not list are drawn as "other values", never as no data.
Labels use QGIS's simple labelling with a white buffer.

The XML follows what QGIS 3 writes itself: each symbol layer carries its properties both
as ``<Option type="Map">`` (QGIS ≥ 3.26) and as ``<prop k= v=>`` (older 3.x).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gis.colours import NO_DATA_FILL, NO_DATA_LABEL


@dataclass(frozen=True)
class FillSymbol:
    """A polygon symbol: fill colour and opacity (0..1), outline colour and width in mm."""

    fill: str | None = None
    fill_opacity: float = 1.0
    outline: str = "#636363"
    outline_width_mm: float = 0.26
    hatched: bool = False


@dataclass(frozen=True)
class StyleClass:
    """One legend entry: a QGIS filter expression, its legend label and its symbol."""

    filter: str
    label: str
    symbol: FillSymbol


@dataclass(frozen=True)
class LayerStyle:
    """A complete style for one layer, ready to serialise as QML."""

    name: str
    classes: list[StyleClass]
    label_field: str | None = None
    description: str = ""
    default: bool = False
    #: "polygon", or "line" (the outline colour and width draw the line; e.g. maritime_line)
    geometry: str = "polygon"


def quote_field(name: str) -> str:
    """A field reference in a QGIS expression: ``"name"`` with inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def literal(value) -> str:
    """A literal in a QGIS expression (booleans as TRUE/FALSE, strings single-quoted)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(float(value)) if isinstance(value, (float, np.floating)) else str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def _rgba(colour: str | None, opacity: float = 1.0) -> str:
    """'#rrggbb' -> 'r,g,b,a' as QML wants it; None -> fully transparent."""
    if colour is None:
        return "0,0,0,0"
    colour = colour.lstrip("#")
    red, green, blue = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"{red},{green},{blue},{round(255 * opacity)}"


def class_bounds(values: pd.Series, scheme: str, classes: int) -> list[float]:
    """Class bounds of ``values`` for a graduated QGIS style (NaN ignored): the minimum, then
    the upper bound of each class by the maps' scheme (:func:`gis.maps.schemes.class_bounds`),
    so a layer in QGIS and its HTML map break at the same values.

    ``scheme`` is ``quantiles``, ``fisher_jenks`` or ``equal_interval``; the result has one
    more entry than there are classes (empty without values).
    """
    from gis.maps.schemes import class_bounds as upper_bounds

    data = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype="float64")
    if data.size == 0:
        return []
    return [float(data.min()), *map(float, upper_bounds(scheme, data, classes))]


def _format_bound(value: float, decimals: int) -> str:
    return f"{value:,.{decimals}f}"


def graduated_classes(
    column: str, bounds: list[float], colours: list[str], decimals: int, symbol: FillSymbol,
    open_labels: bool = False,
) -> list[StyleClass]:
    """Range classes ``(b[i], b[i+1]]`` coloured in order, the first open below and the last open
    above: every non-NULL value is in a class (a value outside fixed breaks is not "no data").

    ``open_labels``: label the end classes ``≤ b[1]`` and ``> b[-2]`` (fixed breaks, which the
    data may pass); otherwise they show the bounds, which are then the data's minimum and maximum.
    """
    if len(colours) < len(bounds) - 1:
        raise ValueError(f"{len(bounds) - 1} classes need as many colours, got {len(colours)}")
    field_ref = quote_field(column)
    result = []
    last = len(bounds) - 2
    for i, (low, high) in enumerate(zip(bounds[:-1], bounds[1:])):
        conditions = ([] if i == 0 else [f"{field_ref} > {low!r}"]) + ([] if i == last else [f"{field_ref} <= {high!r}"])
        label = f"{_format_bound(low, decimals)} – {_format_bound(high, decimals)}"
        if open_labels and last > 0 and i in (0, last):
            label = f"≤ {_format_bound(high, decimals)}" if i == 0 else f"> {_format_bound(low, decimals)}"
        result.append(
            StyleClass(
                filter=" AND ".join(conditions) or f"{field_ref} IS NOT NULL",
                label=label,
                symbol=FillSymbol(
                    fill=colours[i],
                    fill_opacity=symbol.fill_opacity,
                    outline=symbol.outline,
                    outline_width_mm=symbol.outline_width_mm,
                ),
            )
        )
    return result


def no_data_class(outline: str = "#636363", outline_width_mm: float = 0.26, column: str | None = None) -> StyleClass:
    """The no-data rule, hatched grey: ``"column" IS NULL``, or ``ELSE`` without a column."""
    return StyleClass(
        filter="ELSE" if column is None else f"{quote_field(column)} IS NULL",
        label=NO_DATA_LABEL,
        symbol=FillSymbol(
            fill=NO_DATA_FILL, outline=outline, outline_width_mm=outline_width_mm, hatched=True
        ),
    )


#: Legend label of the values a categorised style does not list (not "no data": they have a value).
OTHER_VALUES_LABEL = "其他值 other values"


def other_values_class(outline: str = "#636363", outline_width_mm: float = 0.26) -> StyleClass:
    """The ELSE rule of a categorised style: non-NULL values it lists no class for, plain grey."""
    return StyleClass(filter="ELSE", label=OTHER_VALUES_LABEL,
                      symbol=FillSymbol(fill="#d9d9d9", outline=outline, outline_width_mm=outline_width_mm))


def _symbol_layer_props(symbol: FillSymbol) -> dict[str, str]:
    return {
        "border_width_map_unit_scale": "3x:0,0,0,0,0,0",
        "color": _rgba(symbol.fill, symbol.fill_opacity) if symbol.fill else "0,0,0,0",
        "joinstyle": "bevel",
        "offset": "0,0",
        "offset_unit": "MM",
        "outline_color": _rgba(symbol.outline),
        "outline_style": "solid",
        "outline_width": f"{symbol.outline_width_mm:g}",
        "outline_width_unit": "MM",
        "style": "b_diagonal" if symbol.hatched else ("solid" if symbol.fill else "no"),
    }


def _line_symbol_element(name: str, symbol: FillSymbol) -> ET.Element:
    """A SimpleLine symbol drawn with the symbol's outline colour and width."""
    element = ET.Element("symbol", {"type": "line", "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"})
    _symbol_layer(element, "SimpleLine", {
        "line_color": _rgba(symbol.outline), "line_style": "solid", "line_width": f"{symbol.outline_width_mm:g}",
        "line_width_unit": "MM", "capstyle": "flat", "joinstyle": "round", "offset": "0", "offset_unit": "MM",
    })
    return element


def _symbol_layer(symbol: ET.Element, layer_class: str, props: dict[str, str]) -> None:
    """One symbol layer of ``layer_class`` with ``props``, written both ways QGIS reads them
    (the ``Option`` map of QGIS >= 3.26 and the older ``prop`` elements)."""
    layer = ET.SubElement(symbol, "layer", {"class": layer_class, "enabled": "1", "locked": "0", "pass": "0"})
    options = ET.SubElement(layer, "Option", {"type": "Map"})
    for key, value in props.items():
        ET.SubElement(options, "Option", {"type": "QString", "name": key, "value": value})
    for key, value in props.items():
        ET.SubElement(layer, "prop", {"k": key, "v": value})


def _symbol_element(name: str, symbol: FillSymbol) -> ET.Element:
    element = ET.Element(
        "symbol",
        {"type": "fill", "name": name, "alpha": "1", "clip_to_extent": "1", "force_rhr": "0"},
    )
    _symbol_layer(element, "SimpleFill", _symbol_layer_props(symbol))
    return element


def _labeling_element(label_field: str) -> ET.Element:
    labeling = ET.Element("labeling", {"type": "simple"})
    settings = ET.SubElement(labeling, "settings", {"calloutType": "simple"})
    text_style = ET.SubElement(
        settings,
        "text-style",
        {
            "fieldName": label_field,
            "isExpression": "0",
            "fontFamily": "Noto Sans CJK SC",
            "fontSize": "9",
            "fontSizeUnit": "Point",
            "textColor": "33,33,33,255",
            "textOpacity": "1",
            "namedStyle": "Regular",
        },
    )
    ET.SubElement(
        text_style,
        "text-buffer",
        {
            "bufferDraw": "1",
            "bufferSize": "0.8",
            "bufferSizeUnits": "MM",
            "bufferColor": "255,255,255,255",
            "bufferOpacity": "0.85",
        },
    )
    ET.SubElement(
        settings,
        "placement",
        {"placement": "1", "centroidInside": "1", "centroidWhole": "0", "fitInPolygonOnly": "0"},
    )
    ET.SubElement(settings, "rendering", {"obstacle": "0", "drawLabels": "1", "displayAll": "0"})
    return labeling


def to_qml(style: LayerStyle, qgis_version: str = "3.22.0-Białowieża") -> str:
    """Serialise ``style`` as a QGIS QML document (the text QGIS stores in ``styleQML``)."""
    root = ET.Element(
        "qgis",
        {
            "version": qgis_version,
            "styleCategories": "Symbology|Labeling",
            "labelsEnabled": "1" if style.label_field else "0",
        },
    )
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        {"type": "RuleRenderer", "symbollevels": "0", "enableorderby": "0", "forceraster": "0"},
    )
    rules = ET.SubElement(renderer, "rules", {"key": "root"})
    symbols = ET.SubElement(renderer, "symbols")
    for i, style_class in enumerate(style.classes):
        ET.SubElement(
            rules,
            "rule",
            {"key": f"rule{i}", "symbol": str(i), "label": style_class.label, "filter": style_class.filter},
        )
        make = _line_symbol_element if style.geometry == "line" else _symbol_element
        symbols.append(make(str(i), style_class.symbol))
    if style.label_field:
        root.append(_labeling_element(style.label_field))
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerGeometryType").text = "1" if style.geometry == "line" else "2"
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(
        root, encoding="unicode"
    )

