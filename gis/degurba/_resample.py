"""Exact-area resampling of a raster onto the GHSL 1 km grid.

Every source cell's four corners are projected to Mollweide, giving a quadrilateral (straight
edges between the projected corners: adjacent cells share edges, so they tile without gaps);
its intersection area with each 1 km cell it touches is computed in closed form
(:func:`quad_box_overlap`), all cells at once with NumPy. Counts are split in proportion to
those areas (totals preserved exactly, up to rounding, for the part of the source inside the
window), shares are averaged weighted by them.
"""



import numpy as np
from affine import Affine
from pyproj import CRS, Transformer

from gis.degurba.grid import GHSL_CELL_M, GHSL_CRS, GhslWindow, apply_transform

# Cell corners projected per chunk while resampling: bounds memory to a few hundred MB
# whatever the input size.
_POINTS_PER_CHUNK = 1_000_000
# A target cell overlapped by less valid source than this (m²) is nodata: below it the overlap
# is floating-point noise of cells that only touch, which would differ between a whole read and
# a block-by-block one.
_MIN_COVERED_M2 = 1.0
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
    return resample_strips([(values, src_transform)], src_crs, target, how)


def resample_strips(strips, src_crs, target: GhslWindow, how: str = "sum") -> np.ndarray:
    """:func:`resample_to_grid` of a raster given as ``(values, transform)`` pieces (strips of
    rows, each with its own transform), read one at a time: exact overlap is additive over
    source cells, so the result equals that of the whole raster while only one piece is in
    memory."""
    if how not in ("sum", "mean"):
        raise ValueError(f"how must be 'sum' or 'mean', not {how!r}")
    src_crs = CRS.from_user_input(src_crs)
    n_target = target.height * target.width
    weighted = np.zeros(n_target)
    covered = np.zeros(n_target)
    to_ghsl = Transformer.from_crs(src_crs, GHSL_CRS, always_xy=True)
    for values, src_transform in strips:
        _accumulate(values, src_transform, to_ghsl, target, how, weighted, covered)
    with np.errstate(invalid="ignore", divide="ignore"):
        if how == "sum":
            result = np.where(covered > _MIN_COVERED_M2, weighted, np.nan)
        else:
            result = np.where(covered > _MIN_COVERED_M2, weighted / covered, np.nan)
    return result.reshape(target.shape)


def _accumulate(values, src_transform, to_ghsl, target, how, weighted, covered) -> None:
    """Add one piece's overlaps to the running ``weighted`` and ``covered`` sums (flat, target)."""
    height, width = values.shape
    n_target = target.height * target.width
    left, _, _, top = target.bounds
    corner_cols = np.arange(width + 1, dtype="float64")
    rows_per_chunk = max(1, _POINTS_PER_CHUNK // (4 * (width + 1)))
    for row0 in range(0, height, rows_per_chunk):
        chunk = values[row0:row0 + rows_per_chunk]
        valid = np.isfinite(chunk)
        if not valid.any():
            continue
        rows, cols = np.nonzero(valid)
        cell_values = chunk[rows, cols]
        ring = ((rows, cols), (rows, cols + 1), (rows + 1, cols + 1), (rows + 1, cols))
        if 4 * rows.size < chunk.size:
            # Mostly nodata (a sparse file, the sea): project only the valid cells' corners,
            # each once — the same points, so the same coordinates as the whole grid gives.
            ids = np.concatenate([r * (width + 1) + c for r, c in ring])
            unique, inverse = np.unique(ids, return_inverse=True)
            corner_row, corner_col = np.divmod(unique, width + 1)
            x, y = to_ghsl.transform(*apply_transform(src_transform, corner_col.astype("float64"), (corner_row + row0).astype("float64")))
            quad_x, quad_y = x[inverse].reshape(4, -1).T, y[inverse].reshape(4, -1).T
        else:
            # Cell corners of the chunk, projected once each.
            cols_grid, rows_grid = np.meshgrid(corner_cols, np.arange(row0, row0 + chunk.shape[0] + 1, dtype="float64"))
            corner_x, corner_y = to_ghsl.transform(*apply_transform(src_transform, cols_grid, rows_grid))
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
