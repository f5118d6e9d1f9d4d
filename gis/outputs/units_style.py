"""The GeoPackage of ``gis degurba units``: the user's units with a default QGIS style.

The style is the build's own: the Level 2 Degree of Urbanisation style of the county layer
spec (``layers/counties.toml``, the style on column ``degurba_l2``), resolved by the same
machinery (:func:`gis.outputs.layer_specs.resolve_styles`) and stored in the GeoPackage's
``layer_styles`` table (:func:`gis.outputs.gpkg.write_geopackage`), so QGIS draws the units
in GHSL colours as soon as the file is dropped in, labelled with their names.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd

from gis.outputs.gpkg import OutputLayer, write_geopackage
from gis.outputs.layer_specs import load_layer_specs, resolve_styles

#: Layer name in the output GeoPackage.
UNITS_LAYER = "degurba_units"
#: Words that mark a column holding a unit's name (tried in order, case-insensitively).
_NAME_HINTS = ("name", "名称", "名", "mc")


def our_column(frame: pd.DataFrame, name: str) -> str:
    """The column we added as ``name``: the last one called ``name`` or ``name_gis[N]`` (ours
    come after the user's and are renamed on a clash, :func:`gis.units.user_units.attach_columns`)."""
    pattern = re.compile(re.escape(name) + r"(_gis\d*)?", re.IGNORECASE)
    for column in reversed(list(frame.columns)):
        if pattern.fullmatch(str(column)):
            return column
    raise KeyError(name)


def name_column(frame: pd.DataFrame) -> str | None:
    """The column most likely holding each unit's name: ``name``, else the first text column
    whose name says name (名称, ``*_name``, ``mc``), else the first text column; None if none."""
    text = [c for c in frame.columns if c != frame.geometry.name and pd.api.types.is_string_dtype(frame[c])
            and not str(c).startswith("degurba_")]
    for hint in _NAME_HINTS:
        for column in text:
            if hint in str(column).lower():
                return column
    return text[0] if text else None


def units_styles(frame: gpd.GeoDataFrame) -> list:
    """QGIS styles for a Stage II result: the counties' Level 2 style, on our class column
    (``degurba_l2`` or its renamed copy), labelled by :func:`name_column`."""
    counties = next(spec for spec in load_layer_specs() if spec.name == "counties")
    column = our_column(frame, "degurba_l2")
    label = name_column(frame)
    styles = []
    for style in counties.styles:
        if style.get("column") == "degurba_l2":
            styles.append({**style, "column": column, "label_field": label, "default": True})
    spec = replace(counties, styles=tuple(styles), description="城市化程度第二级 Degree of Urbanisation, Level 2 (GHSL colours)")
    return resolve_styles(spec, frame)[0]


def write_units_geopackage(path: Path, frame: gpd.GeoDataFrame, description: str = "") -> Path:
    """Write ``frame`` (a user's units with their Stage II columns) as layer ``degurba_units`` of
    the GeoPackage ``path`` (atomically), with its default QGIS style. CRS: the frame's."""
    layer = OutputLayer(
        UNITS_LAYER, frame, title="城市化程度 Degree of Urbanisation of units",
        description=description or "Units classified with the Degree of Urbanisation (Stage II, gis degurba units).",
        styles=units_styles(frame),
    )
    return write_geopackage(path, [layer])
