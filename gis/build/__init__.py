"""The main job, ``gis build``: boundaries -> indicators -> Degree of Urbanisation -> layers ->
GeoPackage, class GeoTIFFs and maps.

- :mod:`~gis.build.assemble` — read and join everything a build needs (:func:`assemble`).
- :mod:`~gis.build.layers` — the tables that become GeoPackage layers and map inputs.
"""

from gis._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "assemble": "assemble",
    "Assembled": "assemble",
    "build_layers": "layers",
})
