"""Write a styled GeoPackage: layers with their default QGIS styles inside.

QGIS reads a layer's default style from the GeoPackage's ``layer_styles`` table (the table
QGIS itself creates when a user saves a style "in the datasource database"): one row per
style, matched on ``f_table_name`` and ``f_geometry_column``, and the row with
``useAsDefault`` set is applied when the layer is loaded.

The whole GeoPackage is written to a temporary file beside the target and renamed over it
only when complete, so an interrupted build never leaves a half-written file.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from gis._files import atomic_path
from gis.outputs.qgis_style import LayerStyle, to_qml

GEOMETRY_COLUMN = "geom"

_LAYER_STYLES_DDL = """
CREATE TABLE layer_styles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    f_table_catalog TEXT(256),
    f_table_schema TEXT(256),
    f_table_name TEXT(256),
    f_geometry_column TEXT(256),
    styleName TEXT(30),
    styleQML TEXT,
    styleSLD TEXT,
    useAsDefault BOOLEAN,
    description TEXT,
    owner TEXT(30),
    ui TEXT(30),
    update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
)
"""


@dataclass
class OutputLayer:
    """A table to write: a GeoDataFrame (spatial) or DataFrame (attributes only)."""

    name: str
    frame: pd.DataFrame
    title: str = ""
    description: str = ""
    styles: list[LayerStyle] = field(default_factory=list)


def _write_layer(path: Path, layer: OutputLayer, crs) -> None:
    frame = layer.frame
    kwargs = dict(layer=layer.name, driver="GPKG", append=path.exists())
    if not path.exists():
        # GeoPackage 1.3, not GDAL's newest 1.4: older QGIS/GDAL (e.g. QGIS 3.22 LTR, common
        # on government desktops) warn that 1.4 "may only be partially supported".
        kwargs["dataset_options"] = {"VERSION": "1.3"}
    if isinstance(frame, gpd.GeoDataFrame):
        frame = frame.to_crs(crs) if crs is not None else frame
        lines = len(frame) > 0 and frame.geom_type.isin(["LineString", "MultiLineString"]).all()
        pyogrio.write_dataframe(
            frame, path, geometry_type="MultiLineString" if lines else "MultiPolygon", promote_to_multi=True,
            layer_options={"GEOMETRY_NAME": GEOMETRY_COLUMN}, **kwargs,
        )
    else:
        pyogrio.write_dataframe(pd.DataFrame(frame), path, **kwargs)


def _write_metadata_and_styles(path: Path, layers: list[OutputLayer]) -> None:
    with sqlite3.connect(path) as connection:
        for layer in layers:
            connection.execute(
                "UPDATE gpkg_contents SET identifier = ?, description = ? WHERE table_name = ?",
                (layer.title or layer.name, layer.description, layer.name),
            )
        styled = [layer for layer in layers if layer.styles]
        if not styled:
            return
        connection.execute(_LAYER_STYLES_DDL)
        # Registered as an attributes table so GDAL and QGIS list it as a proper GPKG table.
        connection.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
            "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles')"
        )
        for layer in styled:
            for style in layer.styles:
                connection.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
                    "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, "
                    "description, owner, ui) VALUES ('', '', ?, ?, ?, ?, '', ?, ?, '', '')",
                    (layer.name, GEOMETRY_COLUMN, style.name, to_qml(style),
                     1 if style.default else 0, style.description),
                )


def write_geopackage(path: Path, layers: list[OutputLayer], crs=None) -> Path:
    """Write ``layers`` (with their QGIS styles) to the GeoPackage ``path``, atomically.

    Parameters
    ----------
    path
        Target ``.gpkg``; replaced only once the new file is complete.
    layers
        Layers in the order QGIS should list them.
    crs
        Output CRS for spatial layers (e.g. ``"EPSG:4326"`` or ``"EPSG:4490"``); None keeps
        each frame's own CRS.
    """
    path = Path(path)
    with atomic_path(path) as temporary:
        for layer in layers:
            _write_layer(temporary, layer, crs)
        _write_metadata_and_styles(temporary, layers)
    return path
