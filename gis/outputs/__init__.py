"""Outputs for GIS users: GeoPackages whose layers open in QGIS with their styles.

- :mod:`~gis.outputs.layer_specs` — the declarative layer specs (``layers/*.toml``).
- :mod:`~gis.outputs.qgis_style` — QGIS rule-based styles (QML) built from them.
- :mod:`~gis.outputs.gpkg` — writing the GeoPackage with its ``layer_styles`` table.
"""

from gis._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "load_layer_specs": "layer_specs",
    "resolve_styles": "layer_specs",
    "LayerSpec": "layer_specs",
    "LayerStyle": "qgis_style",
    "to_qml": "qgis_style",
    "OutputLayer": "gpkg",
    "write_geopackage": "gpkg",
})
