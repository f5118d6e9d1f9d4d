"""Benchmark of the Stage I engine (gis.degurba.classify_grid).

1. Speed against the ``degurba`` package from PyPI (``pip install '.[bench]'``) on the same
   synthetic 800 × 800 grid. ``degurba`` 0.2 imports GDAL's Python bindings (``osgeo``) at
   module level although its array functions do not use them; a stub module stands in for
   ``osgeo`` so that ``DEGURBA._get_urban_centres`` and ``DEGURBA._get_urban_clusters`` can be
   called on a NumPy array. Those two compute Level 1 only (urban centres and clusters); our
   time is for the full Level 1 + Level 2 classification, so the ratio understates our lead.
2. Time and peak memory of our engine on a 4 000 × 4 000 grid, in a fresh subprocess:
   ``tracemalloc`` peak during ``classify_grid`` (NumPy reports its buffers to tracemalloc)
   and the process's maximum resident set size (``ru_maxrss``, input grid included).

Targets: ≥ 100× faster than ``degurba`` at 800²; 4 000² in < 5 s and < 2 GB peak.

Run: ``python bench/bench_degurba.py`` (``--quick`` for smaller grids). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
from scipy import ndimage


def synthetic_population(size: int, seed: int = 0) -> np.ndarray:
    """A size × size grid of persons per 1 km cell: log-normal rural background (median
    e^2.5 ≈ 12 persons) plus towns and cities as Gaussian blobs (one seed per 2 000 cells,
    log-normal sizes, median e^10 ≈ 22 000 persons). Not real data; deterministic per seed."""
    rng = np.random.default_rng(seed)
    population = rng.lognormal(mean=2.5, sigma=1.2, size=(size, size))
    seeds = np.zeros((size, size))
    count = max(1, size * size // 2000)
    seeds[rng.integers(0, size, count), rng.integers(0, size, count)] = rng.lognormal(10.0, 1.3, count)
    population += ndimage.gaussian_filter(seeds, sigma=2.0)
    return population


def _import_degurba_package():
    """``degurba.DEGURBA`` with a stub ``osgeo`` (see the module docstring)."""
    if "osgeo" not in sys.modules:
        stub = types.ModuleType("osgeo")
        stub.gdal = types.ModuleType("osgeo.gdal")
        stub.ogr = types.ModuleType("osgeo.ogr")
        sys.modules["osgeo"] = stub
        sys.modules["osgeo.gdal"] = stub.gdal
        sys.modules["osgeo.ogr"] = stub.ogr
    from degurba import DEGURBA

    return DEGURBA


def best_of(function, repeats: int) -> float:
    """Shortest wall time of ``repeats`` calls, seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def compare_with_degurba(size: int) -> dict:
    from gis.degurba.classify import classify_grid

    population = synthetic_population(size)
    DEGURBA = _import_degurba_package()
    package = DEGURBA()

    def theirs():
        urban_centres = package._get_urban_centres(population)
        package._get_urban_clusters(population, urban_centres)

    classify_grid(population)  # warm up (imports, first-touch page faults)
    ours_seconds = best_of(lambda: classify_grid(population), 10)
    theirs_seconds = best_of(theirs, 1)
    ours = classify_grid(population)
    their_uc = package._get_urban_centres(population)
    their_ucl = package._get_urban_clusters(population, their_uc)
    return {
        "size": size,
        "ours_s": ours_seconds,
        "degurba_s": theirs_seconds,
        "ratio": theirs_seconds / ours_seconds,
        "urban_centre_cells_ours": int((ours.level1 == 3).sum()),
        "urban_centre_cells_degurba": int(their_uc.sum()),
        "urban_cluster_cells_ours": int((ours.level1 == 2).sum()),
        "urban_cluster_cells_degurba": int(their_ucl.sum()),
    }


_CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
from gis.degurba.classify import classify_grid
population = np.load(sys.argv[1])
classify_grid(population[:200, :200])  # warm up imports
rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
tracemalloc.start()
started = time.perf_counter()
classes = classify_grid(population)
seconds = time.perf_counter() - started
_, traced_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
started = time.perf_counter()
classify_grid(population)  # a second run without tracemalloc's overhead
untraced_seconds = time.perf_counter() - started
print(json.dumps({
    "seconds": untraced_seconds,
    "seconds_with_tracemalloc": seconds,
    "tracemalloc_peak_mb": traced_peak / 2**20,
    "input_mb": population.nbytes / 2**20,
    "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_before_mb": rss_before_mb,
    "class_counts": {str(k): v for k, v in classes.counts().items()},
}))
"""


def large_grid(size: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "population.npy"
        np.save(path, synthetic_population(size))
        output = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)], check=True, capture_output=True, text=True,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout
    return {"size": size, **json.loads(output)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="400² and 2 000² instead of 800² and 4 000²")
    args = parser.parse_args()
    compare_size, large_size = (400, 2000) if args.quick else (800, 4000)

    comparison = compare_with_degurba(compare_size)
    print(f"{compare_size} x {compare_size} synthetic grid")
    print(f"  ours (Level 1 + 2):          {comparison['ours_s'] * 1000:9.1f} ms (best of 10)")
    print(f"  degurba 0.2 (UC + UCL only): {comparison['degurba_s'] * 1000:9.1f} ms")
    print(f"  ratio:                       {comparison['ratio']:9.0f} x   (target >= 100 x)")
    print(
        f"  urban-centre cells ours/degurba: {comparison['urban_centre_cells_ours']}/"
        f"{comparison['urban_centre_cells_degurba']}; urban-cluster cells (outside UC): "
        f"{comparison['urban_cluster_cells_ours']}/{comparison['urban_cluster_cells_degurba']}"
    )
    large = large_grid(large_size)
    print(f"{large_size} x {large_size} synthetic grid, fresh process")
    print(f"  classify_grid:           {large['seconds']:7.2f} s   (target < 5 s)")
    print(f"  tracemalloc peak:        {large['tracemalloc_peak_mb']:7.0f} MB  (beyond the {large['input_mb']:.0f} MB input)")
    print(f"  max resident set size:   {large['max_rss_mb']:7.0f} MB  (whole process; target < 2048 MB)")
    print(f"  classes (cells):         {large['class_counts']}")


if __name__ == "__main__":
    main()
