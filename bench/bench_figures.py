"""Benchmark: ``gis build --figures`` against ``gis build`` in the same run (warm cache).

Each build is a fresh ``gis build --overwrite`` process into its own folder, alternating the two
kinds so a change in the machine's load falls on both; one warm-up build of each first (the
user's cache, matplotlib's font cache). Reported: the median wall time of each kind (the
figures' cost: every view of every map drawn, as PNG, SVG and PDF) and the ratio.
``--province all`` for the national build (34 provinces' county figures and the national ones;
minutes).

    python bench/bench_figures.py                  # Zhejiang x3
    python bench/bench_figures.py --runs 5
    python bench/bench_figures.py --province all --runs 1

Not collected by pytest. On a shared machine read the ratio of the same run, not the seconds.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _build(out: Path, province: str, figures: bool) -> tuple[float, float]:
    """Wall and CPU seconds (user + system, the build and its workers) of one build."""
    command = [sys.executable, "-m", "gis", "build", "--province", province, "--out", str(out), "--overwrite"]
    start, cpu = time.perf_counter(), _cpu()
    subprocess.run(command + (["--figures"] if figures else []), check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, _cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--province", default="330000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as folder:
        for figures in (False, True):  # warm-up
            _build(Path(folder) / str(figures), args.province, figures)
        for _ in range(args.runs):
            for figures in (False, True):
                times[figures].append(_build(Path(folder) / str(figures), args.province, figures))
        count = len(list((Path(folder) / "True" / "figures").glob("*.png")))
    print(f"province {args.province}, {args.runs} run(s) each, medians (wall; CPU of the build and its workers):")
    medians = {}
    for figures, label in ((False, "gis build          "), (True, "gis build --figures")):
        wall = statistics.median(t for t, _ in times[figures])
        cpu = statistics.median(c for _, c in times[figures])
        medians[figures] = (wall, cpu)
        print(f"  {label}  wall {wall:6.1f} s  CPU {cpu:6.1f} s   runs: {', '.join(f'{t:.1f}' for t, _ in times[figures])}")
    (wall0, cpu0), (wall1, cpu1) = medians[False], medians[True]
    print(f"  {count} figures (each PNG, SVG, PDF): +{wall1 - wall0:.1f} s wall (ratio {wall1 / wall0:.2f}), "
          f"+{cpu1 - cpu0:.1f} s CPU (ratio {cpu1 / cpu0:.2f})")


if __name__ == "__main__":
    main()
