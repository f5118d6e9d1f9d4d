"""Start-up time of the CLI: ``gis --help`` and ``gis degurba grid`` on an 800 x 800 grid.

Targets (issue 11): ``gis --help`` < 0.3 s; ``gis degurba grid`` on 800 x 800 < 0.5 s wall,
start-up included. Each command runs as a whole process, 7 times after a warm-up; the median
is printed with the baseline of the same run: ``python -c pass`` (the interpreter alone) and
``python -c "import geopandas, folium"`` (what every command paid before imports were lazy).

    python bench/bench_startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RUNS = 7


def timed(command: list[str]) -> float:
    subprocess.run(command, check=True, capture_output=True)  # warm-up (file cache)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def population_raster(path: Path, size: int = 800) -> None:
    """A synthetic 800 x 800 population grid on the GHSL 1 km grid (a city, towns, countryside)."""
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[0:size, 0:size]
    population = 20 * rng.random((size, size))
    for r, c, peak, spread in ((400, 400, 8000, 12), (150, 600, 2500, 5), (650, 200, 1800, 4)):
        population += peak * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * spread**2))
    transform = Affine(1000, 0, 9_959_000, 0, -1000, 3_800_000)  # aligned with the GHSL origin
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="float64",
                       crs="ESRI:54009", transform=transform, nodata=-1) as dst:
        dst.write(population, 1)


def main() -> None:
    gis = str(Path(sys.executable).with_name("gis"))
    with tempfile.TemporaryDirectory() as folder:
        raster = Path(folder) / "pop.tif"
        population_raster(raster)
        out = Path(folder) / "grid.tif"
        rows = [
            ("python -c pass (baseline)", [sys.executable, "-c", "pass"], None),
            ("import geopandas, folium (old start-up)", [sys.executable, "-c", "import geopandas, folium, mapclassify, dask.array"], None),
            ("gis --help", [gis, "--help"], 0.3),
            ("gis degurba grid 800x800", [gis, "degurba", "grid", "--population", str(raster), "--out", str(out), "--overwrite"], 0.5),
        ]
        baseline = None
        print(f"{'command':45s} {'median s':>9s} {'x python':>9s} {'target':>7s}")
        for name, command, target in rows:
            seconds = timed(command)
            baseline = baseline or seconds
            verdict = "" if target is None else ("ok" if seconds < target else "OVER")
            print(f"{name:45s} {seconds:9.3f} {seconds / baseline:9.1f} {'' if target is None else target:>7} {verdict}")


if __name__ == "__main__":
    main()
