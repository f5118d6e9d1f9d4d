"""Road networks for travel times: reading roads, speeds per class, shortest paths.

A road file (GeoPackage, Shapefile, GeoJSON, or an OpenStreetMap ``.pbf``) becomes an
undirected graph whose nodes are the lines' vertices (shared vertices join roads, as in OSM;
lines that cross without a shared vertex — bridges — do not meet) and whose edges are the
segments between consecutive vertices, weighted by minutes: geodesic length (WGS-84
ellipsoid) divided by the speed of the road's class. One-way restrictions, turns and
congestion are ignored: the times are free-flow and symmetric.

A point (cell centre or facility) joins the network at its nearest node of the largest
connected component, covering the gap at :data:`OFF_ROAD_KMH` (walking); a cell's time is the
smaller of that network time and walking the straight line.

Times to the nearest facility are one Dijkstra run (``scipy.sparse.csgraph.dijkstra``) from a
super-source joined to every facility's node by its walking time: no loop over cells or
facilities. The 2SFCA pairs need each facility's own catchment: one Dijkstra bounded by the
catchment (``limit``) per facility, in blocks.

.pbf files are read with pyosmium (``osmium``; 4.7 MB installed, imports in ~40 ms), which
streams the ways with node locations and builds their geometries in C++ (WKB). pyrosm was
compared and rejected: ~23 MB installed with protobuf, python-rapidjson and tqdm, ~100 ms to
import, and slower on the benchmark's 1 000-way, 250 000-node lattice (5.0 s for
``get_network`` against 1.2 s here, same run).
"""

from __future__ import annotations

import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gis.errors import GisError

#: Free-flow speeds (km/h) by OSM ``highway`` class (Geofabrik's ``fclass`` uses the same
#: names), set from China's design speeds (JTG B01-2014: expressway 80–120, class-I highway
#: 60–100, class-II 60–80, class-III 30–40, class-IV 20–30 km/h) taken at their lower end,
#: and urban streets (CJJ 37-2012: arterial 40–60, collector 30–50, local 20–30 km/h).
DEFAULT_SPEEDS_KMH = {
    "motorway": 90.0, "motorway_link": 50.0,
    "trunk": 70.0, "trunk_link": 40.0,
    "primary": 50.0, "primary_link": 30.0,
    "secondary": 40.0, "secondary_link": 30.0,
    "tertiary": 30.0, "tertiary_link": 25.0,
    "unclassified": 25.0, "residential": 20.0, "living_street": 10.0, "service": 15.0,
    "road": 25.0, "track": 15.0,
    "pedestrian": 5.0, "footway": 5.0, "path": 5.0, "steps": 3.0, "cycleway": 15.0,
}
#: Speed of a class missing from the table (km/h).
DEFAULT_SPEED_KMH = 25.0
#: Speed between a point and the network (walking, km/h).
OFF_ROAD_KMH = 5.0
#: Columns naming the road class in GeoPackages/Shapefiles, in order of preference.
CLASS_COLUMNS = ("highway", "fclass", "road_class", "class", "type", "kind")
#: Memory for one block of bounded Dijkstra rows (float64 entries).
_BLOCK_ENTRIES = 24_000_000
#: Added to every edge weight (minutes) so a zero-length link stays an edge in csgraph.
_EPSILON_MIN = 1e-9


@dataclass(frozen=True)
class Speeds:
    """Speeds (km/h) per road class, the default for other classes, and the off-road speed."""

    by_class: dict[str, float]
    default: float = DEFAULT_SPEED_KMH
    off_road: float = OFF_ROAD_KMH
    source: str = "defaults (gis.analysis.roads.DEFAULT_SPEEDS_KMH)"


def _speed(value, where: str) -> float:
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise GisError(f"{where}: {value!r} is not a speed; expected km/h above 0") from None
    if not (0 < speed <= 200):
        raise GisError(f"{where}: {speed:g} km/h is out of range; expected above 0 and at most 200")
    return speed


def read_speeds(path=None) -> Speeds:
    """Speeds from a TOML file (``off_road = 5``, ``default = 25`` and a ``[speeds]`` table
    ``primary = 60``) or a CSV (columns ``class,speed_kmh``; classes ``default`` and
    ``off_road`` too), over the defaults. None: the defaults."""
    if path is None:
        return Speeds(dict(DEFAULT_SPEEDS_KMH))
    path = Path(path)
    if not path.is_file():
        raise GisError(f"--speeds {path}: no such file")
    table: dict[str, object] = {}
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise GisError(f"{path}: not valid TOML ({error})") from None
        unknown = set(data) - {"speeds", "default", "off_road"}
        if unknown:
            raise GisError(f"{path}: unknown keys {sorted(unknown)}; expected off_road, default and a [speeds] table")
        table = {**data.get("speeds", {}), **{k: data[k] for k in ("default", "off_road") if k in data}}
    elif path.suffix.lower() == ".csv":
        from gis.tables.read import read_table

        def is_header(cells: list[str]) -> bool:
            """columns class and speed_kmh"""
            return {"class", "speed_kmh"} <= {c.strip().lower() for c in cells}

        raw = read_table(path, is_header=is_header)
        header = [str(h).strip().lower() for h in raw.header]
        names, speeds = raw.columns[header.index("class")], raw.columns[header.index("speed_kmh")]
        for row, name, speed in zip(raw.row_numbers, names, speeds):
            table[str(name).strip()] = (speed, f"{path.name}, row {row}")
    else:
        raise GisError(f"--speeds {path}: expected a .toml or .csv file")
    by_class = dict(DEFAULT_SPEEDS_KMH)
    default, off_road = DEFAULT_SPEED_KMH, OFF_ROAD_KMH
    for name, value in table.items():
        value, where = value if isinstance(value, tuple) else (value, f"{path.name}, {name}")
        speed = _speed(value, where)
        if name == "default":
            default = speed
        elif name == "off_road":
            off_road = speed
        else:
            by_class[name] = speed
    return Speeds(by_class, default, off_road, path.name)


# --------------------------------------------------------------------------------------------
# Reading roads


def _read_pbf(path: Path):
    """(lines in EPSG:4326, highway class per line, ways skipped) of every OSM way tagged
    ``highway``. Ways whose nodes are missing from the file (a clipped extract) or that have
    fewer than two distinct points are skipped and counted."""
    import osmium
    import shapely

    wkb, classes, skipped = [], [], 0
    factory = osmium.geom.WKBFactory()  # geometries built in C++, decoded in one shapely call
    processor = osmium.FileProcessor(str(path)).with_locations().with_filter(osmium.filter.KeyFilter("highway"))
    try:
        for item in processor:
            if not item.is_way():
                continue
            try:
                wkb.append(factory.create_linestring(item))
            except (osmium.InvalidLocationError, RuntimeError):
                skipped += 1
                continue
            classes.append(item.tags.get("highway"))
    except RuntimeError as error:
        raise GisError(f"{path}: cannot read as an OSM .pbf file ({error})") from None
    return shapely.from_wkb(wkb, on_invalid="ignore") if wkb else np.empty(0, dtype=object), np.asarray(classes, dtype=object), skipped


def read_roads(path):
    """Road lines (shapely array, EPSG:4326) and their class (object array, None if the file
    names none) from a GeoPackage/Shapefile/GeoJSON (class from :data:`CLASS_COLUMNS`) or an
    OSM ``.pbf`` (``highway``). Returns ``(lines, classes, class_column)``."""
    import geopandas as gpd
    import shapely

    path = Path(path)
    if not path.exists():
        raise GisError(f"--roads {path}: no such file")
    if path.name.lower().endswith(".pbf"):
        lines, classes, skipped = _read_pbf(path)
        column = "highway"
        if skipped:
            warnings.warn(f"{path.name}: {skipped} highway ways without node locations or with one point were skipped", stacklevel=2)
    else:
        try:
            frame = gpd.read_file(path)
        except Exception as error:  # pyogrio raises several types for unreadable files
            raise GisError(f"{path}: cannot read as a vector file ({error}); expected GeoPackage, Shapefile, GeoJSON or .pbf roads") from None
        if frame.crs is None:
            raise GisError(f"{path}: the road layer has no CRS (unknown coordinates); expected lines with a declared CRS (e.g. EPSG:4326)")
        frame = frame[frame.geom_type.isin(["LineString", "MultiLineString"])]
        if not frame.crs.equals("EPSG:4326"):
            frame = frame.to_crs("EPSG:4326")
        column = next((c for c in frame.columns if str(c).lower() in CLASS_COLUMNS), None)
        lines = frame.geometry.values
        classes = frame[column].to_numpy(dtype=object) if column is not None else np.full(len(frame), None, dtype=object)
    if len(lines) == 0:
        raise GisError(f"{path}: no road lines (LineString/MultiLineString{' ways tagged highway' if column == 'highway' else ''}) in the file")
    parts, index = shapely.get_parts(np.asarray(lines), return_index=True)
    return parts, classes[index], column


# --------------------------------------------------------------------------------------------
# The graph


@dataclass
class RoadGraph:
    """Undirected road graph: CSR matrix of minutes between nodes (WGS-84 degrees)."""

    matrix: object  # scipy.sparse.csr_matrix, symmetric, minutes
    lon: np.ndarray
    lat: np.ndarray
    main: np.ndarray  # node indices of the largest connected component
    off_road_kmh: float
    n_edges: int
    note: str

    def snap(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Nearest main-component node of each point and the geodesic gap (km)."""
        from scipy.spatial import cKDTree

        from gis.analysis.access import _unit_vectors, geodesic_km

        if not hasattr(self, "_tree"):
            self._tree = cKDTree(_unit_vectors(self.lon[self.main], self.lat[self.main]))
        _, at = self._tree.query(_unit_vectors(lon, lat), workers=-1)
        node = self.main[at]
        return node, geodesic_km(lon, lat, self.lon[node], self.lat[node])

    def walk_minutes(self, km) -> np.ndarray:
        return np.asarray(km) / self.off_road_kmh * 60.0


def road_graph(lines, classes, speeds: Speeds, class_column: str | None = None, source: str = "") -> RoadGraph:
    """The graph of ``lines`` (LineStrings in EPSG:4326) with ``classes`` timed by ``speeds``."""
    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from gis.analysis.access import geodesic_km

    coords, line = shapely.get_coordinates(lines, return_index=True)
    # Vertices closer than ~1 cm are one node (the same OSM node written twice, or a
    # GeoPackage's shared vertex after a CRS round trip).
    key = np.round(coords * 1e7).astype("int64")
    unique, node = np.unique(key, axis=0, return_inverse=True)
    node = node.ravel()
    same_line = line[1:] == line[:-1]
    u, v = node[:-1][same_line], node[1:][same_line]
    segment_line = line[:-1][same_line]
    km = geodesic_km(coords[:-1, 0][same_line], coords[:-1, 1][same_line], coords[1:, 0][same_line], coords[1:, 1][same_line])
    names = np.asarray(classes, dtype=object)
    lookup = {name: speeds.by_class.get(name, speeds.default) if name is not None else speeds.default for name in set(names.tolist())}
    line_speed = np.array([lookup[name] for name in names.tolist()], dtype="float64")
    minutes = km / line_speed[segment_line] * 60.0 + _EPSILON_MIN
    real = u != v
    u, v, minutes = np.minimum(u, v)[real], np.maximum(u, v)[real], minutes[real]
    order = np.lexsort((minutes, v, u))  # the fastest of parallel segments is kept
    u, v, minutes = u[order], v[order], minutes[order]
    first = np.r_[True, (u[1:] != u[:-1]) | (v[1:] != v[:-1])]
    u, v, minutes = u[first], v[first], minutes[first]
    n = len(unique)
    matrix = coo_matrix((np.r_[minutes, minutes], (np.r_[u, v], np.r_[v, u])), shape=(n, n)).tocsr()
    _, labels = connected_components(matrix, directed=False)
    largest = np.bincount(labels).argmax()
    main = np.flatnonzero(labels == largest)
    unknown = sorted({str(c) for c in set(names.tolist()) if c is not None and c not in speeds.by_class})
    note_parts = [
        f"{len(u)} edges between {n} nodes from {source or 'the road file'}",
        f"class from column {class_column}"
        if class_column
        else f"no class column (looked for {', '.join(CLASS_COLUMNS)}): every road at {speeds.default:g} km/h",
        f"speeds from {speeds.source}",
        f"classes not in the speed table at {speeds.default:g} km/h: {', '.join(unknown[:10])}" if unknown else "",
        f"{n - len(main)} nodes outside the largest connected part are not used" if len(main) < n else "",
        f"points join the network at their nearest node, walking at {speeds.off_road:g} km/h; a cell's time is the smaller of "
        "that and walking the straight line; free-flow, undirected (one-way and turns ignored)",
    ]
    return RoadGraph(matrix, unique[:, 0] / 1e7, unique[:, 1] / 1e7, main, speeds.off_road, len(u),
                     "; ".join(p for p in note_parts if p))


def nearest_minutes(graph: RoadGraph, cell_lon, cell_lat, facility_lon, facility_lat) -> np.ndarray:
    """Minutes from each cell to its nearest facility: one Dijkstra from a super-source."""
    from scipy.sparse import bmat, coo_matrix
    from scipy.sparse.csgraph import dijkstra

    from gis.analysis.access import nearest_km

    n = graph.matrix.shape[0]
    facility_node, facility_km = graph.snap(facility_lon, facility_lat)
    start = np.full(n, np.inf)
    np.minimum.at(start, facility_node, graph.walk_minutes(facility_km) + _EPSILON_MIN)
    reached = np.flatnonzero(np.isfinite(start))
    source_row = coo_matrix((start[reached], (np.zeros(len(reached), dtype="int64"), reached)), shape=(1, n))
    extended = bmat([[graph.matrix, None], [source_row, None]], format="csr")
    extended.resize((n + 1, n + 1))
    times = dijkstra(extended, directed=True, indices=n)[:n]
    cell_node, cell_km = graph.snap(cell_lon, cell_lat)
    network = times[cell_node] + graph.walk_minutes(cell_km)
    direct, _ = nearest_km(cell_lon, cell_lat, facility_lon, facility_lat)
    return np.minimum(network, graph.walk_minutes(direct))


def pairs_within_minutes(graph: RoadGraph, cell_lon, cell_lat, facility_lon, facility_lat, limit: float, progress=None):
    """Every (cell, facility) pair within ``limit`` minutes (network or walking, the smaller):
    arrays cell, facility, minutes. One bounded Dijkstra per distinct facility node, in blocks."""
    from scipy.sparse.csgraph import dijkstra

    from gis.analysis.access import pairs_within_km

    say = progress or (lambda message: None)
    cell_node, cell_km = graph.snap(cell_lon, cell_lat)
    cell_walk = graph.walk_minutes(cell_km)
    facility_node, facility_km = graph.snap(facility_lon, facility_lat)
    facility_walk = graph.walk_minutes(facility_km)
    sources, source_of = np.unique(facility_node, return_inverse=True)
    # Cells by node, so each block looks only at nodes where someone lives.
    lived, cell_at = np.unique(cell_node, return_inverse=True)
    block = max(1, _BLOCK_ENTRIES // max(len(lived), 1))
    found_cell, found_facility, found_minutes = [], [], []
    facility_by_source = np.argsort(source_of, kind="stable")
    starts = np.searchsorted(source_of[facility_by_source], np.arange(len(sources) + 1))
    for first in range(0, len(sources), block):
        last = min(first + block, len(sources))
        if len(sources) > block:
            say(f"  catchments {first + 1}–{last} of {len(sources)} facility nodes")
        times = dijkstra(graph.matrix, directed=False, indices=sources[first:last], limit=limit)[:, lived]
        for s in range(first, last):
            row = times[s - first][cell_at] + cell_walk
            for j in facility_by_source[starts[s]:starts[s + 1]]:
                total = row + facility_walk[j]
                cells = np.flatnonzero(total <= limit)
                found_cell.append(cells)
                found_facility.append(np.full(len(cells), j, dtype="int64"))
                found_minutes.append(total[cells])
    walk_km = limit / 60.0 * graph.off_road_kmh
    c, f, km = pairs_within_km(np.asarray(cell_lon), np.asarray(cell_lat), np.asarray(facility_lon), np.asarray(facility_lat), walk_km)
    cell = np.concatenate(found_cell + [c])
    facility = np.concatenate(found_facility + [f])
    minutes = np.concatenate(found_minutes + [graph.walk_minutes(km)])
    # A pair found both ways keeps the faster time.
    order = np.lexsort((minutes, facility, cell))
    cell, facility, minutes = cell[order], facility[order], minutes[order]
    first = np.r_[True, (cell[1:] != cell[:-1]) | (facility[1:] != facility[:-1])] if len(cell) else np.zeros(0, bool)
    return cell[first], facility[first], minutes[first]
