"""Analyses planning studies use on the joined indicators.

- :mod:`~gis.analysis.integration` — entropy-weight integration index and coupling coordination.
- :mod:`~gis.analysis.lisa` — hot spots (local Moran's I).
"""

from gis._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "integration_index": "integration",
    "local_moran": "lisa",
})
