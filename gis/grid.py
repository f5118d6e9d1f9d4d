"""The GHSL 1 km grid and bringing rasters onto it.

The Degree of Urbanisation works on 1 km² cells of an equal-area grid. The project's target
grid is GHSL's: **ESRI:54009** (World Mollweide, WGS-84 datum), 1000 m square cells, origin
x = -18 041 000 m, y = 9 000 000 m (the upper-left corner of the global GHS-POP / GHS-SMOD
rasters). A window of that grid is described by a :class:`GhslWindow`; every array in this
module is row-major with row 0 at the top (north), as rasterio reads it.

Rasters in another CRS or resolution are brought onto the grid by **sub-cell binning**:
each source cell is split into ``k × k`` equal sub-cells (``k`` chosen so that a sub-cell is
at most ``subcell_m`` metres across, 250 m by default), every sub-cell centre is projected to
Mollweide and the sub-cell's share (1/k² of the cell's count) is added to the 1 km cell that
contains it (``np.bincount``). Population totals are preserved exactly (every sub-cell lands in
one target cell); only the split of a source cell between the target cells it straddles is
approximated, to within one sub-cell strip. Shares (land, built-up) are averaged the same way.
A target cell that receives no valid sub-cell is nodata (NaN).

A raster that already lies on the GHSL grid (ESRI:54009, 1000 m cells aligned with the
origin) is used cell for cell: no resampling at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from gis.errors import GisError

#: World Mollweide, the CRS of the GHSL grids.
GHSL_CRS = CRS.from_string("ESRI:54009")
#: Cell size of the GHSL 1 km grid, metres.
GHSL_CELL_M = 1000.0
#: Upper-left corner of the global GHSL grid, metres in ESRI:54009.
GHSL_ORIGIN_X = -18_041_000.0
GHSL_ORIGIN_Y = 9_000_000.0

#: Largest sub-cell edge (metres) used when binning a foreign raster onto the grid.
DEFAULT_SUBCELL_M = 250.0

# Points projected per chunk while binning: bounds memory to ~100 MB whatever the input size.
_POINTS_PER_CHUNK = 2_000_000
# Misalignment tolerated (as a fraction of a cell) when deciding a raster is on the grid.
_ALIGN_TOLERANCE = 1e-6


@dataclass(frozen=True)
class GhslWindow:
    """A rectangular window of the GHSL 1 km grid.

    ``col_off`` / ``row_off`` count cells from the global origin (x = -18 041 000 m,
    y = 9 000 000 m, ESRI:54009); ``height`` × ``width`` is the window's shape.
    """

    row_off: int
    col_off: int
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def transform(self) -> Affine:
        """Affine transform of the window in ESRI:54009 metres."""
        return Affine(
            GHSL_CELL_M, 0.0, GHSL_ORIGIN_X + self.col_off * GHSL_CELL_M,
            0.0, -GHSL_CELL_M, GHSL_ORIGIN_Y - self.row_off * GHSL_CELL_M,
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in ESRI:54009 metres."""
        left = GHSL_ORIGIN_X + self.col_off * GHSL_CELL_M
        top = GHSL_ORIGIN_Y - self.row_off * GHSL_CELL_M
        return (left, top - self.height * GHSL_CELL_M, left + self.width * GHSL_CELL_M, top)

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y (ESRI:54009 metres) of every cell centre, each of shape ``self.shape``."""
        left, _, _, top = self.bounds
        xs = left + (np.arange(self.width) + 0.5) * GHSL_CELL_M
        ys = top - (np.arange(self.height) + 0.5) * GHSL_CELL_M
        return np.meshgrid(xs, ys)

    @classmethod
    def from_transform(cls, transform: Affine, shape: tuple[int, int]) -> "GhslWindow":
        """The window a GHSL-aligned transform and shape describe (raises if not aligned)."""
        if not is_ghsl_transform(transform):
            raise GisError(f"transform {tuple(transform)[:6]} is not on the GHSL 1 km grid")
        col_off = round((transform.c - GHSL_ORIGIN_X) / GHSL_CELL_M)
        row_off = round((GHSL_ORIGIN_Y - transform.f) / GHSL_CELL_M)
        return cls(int(row_off), int(col_off), int(shape[0]), int(shape[1]))


def snap_bounds(bounds: tuple[float, float, float, float], crs=GHSL_CRS) -> GhslWindow:
    """The smallest GHSL window covering ``bounds`` (left, bottom, right, top) given in ``crs``.

    Bounds in another CRS are first transformed to ESRI:54009 with densified edges, so the
    window covers the whole (curved) footprint.
    """
    crs = CRS.from_user_input(crs)
    if not crs.equals(GHSL_CRS):
        bounds = transform_bounds(crs, GHSL_CRS, *bounds, densify_pts=101)
    left, bottom, right, top = bounds
    if not (left < right and bottom < top):
        raise GisError(f"empty bounding box {bounds}: expected left < right and bottom < top")
    col_start = math.floor((left - GHSL_ORIGIN_X) / GHSL_CELL_M)
    col_stop = math.ceil((right - GHSL_ORIGIN_X) / GHSL_CELL_M)
    row_start = math.floor((GHSL_ORIGIN_Y - top) / GHSL_CELL_M)
    row_stop = math.ceil((GHSL_ORIGIN_Y - bottom) / GHSL_CELL_M)
    return GhslWindow(row_start, col_start, row_stop - row_start, col_stop - col_start)


def buffer_window(window: GhslWindow, cells: int) -> GhslWindow:
    """``window`` grown by ``cells`` on every side."""
    return GhslWindow(
        window.row_off - cells, window.col_off - cells, window.height + 2 * cells, window.width + 2 * cells
    )


def is_ghsl_crs(crs) -> bool:
    """True if ``crs`` is World Mollweide on WGS-84 in metres (ESRI:54009, however spelled)."""
    if crs is None:
        return False
    crs = CRS.from_user_input(crs)
    if crs.equals(GHSL_CRS, ignore_axis_order=True):
        return True
    params = crs.to_dict()
    return (
        params.get("proj") == "moll"
        and float(params.get("lon_0", 0)) == 0
        and float(params.get("x_0", 0)) == 0
        and float(params.get("y_0", 0)) == 0
        and (params.get("datum") == "WGS84" or params.get("ellps") == "WGS84")
        and params.get("units", "m") == "m"
    )


def is_ghsl_transform(transform: Affine) -> bool:
    """True if ``transform`` has 1000 m north-up cells aligned with the GHSL origin."""
    a, b, c, d, e, f = tuple(transform)[:6]
    if b != 0 or d != 0 or abs(a - GHSL_CELL_M) > 1e-6 or abs(e + GHSL_CELL_M) > 1e-6:
        return False
    col = (c - GHSL_ORIGIN_X) / GHSL_CELL_M
    row = (GHSL_ORIGIN_Y - f) / GHSL_CELL_M
    return abs(col - round(col)) < _ALIGN_TOLERANCE and abs(row - round(row)) < _ALIGN_TOLERANCE


def cell_areas_km2(transform: Affine, shape: tuple[int, int], crs) -> np.ndarray:
    """True (ellipsoidal) area in km² of every cell of a raster grid, shape ``shape``.

    Cell corners are projected to a Lambert azimuthal equal-area projection on the WGS-84
    ellipsoid centred on the grid, where the shoelace formula gives the area. (Mollweide in
    PROJ is spherical, so a GHSL "1 km²" cell is really 0.99–1.0 km² in China.)
    """
    height, width = shape
    crs = CRS.from_user_input(crs)
    cols, rows = np.meshgrid(np.arange(width + 1, dtype="float64"), np.arange(height + 1, dtype="float64"))
    xs, ys = transform * (cols, rows)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(xs, ys)
    laea = CRS.from_proj4(
        f"+proj=laea +lat_0={float(np.nanmean(lat))} +lon_0={float(np.nanmean(lon))} +ellps=WGS84 +units=m"
    )
    px, py = Transformer.from_crs("EPSG:4326", laea, always_xy=True).transform(lon, lat)
    # Shoelace over the four corners (ul, ur, lr, ll) of every cell at once.
    corners_x = (px[:-1, :-1], px[:-1, 1:], px[1:, 1:], px[1:, :-1])
    corners_y = (py[:-1, :-1], py[:-1, 1:], py[1:, 1:], py[1:, :-1])
    twice_area = np.zeros((height, width))
    for i in range(4):
        j = (i + 1) % 4
        twice_area += corners_x[i] * corners_y[j] - corners_x[j] * corners_y[i]
    return np.abs(twice_area) / 2.0 / 1e6


@dataclass(frozen=True)
class GridLayer:
    """One raster on a GHSL window.

    ``values`` is float64 of shape ``window.shape`` with NaN as nodata. For population it holds
    counts (persons per cell); for shares, fractions 0..1. ``source`` names the input file and
    ``resampled`` says whether sub-cell binning was needed (False: used cell for cell).
    """

    values: np.ndarray
    window: GhslWindow
    source: str
    resampled: bool

    @property
    def transform(self) -> Affine:
        return self.window.transform

    @property
    def total(self) -> float:
        """Sum of the valid values (total population for a population layer)."""
        return float(np.nansum(self.values))


def _open(path) -> rasterio.DatasetReader:
    try:
        return rasterio.open(path)
    except RasterioIOError as error:
        raise GisError(f"{path}: cannot read as a raster ({error}); expected a GeoTIFF or other GDAL raster") from None


def _read_masked(dataset, window: Window | None = None) -> np.ndarray:
    """Band 1 as float64 with NaN wherever the file says nodata (or NaN)."""
    data = dataset.read(1, window=window, masked=True, boundless=window is not None, fill_value=dataset.nodata)
    values = np.ma.filled(data.astype("float64"), np.nan)
    return values


def _source_window(dataset, target: GhslWindow) -> Window:
    """The window of ``dataset`` covering ``target`` (plus one cell), clipped to the dataset."""
    bounds = transform_bounds(GHSL_CRS, dataset.crs, *target.bounds, densify_pts=101)
    window = from_bounds(*bounds, transform=dataset.transform)
    col0 = max(math.floor(window.col_off) - 1, 0)
    row0 = max(math.floor(window.row_off) - 1, 0)
    col1 = min(math.ceil(window.col_off + window.width) + 1, dataset.width)
    row1 = min(math.ceil(window.row_off + window.height) + 1, dataset.height)
    return Window(col0, row0, max(col1 - col0, 0), max(row1 - row0, 0))


def _subcells_per_side(transform: Affine, crs: CRS, subcell_m: float) -> int:
    """How many sub-cells per source cell edge keep sub-cells under ``subcell_m`` metres."""
    size = max(abs(transform.a), abs(transform.e), abs(transform.b), abs(transform.d))
    if crs.is_geographic:
        size *= 111_320.0  # metres per degree of latitude (and at most per degree of longitude)
    return max(1, math.ceil(size / subcell_m - 1e-9))


def bin_to_grid(
    values: np.ndarray,
    src_transform: Affine,
    src_crs,
    target: GhslWindow,
    how: str = "sum",
    subcell_m: float = DEFAULT_SUBCELL_M,
) -> np.ndarray:
    """Bring a raster onto a GHSL window by sub-cell binning (see the module docstring).

    Parameters
    ----------
    values
        Source raster (2-D, float, NaN = nodata) in ``src_crs`` with ``src_transform``.
    target
        The GHSL window to fill.
    how
        ``"sum"`` for counts (each sub-cell carries 1/k² of its cell's value; totals are
        preserved) or ``"mean"`` for shares and other intensive values (average of the valid
        sub-cells falling in each target cell).
    subcell_m
        Largest sub-cell edge in metres.

    Returns float64 of ``target.shape``; NaN where no valid sub-cell fell.
    """
    src_crs = CRS.from_user_input(src_crs)
    k = _subcells_per_side(src_transform, src_crs, subcell_m)
    height, width = values.shape
    n_target = target.height * target.width
    weighted = np.zeros(n_target)
    valid_hits = np.zeros(n_target)
    to_ghsl = Transformer.from_crs(src_crs, GHSL_CRS, always_xy=True)
    offsets = (np.arange(k) + 0.5) / k
    sub_dc, sub_dr = np.meshgrid(offsets, offsets)
    sub_dc, sub_dr = sub_dc.ravel(), sub_dr.ravel()
    left, _, _, top = target.bounds
    rows_per_chunk = max(1, _POINTS_PER_CHUNK // max(1, width * k * k))
    for row0 in range(0, height, rows_per_chunk):
        chunk = values[row0:row0 + rows_per_chunk]
        valid = np.isfinite(chunk)
        if not valid.any():
            continue
        rows, cols = np.nonzero(valid)
        cell_values = chunk[rows, cols]
        # Every valid cell's k*k sub-cell centres, in source pixel coordinates.
        sub_cols = (cols[:, None] + sub_dc[None, :]).ravel()
        sub_rows = (rows[:, None] + row0 + sub_dr[None, :]).ravel()
        xs, ys = src_transform * (sub_cols, sub_rows)
        gx, gy = to_ghsl.transform(xs, ys)
        target_col = np.floor((gx - left) / GHSL_CELL_M)
        target_row = np.floor((top - gy) / GHSL_CELL_M)
        inside = (
            (target_col >= 0) & (target_col < target.width) & (target_row >= 0) & (target_row < target.height)
        )
        flat = (target_row[inside] * target.width + target_col[inside]).astype(np.int64)
        share = np.repeat(cell_values, k * k)[inside]
        if how == "sum":
            share = share / (k * k)
        weighted += np.bincount(flat, weights=share, minlength=n_target)
        valid_hits += np.bincount(flat, minlength=n_target)
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "sum":
            result = np.where(valid_hits > 0, weighted, np.nan)
        elif how == "mean":
            result = weighted / valid_hits
        else:
            raise ValueError(f"how must be 'sum' or 'mean', not {how!r}")
    return result.reshape(target.shape)


def _check_not_negative(values: np.ndarray, path, transform: Affine) -> None:
    negative = values < 0  # NaN compares False
    count = int(np.count_nonzero(negative))
    if count:
        rows, cols = np.nonzero(negative)
        where = []
        for row, col in zip(rows[:3], cols[:3]):
            x, y = transform * (col + 0.5, row + 0.5)
            where.append(f"row {row} col {col} (x {x:.6g}, y {y:.6g}): {values[row, col]:g}")
        raise GisError(
            f"{path}: {count} cell(s) have negative population, e.g. {'; '.join(where)}; "
            "expected counts or densities >= 0 (use the file's nodata value for missing data)"
        )


def _read_onto(path, target: GhslWindow | None, how: str, values_kind: str, subcell_m: float) -> GridLayer:
    """Read band 1 of ``path`` onto ``target`` (or the window covering the whole file)."""
    with _open(path) as dataset:
        if dataset.crs is None:
            raise GisError(f"{path}: the raster has no CRS; expected a georeferenced raster (e.g. EPSG:4326 or ESRI:54009)")
        on_grid = is_ghsl_crs(dataset.crs) and is_ghsl_transform(dataset.transform)
        if target is None:
            target = (
                GhslWindow.from_transform(dataset.transform, dataset.shape)
                if on_grid
                else snap_bounds(dataset.bounds, dataset.crs)
            )
        if on_grid:
            # Cell for cell: just a (boundless) window of the file.
            own = GhslWindow.from_transform(dataset.transform, dataset.shape)
            window = Window(target.col_off - own.col_off, target.row_off - own.row_off, target.width, target.height)
            values = _read_masked(dataset, window)
            src_transform = target.transform
        else:
            window = _source_window(dataset, target)
            if window.width == 0 or window.height == 0:
                raise GisError(f"{path}: the raster does not overlap the area asked for ({target.bounds}, ESRI:54009)")
            values = _read_masked(dataset, window)
            src_transform = dataset.window_transform(window)
        src_crs = dataset.crs
    if how == "sum":
        _check_not_negative(values, path, src_transform)
        if values_kind == "density":
            values = values * cell_areas_km2(src_transform, values.shape, src_crs)
        elif values_kind != "counts":
            raise GisError(f"values must be 'counts' or 'density' (persons/km²), not {values_kind!r}")
    else:
        finite = values[np.isfinite(values)]
        if finite.size and (finite.min() < 0 or finite.max() > 1):
            raise GisError(
                f"{path}: values from {finite.min():g} to {finite.max():g}; expected shares between 0 and 1"
            )
    if on_grid:
        return GridLayer(values, target, str(path), resampled=False)
    return GridLayer(bin_to_grid(values, src_transform, src_crs, target, how, subcell_m), target, str(path), True)


def read_population(
    path,
    window: GhslWindow | None = None,
    values: str = "counts",
    subcell_m: float = DEFAULT_SUBCELL_M,
) -> GridLayer:
    """Read a population raster onto the GHSL 1 km grid, preserving totals.

    Parameters
    ----------
    path
        GeoTIFF (or any GDAL raster) in any CRS and resolution; band 1 is used, its nodata
        value (and NaN) mean "no data".
    window
        GHSL window to fill; default: the window covering the whole raster.
    values
        ``"counts"`` (persons per cell, the default) or ``"density"`` (persons per km²;
        multiplied by each source cell's true ellipsoidal area to get counts).
    subcell_m
        Sub-cell size for binning foreign grids (see :func:`bin_to_grid`).

    Returns a :class:`GridLayer` of counts (persons per 1 km cell, NaN = nodata). A raster
    already on the GHSL grid is used cell for cell. Negative values raise :class:`GisError`
    naming how many cells and where.
    """
    return _read_onto(path, window, "sum", values, subcell_m)


def read_share(path, window: GhslWindow, subcell_m: float = DEFAULT_SUBCELL_M) -> GridLayer:
    """Read a share raster (land or built-up share, 0..1) onto ``window``, averaging."""
    return _read_onto(path, window, "mean", "share", subcell_m)
