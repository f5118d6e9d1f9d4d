"""What changing a rule does: change matrices between two Degree of Urbanisation results.

:func:`cell_change_matrix` counts the 1 km cells of two Level 2 class grids (GHSL grid,
ESRI:54009, same window) by their class in each; :func:`unit_change_matrix` does the same for
units classified (Stage II) from each grid. :func:`write_comparison` writes them as CSV (UTF-8
with BOM, so Excel opens the Chinese names) and one small offline HTML page with every text
escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gis._files import write_csv, write_text_atomic
from gis.degurba.classify import L2_NAMES, NODATA
from gis.degurba.rasters import ClassGrid
from gis.degurba.zonal import UNIT_L2_NAMES
from gis.errors import GisError

#: Rows and columns of the cell matrix, densest first, then no data.
CELL_CODES = (*L2_NAMES, NODATA)
#: Rows and columns of the unit matrix (Level 2 unit classes).
UNIT_CODES = tuple(UNIT_L2_NAMES)


def _label(code: int, names: dict[int, str]) -> str:
    return f"{code} {names.get(code, 'no data')}"


def cell_change_matrix(first: ClassGrid, second: ClassGrid) -> pd.DataFrame:
    """Cells (1 km², counts) by Level 2 class in ``first`` (rows) and ``second`` (columns).

    Both grids must lie on the same window of the GHSL grid. Every code of
    :data:`CELL_CODES` has a row and a column (zeros included), so matrices of different runs
    line up. Raises :class:`GisError` when the windows differ.
    """
    if first.window != second.window:
        raise GisError(
            f"the two class grids cover different windows of the GHSL grid ({first.window} vs {second.window}); "
            "classify both from the same population raster"
        )
    lookup = np.full(256, len(CELL_CODES), dtype=np.int64)  # unknown codes cannot occur (read checks)
    lookup[list(CELL_CODES)] = np.arange(len(CELL_CODES))
    n = len(CELL_CODES)
    pairs = lookup[first.codes.ravel()] * n + lookup[second.codes.ravel()]
    counts = np.bincount(pairs, minlength=n * n)[: n * n].reshape(n, n)
    labels = [_label(c, L2_NAMES) for c in CELL_CODES]
    return pd.DataFrame(counts, index=pd.Index(labels, name="A \\ B"), columns=labels)


def unit_change_matrix(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Units by Level 2 unit class from ``first`` (rows) and ``second`` (columns): two Stage II
    frames of the same units in the same order (``degurba_l2`` column)."""
    if len(first) != len(second):
        raise GisError(f"unit results differ in length ({len(first)} vs {len(second)})")
    labels = [_label(c, UNIT_L2_NAMES) for c in UNIT_CODES]
    a = pd.Categorical(first["degurba_l2"].map(lambda c: _label(int(c), UNIT_L2_NAMES)), categories=labels)
    b = pd.Categorical(second["degurba_l2"].map(lambda c: _label(int(c), UNIT_L2_NAMES)), categories=labels)
    matrix = pd.crosstab(a, b, dropna=False).reindex(index=labels, columns=labels, fill_value=0)
    matrix.index.name, matrix.columns.name = "A \\ B", None
    return matrix


def unit_changes(units: pd.DataFrame, first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """One row per unit: ``adcode`` / ``name`` when present, Level 1 and 2 classes under A and
    B, and ``changed`` (Level 2 differs)."""
    frame = pd.DataFrame({c: units[c].to_numpy() for c in ("adcode", "name") if c in units.columns})
    for tag, result in (("a", first), ("b", second)):
        frame[f"degurba_l1_{tag}"] = result["degurba_l1"].to_numpy()
        frame[f"degurba_l2_{tag}"] = result["degurba_l2"].to_numpy()
    frame["changed"] = frame["degurba_l2_a"] != frame["degurba_l2_b"]
    return frame


@dataclass(frozen=True)
class Comparison:
    """Two Degree of Urbanisation results side by side. ``labels`` name A and B (file names
    and the rules each records); ``units`` is None without units."""

    labels: tuple[str, str]
    cells: pd.DataFrame
    units: pd.DataFrame | None = None
    unit_rows: pd.DataFrame | None = None


def _html_table(frame: pd.DataFrame, index: bool = True) -> str:
    """A plain HTML table of ``frame``, every text escaped; diagonal cells (no change) marked."""
    rows = ['<table><thead><tr>']
    if index:
        rows.append(f"<th>{html.escape(str(frame.index.name or ''))}</th>")
    rows += [f"<th>{html.escape(str(c))}</th>" for c in frame.columns]
    rows.append("</tr></thead><tbody>")
    for i, (label, values) in enumerate(frame.iterrows()):
        rows.append("<tr>")
        if index:
            rows.append(f"<th>{html.escape(str(label))}</th>")
        for j, value in enumerate(values):
            same = ' class="same"' if index and i == j and frame.shape[0] == frame.shape[1] else ""
            rows.append(f"<td{same}>{html.escape(str(value))}</td>")
        rows.append("</tr>")
    rows.append("</tbody></table>")
    return "".join(rows)


def _summary(matrix: pd.DataFrame, what: str) -> str:
    values = matrix.to_numpy()
    total, same = int(values.sum()), int(np.trace(values))
    share = 100.0 * (total - same) / total if total else 0.0
    return f"{total - same} of {total} {what} change class ({share:.1f} %)"


def write_comparison(comparison: Comparison, out_dir: Path) -> list[Path]:
    """Write ``cell_changes.csv``, with units ``unit_changes.csv`` (matrix) and
    ``unit_classes.csv`` (one row per unit), and ``compare.html`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_csv(comparison.cells, out_dir / "cell_changes.csv", index=True)]
    label_a, label_b = (html.escape(text) for text in comparison.labels)
    body = [
        "<h1>城市化程度比较 Degree of Urbanisation compared</h1>",
        f"<p><b>A</b>: {label_a}<br><b>B</b>: {label_b}</p>",
        "<h2>1 公里格网 Grid cells (rows A, columns B; counts of 1 km² cells)</h2>",
        f"<p>{html.escape(_summary(comparison.cells, 'cells'))}</p>",
        _html_table(comparison.cells),
    ]
    if comparison.units is not None:
        written.append(write_csv(comparison.units, out_dir / "unit_changes.csv", index=True))
        written.append(write_csv(comparison.unit_rows, out_dir / "unit_classes.csv", index=False))
        changed = comparison.unit_rows[comparison.unit_rows["changed"]]
        body += [
            "<h2>单元 Units, Level 2 (rows A, columns B; counts of units)</h2>",
            f"<p>{html.escape(_summary(comparison.units, 'units'))}</p>",
            _html_table(comparison.units),
            "<h2>改变分级的单元 Units that change class</h2>",
            _html_table(changed, index=False) if len(changed) else "<p>无 none</p>",
        ]
    page = (
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
        "<title>城市化程度比较 Degree of Urbanisation compared</title>"
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:.5em 0}"
        "th,td{border:1px solid #bbb;padding:2px 6px;text-align:right}th{background:#f3f3f3}"
        "td.same{background:#e8f0e0}</style></head><body>" + "".join(body) + "</body></html>\n"
    )
    written.append(write_text_atomic(out_dir / "compare.html", page))
    return written
