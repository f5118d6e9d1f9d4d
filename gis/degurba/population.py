"""Reading population, land and built-up rasters onto the GHSL 1 km grid.

Any raster (GHS-POP, WorldPop; any CRS and resolution) is read with rasterio and brought onto a
:class:`~gis.degurba.grid.GhslWindow` by exact area overlap (:mod:`gis.degurba._resample`); one
already on the grid is used cell for cell. ``*_chunked`` readers give dask arrays for the
out-of-core engine.
"""


import math
from contextlib import contextmanager

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from gis.degurba._resample import resample_strips
from gis.degurba.grid import (
    GHSL_CRS,
    GhslWindow,
    GridLayer,
    apply_transform,
    cell_areas_km2,
    check_window_size,
    is_ghsl_crs,
    is_ghsl_transform,
    snap_bounds,
)
from gis.errors import GisError

#: Source cells read at once when a raster is resampled onto the grid (float64: ~64 MB a strip,
#: a few such arrays alive while a strip is resampled). Bounds memory whatever the file's size:
#: a 100 000 x 100 000 raster of 10 m cells is read strip by strip, never whole.
SOURCE_CELLS_PER_STRIP = 8_000_000


@contextmanager
def _open(path):
    """The raster at ``path``, north up: a south-up file (positive y pixel size) is read through
    a VRT that flips its rows (same cells, same values); a rotated one is refused."""
    try:
        dataset = rasterio.open(path)
    except RasterioIOError as error:
        raise GisError(f"{path}: cannot read as a raster ({error}); expected a GeoTIFF or other GDAL raster") from None
    with dataset:
        t = dataset.transform
        if t.b != 0 or t.d != 0:
            raise GisError(f"{path}: the raster is rotated (geotransform {tuple(t)[:6]}); expected a north-up "
                           "(or south-up) raster: warp it first (gdalwarp)")
        if t.e <= 0:
            yield dataset
            return
        from rasterio.vrt import WarpedVRT

        # The same cell edges with rows in north-up order: nearest neighbour on an identical
        # lattice is an exact copy of every cell.
        north_up = Affine(t.a, 0.0, t.c, 0.0, -t.e, t.f + t.e * dataset.height)
        with WarpedVRT(dataset, crs=dataset.crs, transform=north_up, width=dataset.width, height=dataset.height,
                       resampling=rasterio.enums.Resampling.nearest, nodata=dataset.nodata) as flipped:
            yield flipped


def _read_masked(dataset, window: Window | None = None, boundless: bool | None = None) -> np.ndarray:
    """Band 1 as float64 with NaN wherever the file says nodata (or NaN)."""
    if boundless is None:
        boundless = window is not None
    data = dataset.read(1, window=window, masked=True, boundless=boundless, fill_value=dataset.nodata)
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

def _check_population_values(values: np.ndarray, path, transform: Affine, row_off: int = 0) -> None:
    """Refuse negative and infinite population: neither is a count, and neither may be read as
    "no data" without a word (NaN and the file's nodata value are how a raster says that)."""
    for bad, what in ((values < 0, "negative"), (np.isinf(values), "infinite")):  # NaN compares False
        count = int(np.count_nonzero(bad))
        if count:
            rows, cols = np.nonzero(bad)
            where = []
            for row, col in zip(rows[:3], cols[:3]):
                x, y = apply_transform(transform, col + 0.5, row + 0.5)
                where.append(f"row {row + row_off} col {col} (x {x:.6g}, y {y:.6g}): {values[row, col]:g}")
            raise GisError(
                f"{path}: {count} cell(s) have {what} population, e.g. {'; '.join(where)}; "
                "expected finite counts or densities >= 0 (use the file's nodata value for missing data)"
            )


def _require_crs(dataset, path) -> None:
    if dataset.crs is None:
        raise GisError(f"{path}: the raster has no CRS; expected a georeferenced raster (e.g. EPSG:4326 or ESRI:54009)")


def _refuse_antimeridian(dataset, path) -> None:
    """Refuse a geographic raster reaching past ±180° longitude (e.g. 170° to 190°, a Pacific
    mosaic cut across the date line). PROJ wraps 190° to -170°, so its cells there would be
    stretched around the globe and half its population lost; the GHSL grid has no wrap-around."""
    if dataset.crs is None or not dataset.crs.is_geographic:
        return
    left, _, right, _ = dataset.bounds
    if left < -180 - 1e-9 or right > 180 + 1e-9:
        raise GisError(
            f"{path}: longitudes {left:g}° to {right:g}° cross the 180° meridian; the GHSL grid does not wrap "
            "around it: cut the raster at 180° (e.g. gdal_translate -projwin) and read each part"
        )


def _refuse_beyond_poles(dataset, path) -> None:
    """Refuse a geographic raster reaching past ±90° latitude: no place lies there, PROJ cannot
    project those rows, and their people would be lost without a word."""
    if dataset.crs is None or not dataset.crs.is_geographic:
        return
    _, bottom, _, top = dataset.bounds
    if top > 90 + 1e-9 or bottom < -90 - 1e-9:
        res = abs(dataset.transform.e)
        rows = []
        if top > 90 + 1e-9:
            rows.append(f"rows 0 to {math.ceil((top - 90) / res) - 1} lie north of 90°")
        if bottom < -90 - 1e-9:
            rows.append(f"rows {dataset.height - math.ceil((-90 - bottom) / res)} to {dataset.height - 1} lie south of -90°")
        raise GisError(f"{path}: latitudes {bottom:g}° to {top:g}° reach past the poles ({'; '.join(rows)}); "
                       "expected latitudes within -90° to 90°: fix the file's geotransform or crop it")


def _check_georeferencing(dataset, path) -> None:
    _require_crs(dataset, path)
    _refuse_antimeridian(dataset, path)
    _refuse_beyond_poles(dataset, path)


def _whole_window(dataset, path) -> GhslWindow:
    """The GHSL window covering a whole raster (its own, if it lies on the grid)."""
    _check_georeferencing(dataset, path)
    if is_ghsl_crs(dataset.crs) and is_ghsl_transform(dataset.transform):
        return GhslWindow.from_transform(dataset.transform, dataset.shape)
    return snap_bounds(dataset.bounds, dataset.crs)


def _read_onto(path, target: GhslWindow | None, how: str, values_kind: str, outside_is_error: bool = True) -> GridLayer:
    """Read band 1 of ``path`` onto ``target`` (or the window covering the whole file). A
    target the file does not reach is an error, or all nodata if not ``outside_is_error``.

    A file on the GHSL grid is read cell for cell; any other is read in strips of
    :data:`SOURCE_CELLS_PER_STRIP` source cells, each resampled onto the target as it comes
    (exact area overlap is additive over source cells), so memory is bounded by the target."""
    if how == "sum" and values_kind not in ("counts", "density"):
        raise GisError(f"values must be 'counts' or 'density' (persons/km²), not {values_kind!r}")
    with _open(path) as dataset:
        if target is None:
            target = _whole_window(dataset, path)  # which checks the georeferencing
        else:
            _check_georeferencing(dataset, path)
        check_window_size(target, f"{path}: the grid window")
        if is_ghsl_crs(dataset.crs) and is_ghsl_transform(dataset.transform):
            # Cell for cell: just a (boundless) window of the file.
            own = GhslWindow.from_transform(dataset.transform, dataset.shape)
            window = Window(target.col_off - own.col_off, target.row_off - own.row_off, target.width, target.height)
            values = _read_masked(dataset, window)
            _check_values(values, path, target.transform, how)
            if values_kind == "density":
                values *= cell_areas_km2(target.transform, values.shape, dataset.crs)
            return GridLayer(values, target, str(path), resampled=False)
        window = _source_window(dataset, target)
        if window.width == 0 or window.height == 0:
            if not outside_is_error:
                return GridLayer(np.full(target.shape, np.nan), target, str(path), resampled=True)
            raise GisError(f"{path}: the raster does not overlap the area asked for ({target.bounds}, ESRI:54009)")
        block_height = dataset.block_shapes[0][0]
        rows_per_strip = max(1, SOURCE_CELLS_PER_STRIP // max(int(window.width), 1))
        if rows_per_strip > block_height:  # whole blocks: each is decoded once
            rows_per_strip -= rows_per_strip % block_height
        stored = _stored_blocks(dataset)

        def strips():
            for row0 in range(int(window.row_off), int(window.row_off + window.height), rows_per_strip):
                strip = Window(window.col_off, row0, window.width, min(rows_per_strip, window.row_off + window.height - row0))
                if stored is not None and not _any_stored(stored, dataset.block_shapes[0], strip):
                    continue  # only unwritten blocks of a sparse file: nodata, nothing to read
                values = _read_masked(dataset, strip, boundless=False)
                transform = dataset.window_transform(strip)
                _check_values(values, path, transform, how, row_off=row0)
                if values_kind == "density":
                    values *= cell_areas_km2(transform, values.shape, dataset.crs)
                yield values, transform

        resampled = resample_strips(strips(), dataset.crs, target, how)
    return GridLayer(resampled, target, str(path), True)


#: Sparse-file look-ups (one per block) are skipped for files with more blocks than this.
_MAX_BLOCKS_LOOKED_UP = 1_000_000


def _stored_blocks(dataset) -> np.ndarray | None:
    """Which blocks of band 1 a GeoTIFF stores (a sparse file leaves empty ones unwritten, and
    GDAL reads them as nodata), as a (block rows, block cols) bool array; None where that is
    not known: another format, no nodata value (unwritten blocks then read as 0), too many blocks."""
    if dataset.driver != "GTiff" or dataset.nodata is None:
        return None
    block_height, block_width = dataset.block_shapes[0]
    rows, cols = -(-dataset.height // block_height), -(-dataset.width // block_width)
    if rows * cols > _MAX_BLOCKS_LOOKED_UP:
        return None
    stored = np.array([[bool(dataset.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1)) for col in range(cols)]
                       for row in range(rows)], dtype=bool).reshape(rows, cols)
    return stored


def _any_stored(stored: np.ndarray, block_shape: tuple[int, int], window: Window) -> bool:
    """Whether any block that ``window`` (within the file) touches is stored."""
    block_height, block_width = block_shape
    row0, col0 = int(window.row_off) // block_height, int(window.col_off) // block_width
    row1 = (int(window.row_off + window.height) - 1) // block_height
    col1 = (int(window.col_off + window.width) - 1) // block_width
    return bool(stored[row0:row1 + 1, col0:col1 + 1].any())


def _check_values(values: np.ndarray, path, transform: Affine, how: str, row_off: int = 0) -> None:
    """Population: finite and not negative; shares: between 0 and 1."""
    if how == "sum":
        _check_population_values(values, path, transform, row_off)
        return
    finite = values[np.isfinite(values)]
    if finite.size and (finite.min() < 0 or finite.max() > 1):
        raise GisError(f"{path}: values from {finite.min():g} to {finite.max():g}; expected shares between 0 and 1")


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
