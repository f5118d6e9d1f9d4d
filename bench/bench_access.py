"""Benchmark: ``gis access`` measures for Zhejiang against plain references in the same run.

Cells: Zhejiang's populated 1 km cells of the census estimate (``degurba_for_units``, ~106 000
cells; not timed). Facilities: SYNTHETIC points (a fixed random draw inside the province,
``--facilities``, default 2 000) with random capacities.

* straight line: :func:`gis.analysis.access.measure_access` (KD-tree + exact geodesic, unit
  shares and means), and with capacities (2SFCA, 10 km catchment), against brute-force
  haversine over every cell-facility pair in NumPy blocks (the plain reference); the nearest
  distances are checked against the exact geodesic by brute force on a sample of cells.
* network: a SYNTHETIC lattice of roads over the province (``--lattice`` vertices a side,
  default 500: ~500 000 edges) written to a GeoPackage; reading, the graph and the
  multi-source Dijkstra of ``measure_access``, against networkx's
  ``multi_source_dijkstra_path_length`` on the same edges (times of every node compared).

Peak memory: the process's ``ru_maxrss`` after each stage (it only grows).

    python bench/bench_access.py
    python bench/bench_access.py --facilities 500 --lattice 300

Not collected by pytest. On a shared machine read the ratios of the same run.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _haversine_nearest(cell_lon, cell_lat, lon, lat, block=4000):
    radius = 6371.0088
    lon, lat = np.radians(lon), np.radians(lat)
    best = np.empty(len(cell_lon))
    for start in range(0, len(cell_lon), block):
        a = np.radians(cell_lon[start:start + block])[:, None]
        b = np.radians(cell_lat[start:start + block])[:, None]
        h = np.sin((lat - b) / 2) ** 2 + np.cos(b) * np.cos(lat) * np.sin((lon - a) / 2) ** 2
        best[start:start + block] = (2 * radius * np.arcsin(np.sqrt(h))).min(axis=1)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facilities", type=int, default=2000)
    parser.add_argument("--lattice", type=int, default=500)
    args = parser.parse_args()

    import geopandas as gpd
    import shapely

    from gis.analysis.access import Facilities, geodesic_km, measure_access, populated_cells
    from gis.analysis.roads import read_roads, read_speeds, road_graph
    from gis.degurba.units import degurba_for_units
    from gis.units.boundaries import load_boundaries

    boundaries = load_boundaries("330000")
    degurba = degurba_for_units(boundaries)
    cells = populated_cells(degurba.population_estimate, degurba.grid_l2.codes, degurba.grid_l2.window,
                            boundaries.counties, "census estimate")
    province = boundaries.province.geometry.union_all()
    rng = np.random.default_rng(2024)
    west, south, east, north = province.bounds
    lon, lat = rng.uniform(west, east, args.facilities * 3), rng.uniform(south, north, args.facilities * 3)
    inside = shapely.contains_xy(province, lon, lat)
    lon, lat = lon[inside][:args.facilities], lat[inside][:args.facilities]
    import pandas as pd

    report = pd.DataFrame({"row": np.arange(len(lon)), "status": "used"})
    facilities = Facilities(lon, lat, np.arange(len(lon)), None, "SYNTHETIC", "wgs84", report)
    capacitated = Facilities(lon, lat, np.arange(len(lon)), rng.integers(5, 60, len(lon)).astype(float), "SYNTHETIC", "wgs84", report)
    print(f"Zhejiang: {len(cells)} populated cells, {len(lon)} SYNTHETIC facilities; peak RSS after setup {_rss_mb():.0f} MB")

    start = time.perf_counter()
    result = measure_access(cells, facilities, (1.0, 3.0, 5.0), len(boundaries.counties))
    ours = time.perf_counter() - start
    start = time.perf_counter()
    measure_access(cells, capacitated, (1.0, 3.0, 10.0), len(boundaries.counties))
    ours_2sfca = time.perf_counter() - start
    start = time.perf_counter()
    brute = _haversine_nearest(cells.lon, cells.lat, lon, lat)
    reference = time.perf_counter() - start
    sample = rng.choice(len(cells), 300, replace=False)
    exact = np.array([geodesic_km(np.full(len(lon), cells.lon[i]), np.full(len(lon), cells.lat[i]), lon, lat).min() for i in sample])
    print(f"straight line: ours {ours:.2f} s (shares + means), with 2SFCA (10 km) {ours_2sfca:.2f} s; brute-force haversine "
          f"{reference:.2f} s (nearest only) -> {reference / ours:.1f}x; peak RSS {_rss_mb():.0f} MB")
    print(f"  max |ours - brute-force geodesic| on 300 cells: {np.abs(result.distance[sample] - exact).max():.2e} km; "
          f"max |ours - haversine| / haversine: {np.nanmax(np.abs(result.distance - brute) / np.maximum(brute, 1e-9)):.4f} (sphere vs ellipsoid)")

    # A lattice of roads over the province: rows and columns of vertices, each row and column one line.
    n = args.lattice
    xs, ys = np.linspace(west, east, n), np.linspace(south, north, n)
    grid_x, grid_y = np.meshgrid(xs, ys)
    rows = shapely.linestrings(np.stack([grid_x, grid_y], axis=-1))
    cols = shapely.linestrings(np.stack([grid_x.T, grid_y.T], axis=-1))
    classes = np.where(np.arange(2 * n) % 10 == 0, "primary", "residential")
    with tempfile.TemporaryDirectory(prefix="bench-access-") as folder:
        path = Path(folder) / "SYNTHETIC_lattice.gpkg"
        gpd.GeoDataFrame({"highway": classes}, geometry=np.r_[rows, cols], crs="EPSG:4326").to_file(path)
        start = time.perf_counter()
        lines, line_classes, column = read_roads(path)
        graph = road_graph(lines, line_classes, read_speeds(), column)
        built = time.perf_counter() - start
        start = time.perf_counter()
        network = measure_access(cells, facilities, (15.0, 30.0), len(boundaries.counties), graph=graph)
        routed = time.perf_counter() - start
        start = time.perf_counter()
        measure_access(cells, capacitated, (15.0, 30.0), len(boundaries.counties), graph=graph)
        routed_2sfca = time.perf_counter() - start
    print(f"network: {graph.n_edges} edges, {graph.matrix.shape[0]} nodes; read + graph {built:.2f} s, times + unit measures "
          f"{routed:.2f} s, total {built + routed:.2f} s; with 2SFCA (30 min, one bounded Dijkstra per facility) "
          f"{routed_2sfca:.2f} s; peak RSS {_rss_mb():.0f} MB")

    import networkx as nx
    from scipy.sparse import triu

    upper = triu(graph.matrix).tocoo()
    start = time.perf_counter()
    g = nx.Graph()
    g.add_weighted_edges_from(zip(upper.row.tolist(), upper.col.tolist(), upper.data.tolist()))
    facility_node, facility_km = graph.snap(lon, lat)
    # networkx has no per-source offset: one super-source joined by the walking time, as ours.
    super_source = -1
    for node, minutes in zip(facility_node.tolist(), graph.walk_minutes(facility_km).tolist()):
        if not g.has_edge(super_source, node) or g[super_source][node]["weight"] > minutes:
            g.add_edge(super_source, node, weight=minutes)
    times = nx.single_source_dijkstra_path_length(g, super_source)
    nx_seconds = time.perf_counter() - start
    cell_node, cell_km = graph.snap(cells.lon, cells.lat)
    nx_cell = np.array([times.get(int(v), np.inf) for v in cell_node]) + graph.walk_minutes(cell_km)
    walk = graph.walk_minutes(result.distance)
    agree = np.abs(np.minimum(nx_cell, walk) - network.distance).max()
    print(f"  networkx (graph + one Dijkstra from a super-source) {nx_seconds:.2f} s vs ours {routed:.2f} s -> "
          f"{nx_seconds / routed:.1f}x; max |difference| {agree:.2e} min")


if __name__ == "__main__":
    main()
