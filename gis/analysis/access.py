"""Population-weighted access to public services: how far people live from the nearest facility.

For every populated 1 km cell of the GHSL grid (ESRI:54009) the distance from its centre to
the nearest facility is measured, either

* **straight line** (default): the geodesic on the WGS-84 ellipsoid (``pyproj.Geod``), cell
  centre to facility point. Candidates come from a KD-tree on 3-D unit vectors (chord length
  is monotone in great-circle distance, so the sphere's nearest facility is among them); the
  exact geodesic to the :data:`CANDIDATES` nearest decides, which absorbs the ellipsoid's
  < 0.5 % departure from the sphere; or
* **travel time** over a road network (:mod:`gis.analysis.roads`): minutes by multi-source
  shortest paths.

Per unit, with cell populations ``P_i`` and distances ``d_i`` of the cells in the unit:

* ``share_within_<T>km`` (or ``_<T>min``) = 100 · Σ P_i [d_i ≤ T] / Σ P_i  (percent);
* ``mean_distance_km`` (or ``mean_time_min``) = Σ P_i d_i / Σ P_i;
* the same per Degree of Urbanisation Level 1 class of the cell (urban centre, urban cluster,
  rural), and the urban-rural gap: the rural mean minus the mean over urban centres and
  clusters together (positive: rural residents live farther away).

**Gaussian 2SFCA** (with capacities ``S_j``; Dai 2010, *Landscape and Urban Planning* 97(4);
the Gaussian form of Luo & Wang's two-step floating catchment): with catchment ``d0`` (the
largest threshold) and weight ``G(d) = (exp(-½(d/d0)²) − exp(-½)) / (1 − exp(-½))`` for
``d ≤ d0`` (0 beyond; G(0) = 1, G(d0) = 0)::

    R_j = S_j / Σ_k G(d_kj) P_k             (capacity per person in facility j's catchment)
    A_i = 1000 · Σ_j G(d_ij) R_j            (capacity per 1 000 people within reach of cell i)

and a unit's ``access_2sfca`` is the population-weighted mean of ``A_i``. A facility with no
population in reach serves nobody and is reported. Σ_i P_i A_i / 1000 equals the total
capacity of the facilities that reach someone (the tests check this).

Cells are assigned to the unit containing their centre (a cell that overlaps units without
holding its centre, on the coast or the border, to the nearest unit within half its diagonal);
the population of cells left in no unit is reported, never silently lost.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gis.errors import GisError

#: Facilities whose exact geodesic is measured per cell (the nearest by chord length).
CANDIDATES = 8
#: Mean Earth radius (km, IUGG) for chord <-> arc conversions of the KD-tree searches.
EARTH_RADIUS_KM = 6371.0088
#: Chord searches are widened by this factor so the ellipsoid's (< 0.5 %) longer geodesics
#: are never cut off; the exact geodesic then filters.
_SEARCH_MARGIN = 1.01
#: Thresholds accepted: above 0 and at most these (km, minutes) — larger is a typo.
MAX_THRESHOLD_KM = 500.0
MAX_THRESHOLD_MIN = 600.0

#: Degree of Urbanisation Level 1 codes -> column suffixes.
L1_CLASSES = {3: "urban_centre", 2: "urban_cluster", 1: "rural"}
L1_LABELS_ZH = {3: "城市中心", 2: "城镇集群", 1: "农村"}

STRAIGHT_LINE = "straight-line"
NETWORK = "network"

# Headers of the coordinate columns (compared after NFKC, lower case, spaces removed).
_LON_HEADERS = ("lon", "lng", "long", "longitude", "x", "经度", "经度坐标", "东经", "wgs84_lon", "gcj02_lon", "bd09_lon")
_LAT_HEADERS = ("lat", "latitude", "y", "纬度", "纬度坐标", "北纬", "wgs84_lat", "gcj02_lat", "bd09_lat")
_PAIR_HEADERS = ("location", "lnglat", "lonlat", "经纬度", "坐标")


# --------------------------------------------------------------------------------------------
# Facilities


@dataclass
class Facilities:
    """Facility points in WGS-84 degrees, with their spreadsheet rows (or feature numbers).

    ``status`` says, for every input row, ``"used"``, ``"no coordinates"``, ``"duplicate of
    row N"`` or ``"outside the area"``; only ``"used"`` rows are in the analysis.
    """

    lon: np.ndarray
    lat: np.ndarray
    rows: np.ndarray  # int64, the spreadsheet row (CSV/XLSX) or feature number (vector) of each
    capacity: np.ndarray | None
    source: str
    coords: str
    report: pd.DataFrame  # one row per input row: row, lon_input, lat_input, status
    row_word: str = "row"

    def __len__(self) -> int:
        return len(self.lon)

    def problems(self) -> list[str]:
        """One line per kind of row left out, naming the rows."""
        lines = []
        for status, rows in self.report[self.report["status"] != "used"].groupby(
                self.report["status"].str.replace(r" of .*", "", regex=True))["row"]:
            shown = ", ".join(str(r) for r in rows.iloc[:12]) + (f" (+{len(rows) - 12} more)" if len(rows) > 12 else "")
            lines.append(f"{self.source}: {len(rows)} {self.row_word}{'s' if len(rows) > 1 else ''} left out, {status}: {shown}")
        return lines


def _header_key(text: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)).strip().lower())


def _find_column(header: list[str], names: tuple[str, ...]) -> int | None:
    keys = [_header_key(h) for h in header]
    for name in names:
        if name in keys:
            return keys.index(name)
    return None


def _numbers(values: np.ndarray, rows: np.ndarray, where: str, column: str) -> np.ndarray:
    """Cells of one column as floats (NaN for blank); text that is not a number is an error."""
    from gis.tables.read import parse_number

    out = np.full(len(values), np.nan)
    for i, cell in enumerate(values):
        try:
            number, _ = parse_number(cell)
        except ValueError as error:
            raise GisError(f"{where}, row {rows[i]}, column {column}: {cell!r} is {error}; expected a number") from None
        if number is not None:
            out[i] = number
    return out


def _split_pairs(values: np.ndarray, rows: np.ndarray, where: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """A ``"lon,lat"`` column (AMap's ``location``) as two float arrays."""
    lon, lat = np.full(len(values), np.nan), np.full(len(values), np.nan)
    for i, cell in enumerate(values):
        text = unicodedata.normalize("NFKC", str(cell if cell is not None else "")).strip()
        if not text:
            continue
        parts = re.split(r"[,;\s]+", text)
        try:
            lon[i], lat[i] = (float(p) for p in parts)
        except ValueError:
            raise GisError(f"{where}, row {rows[i]}, column {column}: {cell!r} is not 'longitude,latitude'") from None
    return lon, lat


def _table_points(path: Path, capacity: str | None):
    from gis.tables.read import read_table

    def is_header(cells: list[str]) -> bool:
        """coordinate columns lon/lat (经度/纬度, longitude/latitude) or a 'location' column of 'lon,lat'"""
        return ((_find_column(cells, _LON_HEADERS) is not None and _find_column(cells, _LAT_HEADERS) is not None)
                or _find_column(cells, _PAIR_HEADERS) is not None)

    table = read_table(path, is_header=is_header)
    where = table.file_name + (f" (sheet {table.sheet})" if table.sheet else "")
    rows = table.row_numbers
    lon_at, lat_at = _find_column(table.header, _LON_HEADERS), _find_column(table.header, _LAT_HEADERS)
    if lon_at is not None and lat_at is not None:
        lon = _numbers(table.columns[lon_at], rows, where, table.header[lon_at])
        lat = _numbers(table.columns[lat_at], rows, where, table.header[lat_at])
    else:
        pair_at = _find_column(table.header, _PAIR_HEADERS)  # the header row has one (is_header)
        lon, lat = _split_pairs(table.columns[pair_at], rows, where, table.header[pair_at])
    values = None
    if capacity is not None:
        at = _find_column(table.header, (_header_key(capacity),))
        if at is None:
            raise GisError(f"--capacity {capacity}: no such column in {where}; found {', '.join(map(str, table.header))}")
        values = _numbers(table.columns[at], rows, where, table.header[at])
    keys = ["\x1f".join(str(c[i]) for c in table.columns) for i in range(len(rows))]
    return lon, lat, rows.astype("int64"), values, keys, where, "row"


def _vector_points(path: Path, capacity: str | None, coords: str, layer: str | None = None):
    import geopandas as gpd

    from gis.units.user_units import choose_layer

    # A file of several layers names the one it reads, as users' polygon files do.
    layer = choose_layer(path, layer, option="--facilities-layer")
    try:
        frame = gpd.read_file(path, layer=layer)
    except Exception as error:  # pyogrio raises several types for unreadable files
        raise GisError(f"{path}: cannot read as a vector file ({error}); expected a CSV/XLSX table or a point layer") from None
    if frame.crs is None:
        raise GisError(f"{path}: the layer has no CRS; expected points with a declared CRS (e.g. EPSG:4326)")
    kinds = set(frame.geom_type.dropna())
    if not kinds <= {"Point", "MultiPoint"}:
        raise GisError(f"{path}: expected points, found {sorted(kinds)}")
    import shapely

    if coords != "wgs84" and not frame.crs.is_geographic:
        raise GisError(f"{path}: --coords {coords} applies to longitude/latitude layers, but the layer is in {frame.crs.name}")
    geometry = frame.geometry.values if frame.crs.equals("EPSG:4326") else frame.geometry.to_crs("EPSG:4326").values
    parts = shapely.get_num_geometries(geometry)
    if (parts > 1).any():
        raise GisError(f"{path.name}, feature {int(np.flatnonzero(parts > 1)[0]) + 1}: a multipoint of {int(parts.max())} points; "
                       "expected one point per facility")
    points = shapely.get_geometry(geometry, 0)  # a Point itself, or a one-part MultiPoint's point
    lon, lat = shapely.get_x(points), shapely.get_y(points)  # NaN for missing or empty geometries
    rows = np.arange(1, len(frame) + 1, dtype="int64")
    values = None
    if capacity is not None:
        if capacity not in frame.columns:
            raise GisError(f"--capacity {capacity}: no such field in {path.name}; found {', '.join(c for c in frame.columns if c != 'geometry')}")
        values = _numbers(frame[capacity].to_numpy(dtype=object), rows, path.name, capacity)
    attributes = frame.drop(columns="geometry").astype(str).agg("\x1f".join, axis=1) if len(frame.columns) > 1 else pd.Series([""] * len(frame))
    keys = [f"{a}\x1f{x!r}\x1f{y!r}" for a, x, y in zip(attributes, lon, lat)]
    return lon, lat, rows, values, keys, path.name, "feature"


def read_facilities(path, coords: str = "wgs84", capacity: str | None = None, area=None, layer: str | None = None) -> Facilities:
    """Read facility points from a CSV/XLSX table (lon/lat columns, 经度/纬度 too, or a
    ``location`` column of ``"lon,lat"``) or a point layer (GeoPackage, GeoJSON, Shapefile).

    Parameters
    ----------
    path
        The file.
    coords
        Datum of the coordinates: ``"wgs84"``, ``"gcj02"`` (AMap, Tencent) or ``"bd09"``
        (Baidu); converted to WGS-84 (:func:`gis.units.coords.to_wgs84`).
    capacity
        Column of capacities (beds, doctors, places) for 2SFCA; text in it is an error, a
        blank or negative capacity too.
    layer
        The layer of a point file with several (an error listing them when it has several and
        none is named).
    area
        Shapely (multi)polygon in EPSG:4326: facilities outside it are left out and reported.

    Rows without coordinates, exact duplicate rows and points outside ``area`` are left out and
    listed in ``report`` (see :class:`Facilities`); none are dropped unreported.
    """
    import shapely

    from gis.units.coords import to_wgs84

    path = Path(path)
    if not path.is_file():
        raise GisError(f"--facilities {path}: no such file")
    if path.suffix.lower() in (".csv", ".txt", ".xlsx", ".xlsm", ".xls"):
        lon, lat, rows, values, keys, where, row_word = _table_points(path, capacity)
    else:
        lon, lat, rows, values, keys, where, row_word = _vector_points(path, capacity, coords, layer)
    bad = np.isfinite(lon) & np.isfinite(lat) & ((np.abs(lat) > 90) | (np.abs(lon) > 180))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GisError(f"{where}, {row_word} {rows[i]}: ({lon[i]}, {lat[i]}) is not a longitude/latitude in degrees")
    if values is not None:
        blank = ~np.isfinite(values) & np.isfinite(lon)
        negative = values < 0
        for mask, what in ((blank, "has no capacity"), (negative, f"has a negative capacity {values[negative][:1]}")):
            if mask.any():
                raise GisError(f"{where}, {row_word} {rows[int(np.flatnonzero(mask)[0])]}, column {capacity}: {what}; expected a number ≥ 0")
    status = np.full(len(rows), "used", dtype=object)
    status[~(np.isfinite(lon) & np.isfinite(lat))] = "no coordinates"
    first_of: dict[str, int] = {}
    for i, key in enumerate(keys):
        if status[i] != "used":
            continue
        if key in first_of:
            status[i] = f"duplicate of {row_word} {rows[first_of[key]]}"
        else:
            first_of[key] = i
    with np.errstate(invalid="ignore"):
        wgs_lon, wgs_lat = to_wgs84(lon, lat, coords)
    if area is not None:
        used = np.flatnonzero(status == "used")
        inside = shapely.contains_xy(area, wgs_lon[used], wgs_lat[used])
        status[used[~inside]] = "outside the area"
    report = pd.DataFrame({row_word: rows, "lon_input": lon, "lat_input": lat, "lon_wgs84": wgs_lon, "lat_wgs84": wgs_lat,
                           "status": status}).rename(columns={row_word: "row"})
    keep = status == "used"
    return Facilities(wgs_lon[keep], wgs_lat[keep], rows[keep], None if values is None else values[keep], path.name, coords,
                      report, row_word)


# --------------------------------------------------------------------------------------------
# Cells


@dataclass
class Cells:
    """Populated 1 km cells: centres (WGS-84 degrees), persons, Level 1 class, unit index.

    ``flat`` indexes each cell in the row-major ``shape`` window of the GHSL grid, so results
    go back onto a raster; ``unit`` is the index of the unit holding the centre (−1: none).
    """

    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    level1: np.ndarray
    unit: np.ndarray
    flat: np.ndarray
    shape: tuple[int, int]
    transform: object
    source: str

    def __len__(self) -> int:
        return len(self.lon)


def populated_cells(population: np.ndarray, level2: np.ndarray, window, units, source: str) -> Cells:
    """The cells of ``population`` (persons per cell on the GHSL ``window``) with more than 0
    persons and a class in ``level2`` (255 = outside the area), assigned to the ``units``
    (GeoDataFrame, any CRS) containing their centres."""
    import shapely
    from pyproj import Transformer

    from gis.degurba.classify import NODATA, level1_from_level2
    from gis.degurba.grid import GHSL_CRS

    with np.errstate(invalid="ignore"):
        keep = np.isfinite(population) & (population > 0) & (level2 != NODATA)
    flat = np.flatnonzero(keep)
    x, y = (c.ravel()[flat] for c in window.cell_centres())
    lon, lat = Transformer.from_crs(GHSL_CRS, "EPSG:4326", always_xy=True).transform(x, y)
    unit = np.full(len(flat), -1, dtype="int64")
    polygons = units.to_crs(GHSL_CRS).geometry.values
    tree = shapely.STRtree(polygons)
    point_at, polygon_at = tree.query(shapely.points(x, y), predicate="within")
    # A centre on a shared border falls in both units: the first (lowest index) takes it.
    order = np.lexsort((polygon_at, point_at))
    point_at, polygon_at = point_at[order], polygon_at[order]
    first = np.r_[True, point_at[1:] != point_at[:-1]] if len(point_at) else np.zeros(0, bool)
    unit[point_at[first]] = polygon_at[first]
    # A coastal or border cell can overlap a unit without holding its centre: it goes to the
    # nearest unit it touches (centre within half a cell's diagonal, 708 m).
    loose = np.flatnonzero(unit < 0)
    if len(loose):
        point_at, polygon_at = tree.query_nearest(shapely.points(x[loose], y[loose]), max_distance=708.0, all_matches=False)
        unit[loose[point_at]] = polygon_at
    return Cells(np.asarray(lon), np.asarray(lat), population.ravel()[flat].astype("float64"),
                 level1_from_level2(level2.ravel()[flat]), unit, flat, population.shape, window.transform, source)


# --------------------------------------------------------------------------------------------
# Straight-line distances


def _unit_vectors(lon, lat) -> np.ndarray:
    lon, lat = np.radians(lon), np.radians(lat)
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def _chord(km: float) -> float:
    return 2.0 * math.sin(min(km * _SEARCH_MARGIN / (2.0 * EARTH_RADIUS_KM), math.pi / 2))


def geodesic_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance on the WGS-84 ellipsoid (km) between paired points (degrees)."""
    from pyproj import Geod

    _, _, metres = Geod(ellps="WGS84").inv(np.asarray(lon1, float), np.asarray(lat1, float),
                                           np.asarray(lon2, float), np.asarray(lat2, float))
    return np.asarray(metres) / 1000.0


def nearest_km(cell_lon, cell_lat, facility_lon, facility_lat, candidates: int = CANDIDATES) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance (km) from each cell centre to its nearest facility, and its index.

    All points in WGS-84 degrees. A KD-tree on unit vectors gives each cell its ``candidates``
    nearest facilities by chord; the exact ellipsoidal geodesic picks among them.
    """
    from scipy.spatial import cKDTree

    if len(facility_lon) == 0:
        raise GisError("no facility inside the area: nothing to measure distances to")
    k = int(min(candidates, len(facility_lon)))
    chord, index = cKDTree(_unit_vectors(facility_lon, facility_lat)).query(_unit_vectors(cell_lon, cell_lat), k=k, workers=-1)
    chord, index = chord.reshape(len(cell_lon), k), index.reshape(len(cell_lon), k)
    # The ellipsoid's geodesic is within 0.5 % of the sphere's arc, so only candidates within
    # 1 % of the nearest arc can be the nearest: measure those exactly (usually one or two).
    arc = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.minimum(chord / 2.0, 1.0))
    contender = arc <= arc[:, :1] * _SEARCH_MARGIN + 1e-9
    cell_at, slot = np.nonzero(contender)
    km = np.full(arc.shape, np.inf)
    km[cell_at, slot] = geodesic_km(cell_lon[cell_at], cell_lat[cell_at], facility_lon[index[cell_at, slot]], facility_lat[index[cell_at, slot]])
    best = np.argmin(km, axis=1)
    rows = np.arange(len(cell_lon))
    return km[rows, best], index[rows, best]


def pairs_within_km(cell_lon, cell_lat, facility_lon, facility_lat, limit_km: float):
    """Every (cell, facility) pair closer than ``limit_km`` (geodesic): arrays cell, facility, km."""
    from scipy.spatial import cKDTree

    cells = cKDTree(_unit_vectors(cell_lon, cell_lat))
    # One list of cells per facility (a few thousand lists, not one per cell).
    reach = cells.query_ball_point(_unit_vectors(facility_lon, facility_lat), r=_chord(limit_km), return_sorted=False, workers=-1)
    facility = np.repeat(np.arange(len(facility_lon)), [len(r) for r in reach])
    cell = np.fromiter((c for r in reach for c in r), dtype="int64", count=len(facility))
    km = geodesic_km(cell_lon[cell], cell_lat[cell], facility_lon[facility], facility_lat[facility])
    inside = km <= limit_km
    return cell[inside], facility[inside], km[inside]


# --------------------------------------------------------------------------------------------
# 2SFCA


def gaussian_weight(d: np.ndarray, d0: float) -> np.ndarray:
    """Gaussian distance decay of Dai (2010): 1 at ``d = 0``, 0 at and beyond ``d0``."""
    d = np.asarray(d, dtype="float64")
    edge = math.exp(-0.5)
    weight = (np.exp(-0.5 * (d / d0) ** 2) - edge) / (1.0 - edge)
    return np.where(d <= d0, np.maximum(weight, 0.0), 0.0)


def two_step_fca(cell, facility, d, population: np.ndarray, capacity: np.ndarray, d0: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian 2SFCA from (cell, facility, distance) pairs within ``d0``.

    Returns ``A`` (capacity per 1 000 people in reach, one per cell) and ``R`` (capacity per
    person of each facility's catchment; NaN for a facility with nobody in reach).
    """
    weight = gaussian_weight(d, d0)
    demand = np.bincount(facility, weights=weight * population[cell], minlength=len(capacity))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand > 0, capacity / demand, np.nan)
    score = 1000.0 * np.bincount(cell, weights=weight * np.nan_to_num(ratio[facility]), minlength=len(population))
    return score, ratio


# --------------------------------------------------------------------------------------------
# Per unit


def parse_thresholds(text: str, unit: str) -> tuple[float, ...]:
    """``"1,3,5"`` -> (1.0, 3.0, 5.0); each above 0 and at most :data:`MAX_THRESHOLD_KM`
    (km) or :data:`MAX_THRESHOLD_MIN` (minutes)."""
    option, top = ("--thresholds-km", MAX_THRESHOLD_KM) if unit == "km" else ("--thresholds-min", MAX_THRESHOLD_MIN)
    values = []
    for part in str(text).replace("，", ",").split(","):
        try:
            value = float(part)
        except ValueError:
            raise GisError(f"{option} {text}: {part!r} is not a number; expected e.g. 1,3,5") from None
        if not (0 < value <= top):
            raise GisError(f"{option} {text}: {part.strip()} {unit} is out of range; expected above 0 and at most {top:g} {unit}")
        values.append(value)
    return tuple(sorted(set(values)))


def threshold_label(value: float, unit: str) -> str:
    """Column suffix of a threshold: ``5km``, ``2.5km``, ``15min``."""
    return f"{value:g}{unit}".replace(".", "_")


def _weighted(values, weights, groups, n):
    total = np.bincount(groups, weights=weights, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.bincount(groups, weights=weights * values, minlength=n) / np.where(total > 0, total, np.nan), total


def unit_summary(cells: Cells, distance: np.ndarray, thresholds: tuple[float, ...], unit: str,
                 n_units: int, score: np.ndarray | None = None) -> pd.DataFrame:
    """Per-unit measures (one row per unit, in unit order), as the module docstring defines.

    ``distance`` is km (``unit="km"``) or minutes (``unit="min"``) per cell.
    """
    mean_name = "mean_distance_km" if unit == "km" else "mean_time_min"
    inside = cells.unit >= 0
    groups, people, d, l1 = cells.unit[inside], cells.population[inside], distance[inside], cells.level1[inside]
    columns: dict[str, np.ndarray] = {}
    mean, total = _weighted(d, people, groups, n_units)
    columns["grid_population"] = total
    columns[mean_name] = mean
    for t in thresholds:
        share, _ = _weighted((d <= t).astype(float), people, groups, n_units)
        columns[f"share_within_{threshold_label(t, unit)}"] = 100.0 * share
    for code, name in L1_CLASSES.items():
        mask = l1 == code
        class_mean, class_total = _weighted(d[mask], people[mask], groups[mask], n_units)
        columns[f"grid_population_{name}"] = class_total
        columns[f"{mean_name}_{name}"] = class_mean
        for t in thresholds:
            share, _ = _weighted((d[mask] <= t).astype(float), people[mask], groups[mask], n_units)
            columns[f"share_within_{threshold_label(t, unit)}_{name}"] = 100.0 * share
    urban = (l1 == 3) | (l1 == 2)
    urban_mean, _ = _weighted(d[urban], people[urban], groups[urban], n_units)
    columns[f"{mean_name}_rural_gap"] = columns[f"{mean_name}_rural"] - urban_mean
    if score is not None:
        columns["access_2sfca"], _ = _weighted(score[inside], people, groups, n_units)
    return pd.DataFrame(columns)


def method_text(mode: str, thresholds: tuple[float, ...], unit: str, cells: Cells, facilities: Facilities,
                capacity: str | None, network_note: str = "") -> str:
    """The method, in words, for the text file written beside the outputs."""
    listed = ", ".join(f"{t:g} {unit}" for t in thresholds)
    lines = [
        "gis access: population-weighted access to facilities",
        f"Facilities: {len(facilities)} points from {facilities.source} (coordinates {facilities.coords}, converted to WGS-84); "
        f"{int((facilities.report['status'] != 'used').sum())} rows left out (see the facilities report).",
        f"Population: {len(cells)} populated 1 km cells of the GHSL grid (ESRI:54009), {cells.population.sum():,.0f} persons, from {cells.source}.",
    ]
    if mode == STRAIGHT_LINE:
        lines.append("Distance: STRAIGHT LINE — the geodesic on the WGS-84 ellipsoid from each cell centre to the nearest facility "
                     "(pyproj.Geod; candidates by a KD-tree on unit vectors). Not a travel distance: rivers, hills and roads are ignored.")
    else:
        lines.append("Distance: NETWORK TRAVEL TIME in minutes over the road network — " + network_note)
    lines += [
        f"Thresholds: {listed}. share_within_<T> = percent of the unit's population whose cell is within T; "
        f"{'mean_distance_km' if unit == 'km' else 'mean_time_min'} = population-weighted mean over the unit's cells.",
        "Per Degree of Urbanisation Level 1 class of the cell (urban_centre, urban_cluster, rural; the class grid of gis build); "
        "*_rural_gap = rural mean minus the mean over urban centres and clusters together.",
        "Cells belong to the unit containing their centre (coastal and border cells to the nearest unit within 708 m).",
    ]
    if capacity is not None:
        lines.append(f"access_2sfca: Gaussian two-step floating catchment (Dai 2010) with capacity column {capacity}, catchment "
                     f"{max(thresholds):g} {unit} (the largest threshold): capacity per 1 000 people in reach, population-weighted "
                     "mean over the unit's cells.")
    return "\n".join(lines) + "\n"


@dataclass
class AccessResult:
    """Per-unit measures and the per-cell distances behind them."""

    units: pd.DataFrame  # one row per unit: the measures (join on position with the units)
    cells: Cells
    distance: np.ndarray  # km or minutes per cell
    unit: str  # "km" or "min"
    mode: str
    thresholds: tuple[float, ...]
    score: np.ndarray | None = None
    method: str = ""
    notes: list[str] = field(default_factory=list)

    def distance_grid(self) -> np.ndarray:
        """The distances on the GHSL window (float32, NaN where no one lives)."""
        grid = np.full(self.cells.shape[0] * self.cells.shape[1], np.nan, dtype="float32")
        grid[self.cells.flat] = self.distance
        return grid.reshape(self.cells.shape)

    def summary(self) -> str:
        p = self.cells.population
        lines = [f"{len(self.cells)} populated cells, {p.sum():,.0f} persons; {self.mode} distances"]
        for t in self.thresholds:
            lines.append(f"  within {t:g} {self.unit}: {100 * p[self.distance <= t].sum() / p.sum():.1f}% of the population")
        lines.append(f"  population-weighted mean: {np.average(self.distance, weights=p):.2f} {self.unit}")
        return "\n".join(lines + self.notes)


def measure_access(cells: Cells, facilities: Facilities, thresholds: tuple[float, ...], n_units: int,
                   graph=None, progress=None) -> AccessResult:
    """Distances (or travel times over ``graph``, a :class:`gis.analysis.roads.RoadGraph`)
    from ``cells`` to ``facilities``, summarised per unit; with capacities, Gaussian 2SFCA
    over a catchment of the largest threshold."""
    say = progress or (lambda message: None)
    if len(facilities) == 0:
        raise GisError(f"{facilities.source}: no facility inside the area (rows read: {len(facilities.report)}; "
                       f"{'; '.join(facilities.problems()) or 'none usable'})")
    if len(cells) == 0:
        raise GisError("no populated cell in the area: nothing to measure")
    unit = "km" if graph is None else "min"
    catchment = max(thresholds)
    score = None
    notes = []
    if graph is None:
        say(f"straight-line distances: {len(cells)} cells to {len(facilities)} facilities")
        distance, _ = nearest_km(cells.lon, cells.lat, facilities.lon, facilities.lat)
        if facilities.capacity is not None:
            say(f"2SFCA: pairs within {catchment:g} km")
            pairs = pairs_within_km(cells.lon, cells.lat, facilities.lon, facilities.lat, catchment)
    else:
        from gis.analysis.roads import nearest_minutes, pairs_within_minutes

        say(f"travel times: {len(cells)} cells to {len(facilities)} facilities over {graph.n_edges} road edges")
        distance = nearest_minutes(graph, cells.lon, cells.lat, facilities.lon, facilities.lat)
        if facilities.capacity is not None:
            say(f"2SFCA: pairs within {catchment:g} min (one bounded search per facility)")
            pairs = pairs_within_minutes(graph, cells.lon, cells.lat, facilities.lon, facilities.lat, catchment, progress=say)
    if facilities.capacity is not None:
        score, ratio = two_step_fca(*pairs, cells.population, facilities.capacity, catchment)
        idle = np.isnan(ratio)
        if idle.any():
            rows = ", ".join(str(r) for r in facilities.rows[idle][:12])
            notes.append(f"2SFCA: {int(idle.sum())} facilities have nobody within {catchment:g} {unit} and serve no one ({facilities.row_word}s {rows})")
    outside = cells.unit < 0
    if outside.any():
        notes.append(f"{int(outside.sum())} populated cells ({cells.population[outside].sum():,.0f} persons) have their centre in no unit: "
                     "in the area totals above, not in any unit's figures")
    frame = unit_summary(cells, distance, thresholds, unit, n_units, score)
    return AccessResult(frame, cells, distance, unit, STRAIGHT_LINE if graph is None else NETWORK, thresholds, score, notes=notes)
