"""Lazy re-exports for the subpackages' ``__init__`` (PEP 562).

Each subpackage names its public entry points once, with the module that defines them; a name
is imported on first use. ``import gis.degurba`` therefore costs nothing, and a command that
only classifies a grid never imports geopandas or folium through a package ``__init__``.
"""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__, __all__)`` for a package re-exporting ``exports``
    (public name -> submodule of ``package`` that defines it)."""

    def __getattr__(name: str):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__, sorted(exports)
