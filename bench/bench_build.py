"""Benchmark: ``gis build`` for Zhejiang and for the whole country, warm cache, with its map stage
drawn in worker processes (the default) against the same build with the pages drawn one after
another in one process (``render_maps(workers=1)``, the serial path, as the baseline of the same
run).

Targets (issue 12): national build < 60 s and < 2 GB peak on two cores with a warm cache
(< 120 s cold); Zhejiang < 5 s warm.

Each build runs as a fresh ``gis build ... --overwrite`` process (after one warm-up build that
fills the user's cache: boundaries, the official grid, the coverage of the grid by the units,
simplified map layers and grid images). Reported per build: wall time; the time of
``render_maps`` (the map stage: all pages and ``index.html``); the peak of the summed
proportional set size (PSS) of the build and its worker processes, sampled every 0.25 s from
``/proc/<pid>/smaps_rollup`` (memory shared copy-on-write between the build and its workers is
counted once); and the kernel's largest resident set size of any one process (``ru_maxrss``,
what ``/usr/bin/time -v`` prints, which counts shared pages in each process). Medians over
``--runs``; the ratio is against the serial path of the same run. A province's build draws its
pages in one process either way (its two groups of pages share a grid image, see
``gis/maps/pages.py``), so Zhejiang's two lines differ only by noise.

Measured on the two-core development machine, warm cache, with other work on it at times
(``python bench/bench_build.py --runs 3``; plain ``/usr/bin/time`` runs on a quiet machine in
brackets): main before the map work (e90d1b0) Zhejiang 5.9-6.2 s (maps 2.4-2.5 s), China
83-99 s (maps 55-71 s); after it (on b1847cc) Zhejiang 4.0 s [4.1-4.6 s] (maps 0.5 s), China
35 s [28-31 s, max RSS 1.22 GB] (maps 8.5 s serial, 7.0 s in two workers; peak summed PSS
1.7 GB).

    python bench/bench_build.py                      # Zhejiang x5, China x2 (about 5 minutes)
    python bench/bench_build.py --only zhejiang --runs 3
    python bench/bench_build.py --cold               # also one national build with an empty cache

Linux only (``/proc``). Not collected by pytest. Timings move with whatever else runs on the
machine: on a shared machine, read the serial/worker ratio of the same run rather than the
absolute seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Runs ``gis build`` with the map stage timed; argv[1] = processes drawing the map pages (0: the
#: default). Only the map stage is made serial: the rest of the build runs as it does.
_RUNNER = r"""
import sys, time
import gis.maps

workers = int(sys.argv[1]) or None
render_maps = gis.maps.render_maps

def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
        return render_maps(*args, workers=workers, **kwargs)
    finally:
        print(f"BENCH render_maps {time.perf_counter() - start:.3f}", file=sys.stderr)

gis.maps.render_maps = timed
from gis.cli import main
sys.argv = ["gis", *sys.argv[2:]]
main()
"""

AREAS = {"zhejiang": ("330000", 5.0, None), "china": ("all", 60.0, 2048.0)}


def _tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_build(province: str, out: Path, workers: int, env: dict) -> dict:
    """One ``gis build`` in a fresh process: wall s, render_maps s, peak summed PSS MB, and the
    largest RSS of the build or any of its workers, MB."""
    command = [sys.executable, "-c", _RUNNER, str(workers), "build", "--province", province,
               "--out", str(out), "--overwrite"]
    with tempfile.TemporaryFile("w+") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        peak_pss = 0.0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak_pss = max(peak_pss, sum(_pss_mb(pid) for pid in _tree(process.pid)))
            time.sleep(0.25)  # reading smaps_rollup of a 1 GB process walks its page tables: not free
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        text = stderr.read()
    if process.returncode != 0:
        raise SystemExit(f"gis build --province {province} failed:\n{text}")
    maps = [float(line.split()[-1]) for line in text.splitlines() if line.startswith("BENCH render_maps")]
    return {"wall": wall, "maps": maps[-1], "pss": peak_pss, "rss": usage.ru_maxrss / 1024}


def report(name: str, results: dict[str, list[dict]], target_s: float, target_mb: float | None) -> None:
    """One line per configuration; ratios against the first (the serial path)."""
    first = next(iter(results.values()))
    baseline = statistics.median(r["wall"] for r in first)
    baseline_maps = statistics.median(r["maps"] for r in first)
    print(f"\n{name}, warm cache (median of {len(first)} run(s) each)")
    print(f"{'map pages drawn':24s} {'wall s':>7s} {'x serial':>9s} {'maps s':>7s} {'x serial':>9s} {'PSS MB':>7s} {'RSS MB':>7s}")
    for label, runs in results.items():
        wall = statistics.median(r["wall"] for r in runs)
        maps = statistics.median(r["maps"] for r in runs)
        pss = max(r["pss"] for r in runs)
        rss = max(r["rss"] for r in runs)
        verdict = "ok" if wall < target_s and (target_mb is None or pss < target_mb) else "OVER"
        print(f"{label:24s} {wall:7.1f} {wall / baseline:9.2f} {maps:7.2f} {maps / baseline_maps:9.2f} "
              f"{pss:7.0f} {rss:7.0f}  {verdict}")
    print(f"target: < {target_s:.0f} s" + (f", < {target_mb:.0f} MB" if target_mb else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(AREAS))
    parser.add_argument("--runs", type=int, help="runs per configuration (default: Zhejiang 5, China 2)")
    parser.add_argument("--cold", action="store_true", help="also one national build with an empty cache folder")
    options = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory(prefix="bench-build-") as folder:
        for name, (province, target_s, target_mb) in AREAS.items():
            if options.only and name != options.only:
                continue
            out = Path(folder) / name
            runs = options.runs or (5 if name == "zhejiang" else 2)
            run_build(province, out, 0, env)  # warm-up: fills the cache
            results: dict[str, list[dict]] = {"serial (one process)": [], "workers (default)": []}
            for _ in range(runs):  # alternated, so both see the same machine
                results["serial (one process)"].append(run_build(province, out, 1, env))
                results["workers (default)"].append(run_build(province, out, 0, env))
            report(name, results, target_s, target_mb)
        if options.cold:
            cold_env = dict(env, GIS_CACHE_DIR=str(Path(folder) / "empty-cache"))
            cold = run_build("all", Path(folder) / "china-cold", 0, cold_env)
            verdict = "ok" if cold["wall"] < 120 else "OVER"
            print(f"\nchina, empty cache: wall {cold['wall']:.1f} s (target < 120 s: {verdict}), "
                  f"render_maps {cold['maps']:.1f} s, peak PSS {cold['pss']:.0f} MB")


if __name__ == "__main__":
    main()
