"""Degree of Urbanisation, Stage II: classify spatial units from a classified grid.

For each unit (county, prefecture, township …) the population living in each Level 2 grid
class is summed, counting a cell cut by the unit's boundary in proportion to the share of the
cell's area inside the unit. The coverage fractions are **exact** (``exactextract``, on the
equal-area ESRI:54009 grid, so a fraction of a cell is a fraction of its area). Units arrive in
EPSG:4326 and are reprojected to ESRI:54009 for the computation.

Rules (``DEGURBA.md``): City (3/30) if ≥ 50 % of the population is in urban centres; else Rural
(1) if ≥ 50 % is in rural grid cells (13/12/11); else Town and semi-dense area (2). Level 2 is
the class with the largest share among 23/22/21 (towns) or 13/12/11 (rural), ties to the
denser class. A unit with no population is 1/11. The two 50 % shares are rules
(``units.city_share``, ``units.rural_share`` of :class:`gis.degurba.rules.Rules`).

Our choices:

- Water cells (10) are reported (``pop_water`` / ``area_km2_water``) but left out of the
  denominator of every share and rule: with population weights they hold nobody by definition;
  with area weights a lake should not make a city district "rural".
- Cells without data (255) are left out too. ``nodata_km2`` is all of a unit's area without a
  class — on cells without data *or outside the grid* — and ``nodata_share`` its share of the
  unit's area. A unit more than :data:`MAX_NODATA_SHARE` of whose area has no class gets **no
  class** (missing, "no data" on maps and in QGIS): a unit off the grid is unknown, not "mostly
  uninhabited".
- Two shares are "tied" when they differ by less than 1e-9 of the larger (rounding of
  fractional sums); ties go to the denser class. "≥ 50 %" is tested as ``part ≥ 0.5 × total``
  (exact in floating point for 0.5, as ``2 × part ≥ total``).
- With area weights (``degurba_weights = "area"``: an official class grid, no population)
  the same rules are applied to land area instead of population; columns are ``area_km2_*``
  instead of ``pop_*``, shares and class columns are the same.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from exactextract import exact_extract
from exactextract.raster import NumPyRasterSource

from gis.degurba.classify import NODATA
from gis.degurba.grid import GHSL_CRS, GhslWindow
from gis.degurba.rules import Rules
from gis.errors import GisError

#: Column suffix of every Level 2 grid class, densest first.
CLASS_COLUMNS = {
    30: "urban_centre",
    23: "dense_urban_cluster",
    22: "semi_dense_urban_cluster",
    21: "suburban",
    13: "rural_cluster",
    12: "low_density_rural",
    11: "very_low_density_rural",
    10: "water",
}
#: Names of the Level 1 and Level 2 unit classes.
UNIT_L1_NAMES = {3: "city", 2: "town and semi-dense area", 1: "rural area"}
UNIT_L2_NAMES = {
    30: "city", 23: "dense town", 22: "semi-dense town", 21: "suburban or peri-urban area",
    13: "village", 12: "dispersed rural area", 11: "mostly uninhabited area",
}
#: A unit with more than this share of its area on no class (cells without data or off the
#: grid) is not classified: half of it or more is unknown.
MAX_NODATA_SHARE = 0.5
_TOWN_CODES = (23, 22, 21)
_RURAL_CODES = (13, 12, 11)
_TIE_TOLERANCE = 1e-9


#: Coverages with at least this many cell pieces (a few prefectures) are kept in the user's
#: cache: a national build's 2 875 counties take half a minute to compute, Zhejiang's 90 one
#: second, and either reads back in a fraction of a second.
CACHE_MIN_PIECES = 20_000
#: Coverage entries kept in the cache (least recently used ones go first): a national entry
#: is about 160 MB.
CACHE_ENTRIES = 6
#: Grids of at least this many cells are covered in parallel (:func:`gis._parallel.fork_map`).
PARALLEL_MIN_CELLS = 4_000_000
#: Bump when the cached arrays change meaning.
_CACHE_FORMAT = 1


def unit_cell_coverage(units: gpd.GeoDataFrame, window: GhslWindow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact coverage of the grid's cells by each unit.

    Returns three equal-length arrays: the unit's position in ``units``, the flat cell index
    (row * width + col) in ``window``, and the fraction (0..1] of that cell's area inside the
    unit. Cells outside the window are not reported.

    Large results are cached (:func:`gis._cache.cache_dir` ``/coverage``), keyed by the units'
    geometries and CRS, the window and the exactextract version, so a second build of the same
    area reads them back instead of recomputing; a cache that cannot be read or written is
    ignored.
    """
    if units.crs is None:
        raise GisError("units have no CRS; expected polygons in EPSG:4326 (or any declared CRS)")
    from importlib.metadata import version

    from gis._cache import geometry_key, read_arrays, write_arrays

    key = geometry_key(_CACHE_FORMAT, version("exactextract"), units.crs.to_wkt(), window, geometries=units.geometry.values)
    cached = read_arrays("coverage", key)
    if cached is not None and {"unit", "cell", "fraction"} <= set(cached):
        return cached["unit"].astype(np.int64), cached["cell"].astype(np.int64), cached["fraction"]
    import shapely

    from gis._parallel import fork_map, worker_count

    projected = units[[units.geometry.name]].to_crs(GHSL_CRS).geometry.to_numpy()
    if len(projected) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    # Many units over a large grid (a national build: ~35 s) are covered in parallel, in runs
    # of units of about equal area: the time goes with the cells each unit covers.
    runs = 1 if window.height * window.width < PARALLEL_MIN_CELLS else worker_count()
    cumulative_area = np.cumsum(np.nan_to_num(shapely.area(projected)))
    starts = np.searchsorted(cumulative_area, cumulative_area[-1] * np.arange(runs) / runs)
    bounds = sorted(set(np.r_[starts, len(projected)].tolist()))
    pieces = fork_map(lambda run: _exact_coverage(projected[run[0]:run[1]], window),
                      list(zip(bounds[:-1], bounds[1:])), processes=runs)
    unit_index = np.concatenate([unit + start for (unit, _, _), start in zip(pieces, bounds)])
    coverage = unit_index, np.concatenate([p[1] for p in pieces]), np.concatenate([p[2] for p in pieces])
    if len(unit_index) >= CACHE_MIN_PIECES:
        unit, cell, fraction = coverage
        write_arrays("coverage", key, CACHE_ENTRIES, unit=unit.astype(np.int32), fraction=fraction,
                     cell=cell.astype(np.int64 if cell.max() > 2**31 - 1 else np.int32))
    return coverage


def _exact_coverage(geometries: np.ndarray, window: GhslWindow) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit, flat cell, fraction) of ``geometries`` (shapely, ESRI:54009) over ``window``."""
    left, bottom, right, top = window.bounds
    # A dummy raster without nodata: we only want cell ids and coverage fractions.
    index_raster = NumPyRasterSource(
        np.zeros(window.shape, dtype=np.uint8), left, bottom, right, top, srs_wkt=GHSL_CRS.to_wkt()
    )
    frame = gpd.GeoDataFrame(geometry=geometries, crs=GHSL_CRS)
    result = exact_extract(index_raster, frame, ["cell_id", "coverage"], output="pandas")
    cells, fractions = list(result["cell_id"]), list(result["coverage"])
    lengths = np.array([len(c) for c in cells], dtype=np.int64)
    unit_index = np.repeat(np.arange(len(geometries)), lengths)
    if lengths.sum() == 0:
        return unit_index, np.zeros(0, dtype=np.int64), np.zeros(0)
    return unit_index, np.concatenate(cells).astype(np.int64), np.concatenate(fractions).astype("float64")


def centre_weights(units: gpd.GeoDataFrame, window: GhslWindow, unit_index, cells, fractions) -> np.ndarray:
    """GHSL's official workflow (as flexurba's ``official_workflow = TRUE``): each cell belongs
    wholly to the unit holding its centre (weight 1, else 0); a unit holding no cell centre
    takes every cell it touches (weight 1). ``unit_index``, ``cells``, ``fractions``: from
    :func:`unit_cell_coverage`. A centre exactly on a shared boundary belongs to no unit."""
    import shapely

    projected = units[[units.geometry.name]].to_crs(GHSL_CRS).geometry.to_numpy()
    left, _, _, top = window.bounds
    size = (window.bounds[2] - left) / window.width
    rows, cols = np.divmod(cells, window.width)
    inside = shapely.contains_xy(projected[unit_index], left + (cols + 0.5) * size, top - (rows + 0.5) * size)
    has_centre = np.bincount(unit_index, weights=inside, minlength=len(units)) > 0
    return np.where(inside | ~has_centre[unit_index], 1.0, 0.0) * (fractions > 0)


def class_totals(
    units: gpd.GeoDataFrame,
    class_codes: np.ndarray,
    window: GhslWindow,
    population: np.ndarray | None = None,
    cell_weights: str = "coverage",
    with_area: bool = False,
) -> pd.DataFrame:
    """Population (or area, km²) of each unit in each Level 2 grid class.

    ``class_codes`` (uint8, 255 = nodata) and the optional ``population`` (persons per cell,
    NaN = nodata) lie on ``window``. Without population, each cell weighs its area (1 km² ×
    coverage fraction). Returns one row per unit (same order), columns ``pop_<class>`` or
    ``area_km2_<class>`` for every class of :data:`CLASS_COLUMNS`, ``nodata_km2`` (the unit's
    area, km² of the equal-area grid, without a class: on nodata cells or outside ``window``)
    and ``nodata_share`` (of the unit's area).
    ``cell_weights = "cell_centres"``: a cell counts wholly for the unit holding its centre
    (:func:`centre_weights`) instead of by its coverage fraction. ``with_area``: with
    population, the ``area_km2_<class>`` columns too (for units without population).
    """
    if class_codes.shape != window.shape or (population is not None and population.shape != window.shape):
        raise ValueError("class grid, population and window must have the same shape")
    unit_index, cells, coverage = unit_cell_coverage(units, window)
    fractions = coverage
    if cell_weights == "cell_centres":
        fractions = centre_weights(units, window, unit_index, cells, coverage)
    codes = class_codes.ravel()[cells]
    n_units = len(units)
    slots = list(CLASS_COLUMNS)
    slot_of_code = np.full(256, len(slots), dtype=np.int64)  # last slot: nodata / unknown
    slot_of_code[slots] = np.arange(len(slots))
    n_slots = len(slots) + 1
    slot = slot_of_code[codes]

    def per_class(weights, prefix):
        totals = np.bincount(unit_index * n_slots + slot, weights=weights, minlength=n_units * n_slots)
        return pd.DataFrame(totals.reshape(n_units, n_slots)[:, :-1], columns=[prefix + CLASS_COLUMNS[c] for c in slots])

    if population is None:
        frame = per_class(fractions, "area_km2_")
    else:
        frame = per_class(fractions * np.nan_to_num(population.ravel()[cells], nan=0.0), "pop_")
        if with_area:
            frame = pd.concat([frame, per_class(fractions, "area_km2_")], axis=1)
    import shapely

    # No data is measured on the units' true coverage, whatever weights the classes use.
    area_km2 = shapely.area(units.geometry.to_crs(GHSL_CRS).to_numpy()) / 1e6
    frame["nodata_km2"], frame["nodata_share"] = unclassified_area(unit_index, coverage, codes, area_km2)
    return frame


def unclassified_area(unit_index: np.ndarray, fractions: np.ndarray, codes: np.ndarray,
                      area_km2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(nodata_km2, nodata_share)`` of each unit: its area (``area_km2``, on the equal-area
    grid) less the area of its pieces on a classified cell, and that as a share of its area.
    Pieces are the coverage of :func:`unit_cell_coverage`; what lies outside the grid has none."""
    classified = np.bincount(unit_index, weights=fractions * (codes != NODATA), minlength=len(area_km2))
    nodata = np.maximum(area_km2 - classified, 0.0)
    # Coverage fractions and polygon areas agree to ~1e-12; below this the difference is noise.
    nodata = np.where(nodata > 1e-7 * np.maximum(area_km2, 1e-9), nodata, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(area_km2 > 0, nodata / area_km2, 1.0)
    return nodata, share


def classify_units(totals: pd.DataFrame, rules: Rules | None = None, max_nodata_share: float = MAX_NODATA_SHARE) -> pd.DataFrame:
    """Add shares and the Stage II classes to a :func:`class_totals` frame.

    ``rules`` gives the city and rural shares (``units.city_share``, ``units.rural_share``;
    default: the 2021 manual's 0.5 and 0.5).

    Adds ``<prefix>total`` (all classes but water), ``share_<class>`` (of that total, 0..1; NaN
    when the total is 0), ``share_rural_grid``, ``degurba_l1``, ``degurba_l2`` and their names
    ``degurba_l1_name`` / ``degurba_l2_name``, and ``degurba_weights``. Units whose
    ``nodata_share`` exceeds ``max_nodata_share`` (default :data:`MAX_NODATA_SHARE`) get no
    class and no shares (classes become nullable ``Int64``).
    """
    prefix = "pop_" if "pop_urban_centre" in totals.columns else "area_km2_"
    weights = "population" if prefix == "pop_" else "area"
    shares = (rules or Rules()).units
    frame = totals.copy()
    part = {code: frame[prefix + name].to_numpy() for code, name in CLASS_COLUMNS.items()}
    total = sum(part[code] for code in CLASS_COLUMNS if code != 10)
    by_area = np.zeros(len(frame), dtype=bool)
    if shares.no_population == "land_area" and prefix == "pop_" and "area_km2_urban_centre" in frame.columns:
        # GHSL / flexurba: a unit without population is classified by the land area of each class.
        by_area = ~(total > 0)
        area = {code: frame["area_km2_" + name].to_numpy() for code, name in CLASS_COLUMNS.items()}
        part = {code: np.where(by_area, area[code], part[code]) for code in CLASS_COLUMNS}
        total = sum(part[code] for code in CLASS_COLUMNS if code != 10)
        frame = frame.drop(columns=["area_km2_" + name for name in CLASS_COLUMNS.values()])
    frame[prefix + "total"] = total
    with np.errstate(invalid="ignore", divide="ignore"):
        for code, name in CLASS_COLUMNS.items():
            if code != 10:
                frame["share_" + name] = np.where(total > 0, part[code] / total, np.nan)
        rural = sum(part[c] for c in _RURAL_CODES)
        frame["share_rural_grid"] = np.where(total > 0, rural / total, np.nan)

    populated = total > 0
    city = populated & (part[30] >= shares.city_share * total)
    rural_area = populated & ~city & (rural >= shares.rural_share * total)
    level1 = np.where(city, 3, np.where(rural_area, 1, 2))
    level1 = np.where(populated, level1, 1)
    towns, rurals = _LEVEL2_RULES[shares.level2](part, total)
    level2 = np.where(city, 30, np.where(rural_area, rurals, towns))
    level2 = np.where(populated, level2, 11)
    if by_area.any():
        frame["degurba_by_area"] = by_area
    frame["degurba_l1"] = level1.astype("int64")
    frame["degurba_l2"] = level2.astype("int64")
    frame["degurba_l1_name"] = frame["degurba_l1"].map(UNIT_L1_NAMES)
    frame["degurba_l2_name"] = frame["degurba_l2"].map(UNIT_L2_NAMES)
    frame["degurba_weights"] = weights
    if "nodata_share" in frame.columns:
        unknown = frame["nodata_share"].to_numpy() > max_nodata_share
        if unknown.any():
            drop_classes(frame, unknown)
    return frame


def drop_classes(frame: pd.DataFrame, rows: np.ndarray) -> None:
    """Blank the shares and classes of ``rows`` (bool) of a Stage II frame in place: missing,
    never a class the unit was not measured to have."""
    for column in [c for c in frame.columns if c.startswith("share_")]:
        frame.loc[rows, column] = np.nan
    for column in ("degurba_l1", "degurba_l2"):
        frame[column] = frame[column].astype("Int64")
        frame.loc[rows, column] = pd.NA
    frame.loc[rows, ["degurba_l1_name", "degurba_l2_name"]] = None


def _largest_share(part, total) -> tuple[np.ndarray, np.ndarray]:
    """Ours: the town (rural) class with the largest share, ties to the denser."""
    return _densest_largest(part, _TOWN_CODES), _densest_largest(part, _RURAL_CODES)


def _combined_shares(part, total) -> tuple[np.ndarray, np.ndarray]:
    """flexurba's ``DoU_classify_units`` default (``rules_from_2021 = FALSE``), as its code does:
    dense town at ≥ 50 % in urban centres + dense clusters, else suburban at ≥ 50 % in
    semi-dense clusters + rural cells (its documentation says suburban + rural cells), else
    semi-dense; village at ≥ 50 % in rural clusters + urban classes, else mostly uninhabited at
    ≥ 50 % in very low density cells, else dispersed."""
    half = 0.5 * total
    urban = part[30] + part[23] + part[22] + part[21]
    rural = part[13] + part[12] + part[11]
    towns = np.where(part[30] + part[23] >= half, 23, np.where(part[22] + rural >= half, 21, 22))
    rurals = np.where(part[13] + urban >= half, 13, np.where(part[11] >= half, 11, 12))
    return towns, rurals


def _pairwise(part, total) -> tuple[np.ndarray, np.ndarray]:
    """flexurba's ``rules_from_2021 = TRUE`` (and its deprecated ``classify_units``): dense town
    when dense ≥ semi-dense and dense + semi-dense > suburban, semi-dense town when dense <
    semi-dense (and the same), else suburban; rural areas: the largest of rural clusters, low
    and very low density (flexurba leaves exact ties unclassified; ours go to the denser)."""
    dense_and_semi = part[23] + part[22]
    towns = np.where(dense_and_semi > part[21], np.where(part[23] >= part[22], 23, 22), 21)
    values = np.column_stack([part[13], part[12], part[11]])
    rurals = np.asarray(_RURAL_CODES)[np.argmax(values >= values.max(axis=1, keepdims=True), axis=1)]
    return towns, rurals


_LEVEL2_RULES = {"largest_share": _largest_share, "combined_shares": _combined_shares, "pairwise": _pairwise}


def dissolve_units(units: gpd.GeoDataFrame, column: str, where: str = "--dissolve-by") -> gpd.GeoDataFrame:
    """Units merged by the value of ``column`` (flexurba's ``dissolve_units_by``): one polygon per
    value, the union of its units, with ``column`` kept; a missing column or empty value is a
    GisError naming it."""
    if column not in units.columns:
        raise GisError(f"{where} {column}: no such column; columns: {', '.join(c for c in units.columns if c != units.geometry.name)}")
    empty = units[column].isna()
    if empty.any():
        raise GisError(f"{where} {column}: {int(empty.sum())} unit(s) have no value (first at row {int(np.flatnonzero(empty)[0]) + 1})")
    merged = units[[column, units.geometry.name]].dissolve(by=column, as_index=False, sort=True)
    return merged


def _densest_largest(part: dict[int, np.ndarray], codes: tuple[int, ...]) -> np.ndarray:
    """Per unit, the code among ``codes`` (densest first) with the largest value; ties (within
    a relative 1e-9) go to the denser code."""
    values = np.column_stack([part[c] for c in codes])
    largest = values.max(axis=1, keepdims=True)
    near_largest = values >= largest * (1 - _TIE_TOLERANCE)
    return np.asarray(codes)[np.argmax(near_largest, axis=1)]


def degurba_units(
    units: gpd.GeoDataFrame,
    class_codes: np.ndarray,
    window: GhslWindow,
    population: np.ndarray | None = None,
    keep_columns: tuple[str, ...] = ("adcode",),
    rules: Rules | None = None,
) -> pd.DataFrame:
    """Stage II for ``units``: :func:`class_totals` + :func:`classify_units` (with ``rules``'
    shares; default the 2021 manual's).

    ``keep_columns`` of ``units`` that exist are copied to the front of the result (default
    ``adcode``, the key for merging onto boundaries). Rows follow ``units``' order.
    """
    shares = (rules or Rules()).units
    totals = class_totals(units, class_codes, window, population, shares.cell_weights, shares.no_population == "land_area")
    frame = classify_units(totals, rules)
    kept = [c for c in keep_columns if c in units.columns]
    for position, column in enumerate(kept):
        frame.insert(position, column, units[column].to_numpy())
    return frame
