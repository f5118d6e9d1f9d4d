"""Analyses planning studies use on the joined indicators.

- :mod:`~gis.analysis.integration` — entropy-weight integration index and coupling coordination.
- :mod:`~gis.analysis.mcda` — panel entropy weights, entropy-TOPSIS, obstacle degree (障碍度),
  coupling coordination for n subsystems with its ten grades.
- :mod:`~gis.analysis.inequality` — Theil T/L and Gini (Dagum) decompositions, coefficient of
  variation, year by year.
- :mod:`~gis.analysis.geodetector` — the geographical detector (factor, interaction, risk,
  ecological) with optimal discretisation.
- :mod:`~gis.analysis.lisa` — hot spots (local Moran's I).
"""

from gis._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "integration_index": "integration",
    "panel_entropy_index": "mcda",
    "inequality_table": "inequality",
    "geodetector": "geodetector",
    "local_moran": "lisa",
})
