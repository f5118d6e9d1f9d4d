"""Benchmark of census weights (gis.degurba.dasymetric): how often they give the true class.

On synthetic grids with a known population:

1. classify the grid with our Stage I engine (the "official" class grid of this world) and
   the units with Stage II on the **true** population (the truth);
2. forget the population; keep the class grid and each unit's total (its "census");
3. classify the units again with (a) census weights — class densities fitted, totals spread,
   Stage II (:func:`gis.degurba.census_weights.dasymetric_polygons`) — and (b) area weights;
4. report the share of units whose Level 1 and Level 2 class agree with the truth, for several
   unit sizes (Voronoi cells of random points, mean area = size²), and how often a unit marked
   ``degurba_l1_stable`` is right (it must always be).

Worlds (not real data; deterministic per seed): a log-normal rural background plus towns and
cities as Gaussian blobs of log-normal size; "dense" has a denser background and more, larger
towns (like the Yangtze delta), "sparse" a thin one (like the western mountains).

Target (issue #10): Level 1 agreement ≥ 95 %, always above area weights.

Run: ``python bench/bench_dasymetric.py`` (``--quick`` for one world and two sizes). Not
collected by pytest.
"""

from __future__ import annotations

import argparse
import time

import geopandas as gpd
import numpy as np
import shapely
from scipy import ndimage

from gis.degurba.census_weights import dasymetric_polygons
from gis.degurba.classify import classify_grid
from gis.degurba.dasymetric import density_class_labels
from gis.degurba.grid import GHSL_CRS, GhslWindow
from gis.degurba.zonal import class_totals, classify_units

WORLDS = {
    # background median e^mu persons/km², settlements per 1 000 km², settlement size median e^m
    "dense": {"mu": 4.6, "sigma": 0.9, "per_1000": 1.2, "m": 10.3, "s": 1.2},
    "mixed": {"mu": 3.6, "sigma": 1.1, "per_1000": 0.6, "m": 10.0, "s": 1.3},
    "sparse": {"mu": 1.5, "sigma": 1.3, "per_1000": 0.2, "m": 9.0, "s": 1.2},
}


def synthetic_population(size: int, world: dict, seed: int) -> np.ndarray:
    """size × size persons per 1 km cell (see the module docstring)."""
    rng = np.random.default_rng(seed)
    population = rng.lognormal(world["mu"], world["sigma"], size=(size, size))
    count = max(1, int(size * size * world["per_1000"] / 1000))
    seeds = np.zeros((size, size))
    seeds[rng.integers(0, size, count), rng.integers(0, size, count)] = rng.lognormal(world["m"], world["s"], count)
    population += ndimage.gaussian_filter(seeds, sigma=1.5) + ndimage.gaussian_filter(seeds, sigma=4.0) * 0.5
    return population


def voronoi_units(window: GhslWindow, unit_km: float, seed: int) -> gpd.GeoDataFrame:
    """Voronoi cells of random points over the window, about unit_km² km² each, ESRI:54009."""
    left, bottom, right, top = window.bounds
    rng = np.random.default_rng(seed)
    n = max(2, int(window.height * window.width / unit_km**2))
    points = shapely.points(rng.uniform(left, right, n), rng.uniform(bottom, top, n))
    box = shapely.box(left, bottom, right, top)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(points), extend_to=box))
    cells = shapely.intersection(cells, box)
    return gpd.GeoDataFrame(geometry=cells[~shapely.is_empty(cells)], crs=GHSL_CRS)


def pooled(size: int, world_name: str, unit_km: float, seeds: list[int]) -> dict:
    """:func:`compare` over several seeds (worlds and unit layouts), shares pooled over all units."""
    runs = [compare(size, world_name, unit_km, seed) for seed in seeds]
    units = np.array([r["units"] for r in runs], dtype=float)
    result = {"world": world_name, "unit_km": unit_km, "units": int(units.sum()), "densities": runs[0]["densities"]}
    for key in [("census", 1), ("area", 1), ("census", 2), ("area", 2), "stable", "rms", "seconds"]:
        values = np.array([r[key] for r in runs])
        result[key] = float(values.sum()) if key == "seconds" else float((values * units).sum() / units.sum())
    stable_units = np.array([r["stable"] for r in runs]) * units
    right = np.array([r["stable_right"] for r in runs])
    result["stable_right"] = float(np.nansum(right * stable_units) / stable_units.sum()) if stable_units.sum() else float("nan")
    return result


def compare(size: int, world_name: str, unit_km: float, seed: int) -> dict:
    population = synthetic_population(size, WORLDS[world_name], seed)
    window = GhslWindow(row_off=5000, col_off=29000, height=size, width=size)
    codes = classify_grid(population).level2
    units = voronoi_units(window, unit_km, seed + 1)
    truth = classify_units(class_totals(units, codes, window, population))
    started = time.perf_counter()
    estimate, density, _ = dasymetric_polygons(units, truth["pop_total"].to_numpy(), codes, window)
    seconds = time.perf_counter() - started
    area = classify_units(class_totals(units, codes, window))
    same = {
        (weights, level): float((frame[f"degurba_l{level}"].to_numpy() == truth[f"degurba_l{level}"].to_numpy()).mean())
        for weights, frame in (("census", estimate), ("area", area)) for level in (1, 2)
    }
    stable = estimate["degurba_l1_stable"].to_numpy(dtype=bool)
    stable_right = float((estimate["degurba_l1"].to_numpy()[stable] == truth["degurba_l1"].to_numpy()[stable]).mean()) if stable.any() else float("nan")
    return {
        "world": world_name, "unit_km": unit_km, "units": len(units), **same,
        "stable": float(stable.mean()), "stable_right": stable_right,
        "rms": float(density["rms_relative_residual"].iloc[0]), "seconds": seconds,
        "densities": density["density_fitted"].round(0).astype(int).tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one world, two unit sizes")
    parser.add_argument("--size", type=int, default=300, help="grid edge, km (default 300)")
    parser.add_argument("--seeds", type=int, default=3, help="worlds per row, pooled (default 3)")
    parser.add_argument("--worlds", nargs="+", choices=list(WORLDS), help="only these worlds")
    parser.add_argument("--sizes", nargs="+", type=float, help="only these unit sizes, km")
    args = parser.parse_args()
    worlds = args.worlds or (["mixed"] if args.quick else list(WORLDS))
    sizes = args.sizes or ([10.0, 30.0] if args.quick else [5.0, 10.0, 20.0, 40.0])
    print(f"grid {args.size} x {args.size} km, {args.seeds} world(s) per row; agreement with Stage II on the true "
          "population (share of units, pooled)")
    print(f"{'world':7} {'unit km':>7} {'units':>6} | {'L1 census':>9} {'L1 area':>8} | {'L2 census':>9} {'L2 area':>8} | "
          f"{'stable':>6} {'stable ok':>9} | {'fit rms':>7} {'s':>5}")
    rows = []
    for world in worlds:
        for unit_km in sizes:
            r = pooled(args.size, world, unit_km, seeds=[11 + 10 * i for i in range(args.seeds)])
            rows.append(r)
            print(f"{world:7} {unit_km:7.0f} {r['units']:6d} | {r[('census', 1)]:9.1%} {r[('area', 1)]:8.1%} | "
                  f"{r[('census', 2)]:9.1%} {r[('area', 2)]:8.1%} | {r['stable']:6.1%} {r['stable_right']:9.1%} | "
                  f"{r['rms']:7.3f} {r['seconds']:5.2f}")
    print(f"fitted densities ({', '.join(density_class_labels())}), first world of each row:", [r["densities"] for r in rows])
    worst = min(r[("census", 1)] for r in rows)
    above = all(r[("census", 1)] >= r[("area", 1)] for r in rows)
    print(f"Level 1 agreement: lowest {worst:.1%} (target >= 95%); always >= area weights: {above}")


if __name__ == "__main__":
    main()
