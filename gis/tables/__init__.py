"""Indicator tables: the registry, the values shipped with the package, and users' own tables
joined to units.

- :mod:`~gis.tables.indicators` — indicator registry and shipped (seed) values, long <-> wide.
- :mod:`~gis.tables.read` — reading CSV (UTF-8, GBK, GB18030) and XLSX, numbers as Chinese
  tables write them.
- :mod:`~gis.tables.join` — :func:`load_user_tables`: match rows to units, check values,
  derive ratios and gaps; with :mod:`~gis.tables.names` (names and codes as written),
  :mod:`~gis.tables.crosswalk` (renamed, merged, split units) and :mod:`~gis.tables.report`
  (what was joined and what was not).
"""

from gis._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "registry": "indicators",
    "units": "indicators",
    "seed_indicators": "indicators",
    "to_wide": "indicators",
    "LONG_COLUMNS": "indicators",
    "read_table": "read",
    "RawTable": "read",
    "load_user_tables": "join",
    "cited_files": "join",
    "JoinReport": "report",
    "JoinError": "report",
})
