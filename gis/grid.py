"""The GHSL 1 km grid and bringing rasters onto it.

The Degree of Urbanisation works on 1 km² cells of an equal-area grid. The project's target
grid is GHSL's: **ESRI:54009** (World Mollweide, WGS-84 datum), 1000 m square cells, origin
x = -18 041 000 m, y = 9 000 000 m (the upper-left corner of the global GHS-POP / GHS-SMOD
rasters). A window of that grid is described by a :class:`GhslWindow`; every array in this
module is row-major with row 0 at the top (north), as rasterio reads it.

Rasters in another CRS or resolution are brought onto the grid by **exact area overlap**:
every source cell's four corners are projected to Mollweide, giving a quadrilateral (straight
edges between the projected corners — adjacent cells share edges, so they tile without gaps);
its intersection area with each 1 km cell it touches is computed in closed form
(:func:`quad_box_overlap`), all cells at once with NumPy. Counts are split in proportion to
those areas (totals preserved exactly, up to rounding, for the part of the source inside the
window), shares are averaged weighted by them. A target cell that no valid source cell
overlaps is nodata (NaN); source nodata cells contribute nothing (a coastal 1 km cell half
over sea that WorldPop leaves as nodata keeps the population of its land half).

A raster that already lies on the GHSL grid (ESRI:54009, 1000 m cells aligned with the
origin) is used cell for cell: no resampling at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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

# Cell corners projected per chunk while resampling: bounds memory to a few hundred MB
# whatever the input size.
_POINTS_PER_CHUNK = 1_000_000
# A target cell overlapped by less valid source than this (m²) is nodata: below it the overlap
# is floating-point noise of cells that only touch, which would differ between a whole read and
# a block-by-block one.
_MIN_COVERED_M2 = 1.0
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
    operation = crs.coordinate_operation
    if not crs.is_projected or operation is None or "mollweide" not in operation.method_name.lower():
        return False
    params = {p.name.lower(): p.value for p in operation.params}
    offsets_zero = all(abs(params.get(name, 0.0)) < 1e-9 for name in ("false easting", "false northing", "longitude of natural origin"))
    ellipsoid = crs.ellipsoid
    wgs84 = ellipsoid is not None and abs(ellipsoid.semi_major_metre - 6378137.0) < 1e-3 and abs(ellipsoid.inverse_flattening - 298.257223563) < 1e-6
    metres = crs.axis_info[0].unit_name in ("metre", "meter")
    return offsets_zero and wgs84 and metres


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
    xs, ys = _apply(transform, cols, rows)
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
    ``resampled`` says whether resampling was needed (False: used cell for cell).
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


def _apply(transform: Affine, cols, rows) -> tuple[np.ndarray, np.ndarray]:
    """x, y of pixel coordinates (cols, rows) under an affine transform (arrays)."""
    a, b, c, d, e, f = tuple(transform)[:6]
    return c + a * cols + b * rows, f + d * cols + e * rows


def _ramp_integral(z_start: np.ndarray, z_end: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Integral of max(z, 0) over an interval of ``length`` along which z varies linearly from
    ``z_start`` to ``z_end`` (numerically stable for nearly constant z)."""
    both_positive = (z_start >= 0) & (z_end >= 0)
    straddle = (z_start > 0) != (z_end > 0)
    positive = np.maximum(z_start, 0) + np.maximum(z_end, 0)  # the one positive end when straddling
    spread = np.abs(z_start) + np.abs(z_end)
    with np.errstate(invalid="ignore", divide="ignore"):
        triangle = np.where(spread > 0, length * positive * positive / (2 * spread), 0.0)
    return np.where(both_positive, length * (z_start + z_end) / 2, np.where(straddle & ~both_positive, triangle, 0.0))


def _cross_sections(quad_x: np.ndarray, quad_y: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left and right x of convex quadrilaterals at given heights.

    ``quad_x``/``quad_y``: (n, 4) vertices in ring order; ``levels``: (n, m) heights within
    each quad's y-range. Returns two (n, m) arrays: min and max x where the horizontal line at
    that height meets the quad's edges (vertices included).
    """
    left = np.full(levels.shape, np.inf)
    right = np.full(levels.shape, -np.inf)
    for i in range(4):
        j = (i + 1) % 4
        x0, y0, x1, y1 = (v[:, None] for v in (quad_x[:, i], quad_y[:, i], quad_x[:, j], quad_y[:, j]))
        low, high = np.minimum(y0, y1), np.maximum(y0, y1)
        meets = (levels >= low) & (levels <= high)
        flat = y1 == y0
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(flat, 0.0, (levels - y0) / (y1 - y0))
        x_at = x0 + t * (x1 - x0)
        left = np.where(meets, np.minimum(left, np.where(flat, np.minimum(x0, x1), x_at)), left)
        right = np.where(meets, np.maximum(right, np.where(flat, np.maximum(x0, x1), x_at)), right)
    return left, right


def quad_box_overlap(quad_x, quad_y, box_x0, box_y0, box_x1, box_y1) -> np.ndarray:
    """Exact area of the intersection of convex quadrilaterals with axis-aligned boxes.

    Each quad (row of the (n, 4) vertex arrays) is cut into the horizontal slabs between its
    sorted vertex heights; in a slab its cross-section [p(y), q(y)] is linear in y, and the
    length of [p, q] ∩ [X0, X1] is R(q-X0) - R(p-X0) - R(q-X1) + R(p-X1) with R(z) = max(z, 0),
    whose integral over the slab has a closed form. Fully vectorised; arrays of length n.
    """
    return slabs_box_overlap(*quad_slabs(quad_x, quad_y), box_x0, box_y0, box_x1, box_y1)


def quad_slabs(quad_x: np.ndarray, quad_y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted vertex heights (n, 4) of convex quads and their cross-sections there."""
    levels = np.sort(quad_y, axis=1)
    left, right = _cross_sections(quad_x, quad_y, levels)
    return levels, left, right


def slabs_box_overlap(levels, left, right, box_x0, box_y0, box_x1, box_y1) -> np.ndarray:
    """Intersection areas of quads given by :func:`quad_slabs` with boxes (see
    :func:`quad_box_overlap`)."""
    area = np.zeros(len(levels))
    for k in range(3):
        y_low, y_high = levels[:, k], levels[:, k + 1]
        clip_low = np.maximum(y_low, box_y0)
        clip_high = np.minimum(y_high, box_y1)
        height = y_high - y_low
        use = (clip_high > clip_low) & (height > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            t0 = np.where(use, (clip_low - y_low) / height, 0.0)
            t1 = np.where(use, (clip_high - y_low) / height, 0.0)
        p0 = left[:, k] + t0 * (left[:, k + 1] - left[:, k])
        p1 = left[:, k] + t1 * (left[:, k + 1] - left[:, k])
        q0 = right[:, k] + t0 * (right[:, k + 1] - right[:, k])
        q1 = right[:, k] + t1 * (right[:, k + 1] - right[:, k])
        length = np.where(use, clip_high - clip_low, 0.0)
        slab = (
            _ramp_integral(q0 - box_x0, q1 - box_x0, length)
            - _ramp_integral(p0 - box_x0, p1 - box_x0, length)
            - _ramp_integral(q0 - box_x1, q1 - box_x1, length)
            + _ramp_integral(p0 - box_x1, p1 - box_x1, length)
        )
        area += np.where(use, slab, 0.0)
    return area


def resample_to_grid(
    values: np.ndarray,
    src_transform: Affine,
    src_crs,
    target: GhslWindow,
    how: str = "sum",
) -> np.ndarray:
    """Bring a raster onto a GHSL window by exact area overlap (see the module docstring).

    Parameters
    ----------
    values
        Source raster (2-D, float, NaN = nodata) in ``src_crs`` with ``src_transform``.
    target
        The GHSL window to fill.
    how
        ``"sum"`` for counts: each source cell's value is split among the 1 km cells in
        proportion to the overlap area (totals preserved); ``"mean"`` for shares and other
        intensive values: overlap-area-weighted mean of the valid source cells.

    Returns float64 of ``target.shape``; NaN where no valid source cell overlaps.
    """
    if how not in ("sum", "mean"):
        raise ValueError(f"how must be 'sum' or 'mean', not {how!r}")
    src_crs = CRS.from_user_input(src_crs)
    height, width = values.shape
    n_target = target.height * target.width
    weighted = np.zeros(n_target)
    covered = np.zeros(n_target)
    to_ghsl = Transformer.from_crs(src_crs, GHSL_CRS, always_xy=True)
    left, _, _, top = target.bounds
    corner_cols = np.arange(width + 1, dtype="float64")
    rows_per_chunk = max(1, _POINTS_PER_CHUNK // (4 * (width + 1)))
    for row0 in range(0, height, rows_per_chunk):
        chunk = values[row0:row0 + rows_per_chunk]
        valid = np.isfinite(chunk)
        if not valid.any():
            continue
        # Cell corners of the chunk, projected once each.
        cols_grid, rows_grid = np.meshgrid(corner_cols, np.arange(row0, row0 + chunk.shape[0] + 1, dtype="float64"))
        corner_x, corner_y = to_ghsl.transform(*_apply(src_transform, cols_grid, rows_grid))
        rows, cols = np.nonzero(valid)
        cell_values = chunk[rows, cols]
        ring = ((rows, cols), (rows, cols + 1), (rows + 1, cols + 1), (rows + 1, cols))
        quad_x = np.column_stack([corner_x[r, c] for r, c in ring])
        quad_y = np.column_stack([corner_y[r, c] for r, c in ring])
        good = np.isfinite(quad_x).all(axis=1) & np.isfinite(quad_y).all(axis=1)
        quad_x, quad_y, cell_values = quad_x[good], quad_y[good], cell_values[good]
        # 1 km cells each quad's bounding box touches (candidate pairs).
        col_first = np.floor((quad_x.min(axis=1) - left) / GHSL_CELL_M).astype(np.int64)
        col_last = np.floor((quad_x.max(axis=1) - left) / GHSL_CELL_M).astype(np.int64)
        row_first = np.floor((top - quad_y.max(axis=1)) / GHSL_CELL_M).astype(np.int64)
        row_last = np.floor((top - quad_y.min(axis=1)) / GHSL_CELL_M).astype(np.int64)
        # A quad whose bounding box lies in a single 1 km cell overlaps it entirely.
        single = (col_first == col_last) & (row_first == row_last)
        col_first, row_first = np.maximum(col_first, 0), np.maximum(row_first, 0)
        col_last, row_last = np.minimum(col_last, target.width - 1), np.minimum(row_last, target.height - 1)
        n_cols = np.maximum(col_last - col_first + 1, 0)
        n_rows = np.maximum(row_last - row_first + 1, 0)
        pairs = n_cols * n_rows
        quad_of_pair = np.repeat(np.arange(len(pairs)), pairs)
        rank = np.arange(pairs.sum()) - np.repeat(np.cumsum(pairs) - pairs, pairs)
        pair_cols = col_first[quad_of_pair] + rank % n_cols[quad_of_pair]
        pair_rows = row_first[quad_of_pair] + rank // n_cols[quad_of_pair]
        quad_area = 0.5 * np.abs(
            sum(quad_x[:, i] * quad_y[:, (i + 1) % 4] - quad_x[:, (i + 1) % 4] * quad_y[:, i] for i in range(4))
        )
        overlap = quad_area[quad_of_pair]
        split = ~single[quad_of_pair]
        if split.any():
            split_quads = ~single
            position = np.cumsum(split_quads) - 1  # index of a split quad among the split quads
            levels, left_x, right_x = quad_slabs(quad_x[split_quads], quad_y[split_quads])
            which = position[quad_of_pair[split]]
            box_x0 = left + pair_cols[split] * GHSL_CELL_M
            box_y1 = top - pair_rows[split] * GHSL_CELL_M
            overlap[split] = slabs_box_overlap(
                levels[which], left_x[which], right_x[which],
                box_x0, box_y1 - GHSL_CELL_M, box_x0 + GHSL_CELL_M, box_y1,
            )
        flat = pair_rows * target.width + pair_cols
        if how == "sum":
            with np.errstate(invalid="ignore", divide="ignore"):
                share = np.where(quad_area[quad_of_pair] > 0, overlap / quad_area[quad_of_pair], 0.0)
            weighted += np.bincount(flat, weights=share * cell_values[quad_of_pair], minlength=n_target)
        else:
            weighted += np.bincount(flat, weights=overlap * cell_values[quad_of_pair], minlength=n_target)
        covered += np.bincount(flat, weights=overlap, minlength=n_target)
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "sum":
            result = np.where(covered > _MIN_COVERED_M2, weighted, np.nan)
        else:
            result = np.where(covered > _MIN_COVERED_M2, weighted / covered, np.nan)
    return result.reshape(target.shape)


def _check_not_negative(values: np.ndarray, path, transform: Affine) -> None:
    negative = values < 0  # NaN compares False
    count = int(np.count_nonzero(negative))
    if count:
        rows, cols = np.nonzero(negative)
        where = []
        for row, col in zip(rows[:3], cols[:3]):
            x, y = _apply(transform, col + 0.5, row + 0.5)
            where.append(f"row {row} col {col} (x {x:.6g}, y {y:.6g}): {values[row, col]:g}")
        raise GisError(
            f"{path}: {count} cell(s) have negative population, e.g. {'; '.join(where)}; "
            "expected counts or densities >= 0 (use the file's nodata value for missing data)"
        )


def _whole_window(dataset, path) -> GhslWindow:
    """The GHSL window covering a whole raster (its own, if it lies on the grid)."""
    if dataset.crs is None:
        raise GisError(f"{path}: the raster has no CRS; expected a georeferenced raster (e.g. EPSG:4326 or ESRI:54009)")
    if is_ghsl_crs(dataset.crs) and is_ghsl_transform(dataset.transform):
        return GhslWindow.from_transform(dataset.transform, dataset.shape)
    return snap_bounds(dataset.bounds, dataset.crs)


def _read_onto(path, target: GhslWindow | None, how: str, values_kind: str, outside_is_error: bool = True) -> GridLayer:
    """Read band 1 of ``path`` onto ``target`` (or the window covering the whole file). A
    target the file does not reach is an error, or all nodata if not ``outside_is_error``."""
    with _open(path) as dataset:
        if target is None:
            target = _whole_window(dataset, path)
        on_grid = is_ghsl_crs(dataset.crs) and is_ghsl_transform(dataset.transform)
        if on_grid:
            # Cell for cell: just a (boundless) window of the file.
            own = GhslWindow.from_transform(dataset.transform, dataset.shape)
            window = Window(target.col_off - own.col_off, target.row_off - own.row_off, target.width, target.height)
            values = _read_masked(dataset, window)
            src_transform = target.transform
        else:
            window = _source_window(dataset, target)
            if window.width == 0 or window.height == 0:
                if not outside_is_error:
                    return GridLayer(np.full(target.shape, np.nan), target, str(path), resampled=True)
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
    return GridLayer(resample_to_grid(values, src_transform, src_crs, target, how), target, str(path), True)


def read_population(
    path,
    window: GhslWindow | None = None,
    values: str = "counts",
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

    Returns a :class:`GridLayer` of counts (persons per 1 km cell, NaN = nodata). A raster
    already on the GHSL grid is used cell for cell. Negative values raise :class:`GisError`
    naming how many cells and where.
    """
    return _read_onto(path, window, "sum", values)


def read_share(path, window: GhslWindow) -> GridLayer:
    """Read a share raster (land or built-up share, 0..1) onto ``window``, averaging."""
    return _read_onto(path, window, "mean", "share")


def _lazy_onto(path, window: GhslWindow | None, chunk: int, read) -> tuple:
    """(dask array, window): ``read(path, block)`` over the blocks of ``window`` (``chunk`` cells a
    side): each block is read (and, off the grid, resampled) only when a task needs it."""
    import dask
    import dask.array as da

    if window is None:
        with _open(path) as dataset:
            window = _whole_window(dataset, path)
    rows = [(start, min(chunk, window.height - start)) for start in range(0, window.height, chunk)]
    cols = [(start, min(chunk, window.width - start)) for start in range(0, window.width, chunk)]
    blocks = [
        [
            da.from_delayed(
                dask.delayed(read)(path, GhslWindow(window.row_off + r0, window.col_off + c0, height, width)),
                shape=(height, width), dtype=np.float64,
            )
            for c0, width in cols
        ]
        for r0, height in rows
    ]
    return da.block(blocks), window


def _population_block(path, window: GhslWindow, values: str) -> np.ndarray:
    # A block of the covering rectangle the (curved) footprint of the file misses is nodata.
    return _read_onto(path, window, "sum", values, outside_is_error=False).values


def _share_block(path, window: GhslWindow) -> np.ndarray:
    return _read_onto(path, window, "mean", "share", outside_is_error=False).values


def read_population_chunked(path, window: GhslWindow | None = None, values: str = "counts", chunk: int = 2048):
    """:func:`read_population` for rasters larger than memory: a lazy dask array (float64,
    NaN = nodata, ``chunk`` × ``chunk`` cells of the GHSL grid) and its window.

    Each block reads only the part of the file it covers (plus one source cell) and, when the
    file is not on the GHSL grid, splits source cells by exact area overlap as
    :func:`resample_to_grid` does, so a source cell on a block border is shared between the
    blocks in proportion and totals are preserved. Negative values raise :class:`GisError`
    when the block holding them is read.
    """
    from functools import partial

    return _lazy_onto(path, window, chunk, partial(_population_block, values=values))


def read_share_chunked(path, window: GhslWindow, chunk: int = 2048):
    """:func:`read_share` as a lazy dask array on ``window`` (see :func:`read_population_chunked`)."""
    return _lazy_onto(path, window, chunk, _share_block)[0]
