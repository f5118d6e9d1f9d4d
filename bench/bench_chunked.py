"""Benchmark: Stage I in memory (``classify_grid``) against out of core (``classify_grid_chunked``).

For each grid size (default 4 000², 8 000² and 16 000² cells) a synthetic population grid (the
generator of ``bench/bench_degurba.py``: log-normal rural background plus Gaussian towns and
cities) is written to a ``.npy`` file, then classified in a fresh child process per engine, so
that peaks do not mix:

* **in memory**: the grid is loaded whole (float64, 8 bytes a cell, counted in the peak) and
  classified by ``gis.degurba.classify_grid``; skipped when its measured ~23 bytes a cell would
  not fit in the machine's available memory;
* **chunked**: the grid is read chunk by chunk from the file (each chunk copied out of a
  memory map that is closed at once, so the input never sits in memory) and classified by
  ``gis.degurba_chunked.classify_grid_chunked`` with 2 048² chunks on local threads; the Level 2
  codes are then written with ``write_class_geotiff_chunked`` (timed separately).

Each child reports wall time, its peak resident set size (kernel ``ru_maxrss``, and the maximum
of ``psutil`` samples every 20 ms during the classification only), and for the chunked engine
the peak size of its temporary folder. Both children hash their Level 2 codes (SHA-256 of the
row-major bytes, streamed chunk row by chunk row for the chunked result), so equality is checked
without holding two grids. The last lines extrapolate to the whole-globe GHSL 1 km grid
(18 000 × 36 082 cells) from the largest size run.

Run: ``python bench/bench_chunked.py`` (``--sizes 1000 2000`` for a quick look). Not collected
by pytest. Needs ``psutil``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOBE_SHAPE = (18_000, 36_082)
CHUNK = 2048

_GENERATE = r"""
import sys
import numpy as np
sys.path.insert(0, sys.argv[3])
from bench_degurba import synthetic_population
np.save(sys.argv[1], synthetic_population(int(sys.argv[2])))
print("{}")
"""

# Shared by both children: a thread sampling RSS (and the size of a folder) while a block runs.
_SAMPLER = r"""
import json, os, resource, sys, threading, time, hashlib
import numpy as np
import psutil

class Sampler:
    def __init__(self, folder=None):
        self.folder, self.peak_rss, self.peak_disk = folder, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
    def _run(self):
        process = psutil.Process()
        last_disk = 0.0
        while not self._stop.is_set():
            self.peak_rss = max(self.peak_rss, process.memory_info().rss)
            if self.folder is not None and time.monotonic() - last_disk > 0.25:
                last_disk = time.monotonic()
                size = 0
                for root, _, files in os.walk(self.folder):
                    for name in files:
                        try:
                            size += os.stat(os.path.join(root, name)).st_size
                        except FileNotFoundError:
                            pass
                self.peak_disk = max(self.peak_disk, size)
            self._stop.wait(0.02)
    def __enter__(self):
        self._thread.start()
        return self
    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

def max_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

_IN_MEMORY = _SAMPLER + r"""
from gis.degurba.classify import classify_grid
classify_grid(np.full((300, 300), 2000.0))  # warm up imports
baseline_mb = psutil.Process().memory_info().rss / 2**20
started = time.perf_counter()
with Sampler() as sampler:
    population = np.load(sys.argv[1])
    loaded = time.perf_counter()
    classes = classify_grid(population)
seconds = time.perf_counter() - loaded
print(json.dumps({
    "seconds": seconds,
    "load_seconds": loaded - started,
    "peak_rss_mb": sampler.peak_rss / 2**20,
    "max_rss_mb": max_rss_mb(),
    "baseline_mb": baseline_mb,
    "sha256": hashlib.sha256(classes.level2.tobytes()).hexdigest(),
    "counts": {str(k): v for k, v in classes.counts().items()},
}))
"""

_CHUNKED = _SAMPLER + r"""
import tempfile
import dask.array as da
from affine import Affine
from gis.degurba.chunked import classify_grid_chunked, write_class_geotiff_chunked

class NpyChunks:
    # Reads any window of a .npy file through a memory map closed right after the copy, so
    # the pages read never stay in this process. The header is parsed once, here: np.load
    # parses it with ast, which is not safe in several threads at once on CPython 3.11.7.
    def __init__(self, path):
        self.path = path
        header = np.load(path, mmap_mode="r")
        self.shape, self.dtype, self.ndim, self.offset = header.shape, header.dtype, header.ndim, header.offset
        del header
    def __getitem__(self, key):
        mapped = np.memmap(self.path, dtype=self.dtype, mode="r", offset=self.offset, shape=self.shape)
        try:
            return np.array(mapped[key])
        finally:
            del mapped

chunk = int(sys.argv[2])
workdir = tempfile.mkdtemp(dir=sys.argv[3])
classify_grid_chunked(np.full((300, 300), 2000.0), chunks=100, workdir=workdir).close()  # warm up
baseline_mb = psutil.Process().memory_info().rss / 2**20
population = da.from_array(NpyChunks(sys.argv[1]), chunks=(chunk, chunk), asarray=False, meta=np.array((), np.float64))
started = time.perf_counter()
stages = []
with Sampler(workdir) as sampler:
    result = classify_grid_chunked(population, workdir=workdir, progress=stages.append)
seconds = time.perf_counter() - started
classify_max_rss_mb = max_rss_mb()  # the kernel's peak so far: warm-up and classification
started = time.perf_counter()
tif = os.path.join(workdir, "level2.tif")
write_class_geotiff_chunked(tif, result.level2, Affine(1000.0, 0, -18041000.0, 0, -1000.0, 9000000.0))
write_seconds = time.perf_counter() - started
tif_mb = os.path.getsize(tif) / 2**20
os.unlink(tif)
digest, counts = hashlib.sha256(), np.zeros(256, dtype=np.int64)
for i in range(result.level2.numblocks[0]):
    rows = result.level2.blocks[i].compute()  # one chunk row, full width
    digest.update(rows.tobytes())
    counts += np.bincount(rows.ravel(), minlength=256)
result.close()
print(json.dumps({
    "seconds": seconds,
    "write_seconds": write_seconds,
    "tif_mb": tif_mb,
    "peak_rss_mb": sampler.peak_rss / 2**20,
    "max_rss_mb": classify_max_rss_mb,
    "max_rss_with_writing_mb": max_rss_mb(),
    "baseline_mb": baseline_mb,
    "peak_disk_mb": sampler.peak_disk / 2**20,
    "sha256": digest.hexdigest(),
    "counts": {str(k): int(n) for k, n in enumerate(counts) if n},
    "stages": stages,
}))
"""


def run_child(code: str, *arguments: str) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", code, *arguments], capture_output=True, text=True, cwd=ROOT,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"child failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def available_mb() -> float:
    import psutil

    return psutil.virtual_memory().available / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4000, 8000, 16000], help="grid edges, cells")
    parser.add_argument("--chunk", type=int, default=CHUNK, help="chunk edge, cells (default 2048)")
    parser.add_argument("--workdir", default=None, help="folder for the grids and temporary stores")
    parser.add_argument("--json", default=None, help="also write all measurements to this file")
    args = parser.parse_args()

    results = []
    with tempfile.TemporaryDirectory(dir=args.workdir, prefix="bench-chunked-") as folder:
        for size in args.sizes:
            path = str(Path(folder) / f"population_{size}.npy")
            started = time.perf_counter()
            run_child(_GENERATE, path, str(size), str(ROOT / "bench"))
            print(f"{size} x {size} cells ({size * size / 1e6:.0f} M), grid made in {time.perf_counter() - started:.0f} s", flush=True)
            row = {"size": size, "cells": size * size}
            # classify_grid needs ~15 bytes a cell beyond the 8-byte input (bench_degurba.py).
            needed_mb = size * size * 23 / 2**20
            if needed_mb < 0.8 * available_mb():
                row["in_memory"] = run_child(_IN_MEMORY, path)
                m = row["in_memory"]
                print(f"  in memory: {m['seconds']:7.1f} s   peak RSS {m['max_rss_mb']:7.0f} MB "
                      f"(sampled {m['peak_rss_mb']:.0f}, {m['max_rss_mb'] * 2**20 / (size * size):.1f} B/cell incl. "
                      f"the {size * size * 8 / 2**20:.0f} MB input; load {m['load_seconds']:.1f} s not timed)", flush=True)
            else:
                print(f"  in memory: skipped (needs ~{needed_mb:.0f} MB, {available_mb():.0f} MB available)", flush=True)
            row["chunked"] = run_child(_CHUNKED, path, str(args.chunk), folder)
            c = row["chunked"]
            print(f"  chunked:   {c['seconds']:7.1f} s   peak RSS {c['max_rss_mb']:7.0f} MB "
                  f"(sampled {c['peak_rss_mb']:.0f}, {c['baseline_mb']:.0f} of it imports; input read from disk), temporary files peak "
                  f"{c['peak_disk_mb']:.0f} MB ({c['peak_disk_mb'] * 2**20 / (size * size):.2f} B/cell)", flush=True)
            print(f"             GeoTIFF written in {c['write_seconds']:.1f} s ({c['tif_mb']:.0f} MB), "
                  f"peak RSS with writing {c['max_rss_with_writing_mb']:.0f} MB", flush=True)
            if "in_memory" in row:
                same = row["in_memory"]["sha256"] == c["sha256"] and row["in_memory"]["counts"] == c["counts"]
                row["identical"] = same
                print(f"  identical Level 2 codes: {'yes' if same else 'NO'} "
                      f"(sha256 {c['sha256'][:16]}…)", flush=True)
            results.append(row)
            os.unlink(path)

    largest = results[-1]
    globe_cells = GLOBE_SHAPE[0] * GLOBE_SHAPE[1]
    scale = globe_cells / largest["cells"]
    c = largest["chunked"]
    print(f"Whole globe, {GLOBE_SHAPE[0]} x {GLOBE_SHAPE[1]} cells ({globe_cells / 1e6:.0f} M), "
          f"extrapolated linearly from {largest['size']}²:")
    rss_mb = c["max_rss_mb"]
    if len(results) > 1:
        # Chunk-sized buffers do not grow with the grid; per-label and chunk-border arrays do.
        smaller = results[-2]
        growth = (rss_mb - smaller["chunked"]["max_rss_mb"]) / (largest["cells"] - smaller["cells"])
        rss_mb += max(growth, 0.0) * (globe_cells - largest["cells"])
    print(f"  chunked:   ~{c['seconds'] * scale / 60:.0f} min on this machine, peak RSS ~{rss_mb:.0f} MB "
          f"(chunk buffers plus the growth per cell seen between the two largest sizes), "
          f"temporary files ~{c['peak_disk_mb'] * scale / 1024:.1f} GB")
    if "in_memory" in largest:
        m = largest["in_memory"]
        print(f"  in memory: ~{m['seconds'] * scale / 60:.0f} min, peak RSS ~{m['max_rss_mb'] * scale / 1024:.1f} GB")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
