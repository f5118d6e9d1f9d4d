"""How fast ``gis check`` joins large tables: a national long-form yearbook table and a wide one.

Targets (issue 14): 1 000 000 long-form rows (counties × 20 income indicators × years, by
adcode) checked in < 10 s and < 1.5 GB peak memory on two cores; Zhejiang's 90 counties × 60
indicator columns (wide, 2024) in < 1 s. Each case runs in its own process (so peak memory is that
case's): boundaries are loaded first and not timed, then :func:`load_user_tables` is timed
(with ``allow_unmatched``: a national table over 20 years has rows of units split since).
The baseline of the same run is ``pandas.read_csv`` of the same file (reading alone, the floor
any check pays); the ratio says what matching, parsing and checking cost on top.

    python bench/bench_join.py                 # 1 000 000 long rows and 90 × 60 wide
    python bench/bench_join.py --rows 20000    # fewer rows (e.g. to measure a slow version)
    python bench/bench_join.py --root ../main  # the same cases on another checkout (before/after)

Measured (2 shared cores, back to back in one session, load ~1-2; the machine is noisy, so
compare ratios of one run, not seconds across runs):

- before (row-by-row ``csv.reader``, header split and report loop per row): long 24.5 s
  (23 × read_csv), peak 1352 MB; wide 0.10 s.
- after (CSV tokenised by column with pandas' C engine, distinct ids/years/indicators parsed
  once, plain numbers found in one regex pass, Python loops only over reported rows and
  problem cells): long 6.5-7.8 s (6-8 × read_csv), peak 976 MB — 3.1× faster, 28 % less
  memory, target met; wide 0.11-0.13 s (target met). Output, report and errors identical
  (checked on 300 000 rows with reported rows and bad cells).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: Income indicators (yuan, >= 0) used for the long table: 20 of them.
LONG_INDICATORS = [
    f"{who}_{what}"
    for what in ("income", "wage_income", "business_income", "property_income", "transfer_income")
    for who in ("resident", "urban", "rural")
] + ["resident_consumption", "urban_consumption", "rural_consumption", "resident_population", "urban_population"]


def long_table(path: Path, rows: int) -> int:
    """A long table (adcode, year, indicator, value) of about ``rows`` rows over China's counties."""
    from gis.units.boundaries import load_boundaries

    codes = load_boundaries("all").counties["adcode"].to_numpy()
    years_needed = max(1, -(-rows // (len(codes) * len(LONG_INDICATORS))))
    years = np.arange(2024 - years_needed + 1, 2025)
    code, year, indicator = (a.ravel() for a in np.meshgrid(codes, years, LONG_INDICATORS, indexing="ij"))
    code, year, indicator = code[:rows], year[:rows], indicator[:rows]
    values = np.round(np.random.default_rng(14).uniform(1000, 90000, len(code)), 1)
    import pandas as pd

    pd.DataFrame({"adcode": code, "year": year, "indicator": indicator, "value": values}).to_csv(path, index=False)
    return len(code)


def wide_table(path: Path) -> int:
    """Zhejiang's counties × 60 indicator columns (2020), values inside every indicator's range."""
    import pandas as pd

    from gis.tables.indicators import registry
    from gis.units.boundaries import load_boundaries

    counties = load_boundaries("330000").counties
    reg = registry()
    names = [n for n in reg.index if not n.startswith(("income_", "ageing_gap"))][:60]
    rng = np.random.default_rng(14)
    frame = pd.DataFrame({"adcode": counties["adcode"].to_numpy()})
    for name in names:
        high = 100.0 if reg.loc[name, "unit"] == "percent" else 500.0
        frame[f"{name}_2024"] = np.round(rng.uniform(1, high, len(frame)), 2)
    frame.to_csv(path, index=False)
    return len(frame) * len(names)


def run_case(path: str, province: str) -> None:
    """(child process) Time reading and joining ``path``; print JSON."""
    import pandas as pd

    from gis.tables.join import load_user_tables
    from gis.units.boundaries import load_boundaries

    boundaries = load_boundaries(province)
    start = time.perf_counter()
    pd.read_csv(path, dtype=str)
    baseline = time.perf_counter() - start
    start = time.perf_counter()
    long, report = load_user_tables([path], boundaries, allow_unmatched=True)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "baseline": baseline, "peak_mb": peak_mb, "values_out": len(long),
                      "rows_in": report.rows_in}))


def child(path: Path, province: str, root: Path) -> dict:
    result = subprocess.run([sys.executable, __file__, "--root", str(root), "--child", str(path), province], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{path.name}: the check failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose gis package is measured (default: this one)")
    args = parser.parse_args()
    sys.path.insert(0, str(args.root))
    if args.child:
        run_case(*args.child)
        return
    with tempfile.TemporaryDirectory() as folder:
        long_path, wide_path = Path(folder) / "long.csv", Path(folder) / "wide.csv"
        rows = long_table(long_path, args.rows)
        cells = wide_table(wide_path)
        for label, path, province, target_s in (
            (f"long, {rows:,} rows, national", long_path, "all", 10.0 if rows >= 1_000_000 else None),
            (f"wide, 90 counties, {cells:,} cells", wide_path, "330000", 1.0),
        ):
            r = child(path, province, args.root)
            target = "" if target_s is None else f"  target < {target_s:g} s: {'met' if r['seconds'] < target_s else 'NOT met'}"
            print(f"{label}: {r['seconds']:.2f} s ({r['seconds'] / r['baseline']:.1f} × read_csv {r['baseline']:.2f} s), "
                  f"{r['seconds'] / r['rows_in'] * 1e6:.1f} µs/row, peak {r['peak_mb']:.0f} MB, {r['values_out']:,} values out{target}")


if __name__ == "__main__":
    main()
