"""Reading population, land and built-up rasters onto the GHSL 1 km grid.

Any raster (GHS-POP, WorldPop; any CRS and resolution) is read with rasterio and brought onto a
:class:`~gis.degurba.grid.GhslWindow` by exact area overlap (:mod:`gis.degurba._resample`); one
already on the grid is used cell for cell. ``*_chunked`` readers give dask arrays for the
out-of-core engine.
"""


import math

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import RasterioIOError
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from gis.degurba._resample import resample_to_grid
from gis.degurba.grid import (
    GHSL_CRS,
    GhslWindow,
    GridLayer,
    apply_transform,
    cell_areas_km2,
    is_ghsl_crs,
    is_ghsl_transform,
    snap_bounds,
)
from gis.errors import GisError


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

def _check_not_negative(values: np.ndarray, path, transform: Affine) -> None:
    negative = values < 0  # NaN compares False
    count = int(np.count_nonzero(negative))
    if count:
        rows, cols = np.nonzero(negative)
        where = []
        for row, col in zip(rows[:3], cols[:3]):
            x, y = apply_transform(transform, col + 0.5, row + 0.5)
            where.append(f"row {row} col {col} (x {x:.6g}, y {y:.6g}): {values[row, col]:g}")
        raise GisError(
            f"{path}: {count} cell(s) have negative population, e.g. {'; '.join(where)}; "
            "expected counts or densities >= 0 (use the file's nodata value for missing data)"
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


def _whole_window(dataset, path) -> GhslWindow:
    """The GHSL window covering a whole raster (its own, if it lies on the grid)."""
    _require_crs(dataset, path)
    _refuse_antimeridian(dataset, path)
    if is_ghsl_crs(dataset.crs) and is_ghsl_transform(dataset.transform):
        return GhslWindow.from_transform(dataset.transform, dataset.shape)
    return snap_bounds(dataset.bounds, dataset.crs)


def _read_onto(path, target: GhslWindow | None, how: str, values_kind: str, outside_is_error: bool = True) -> GridLayer:
    """Read band 1 of ``path`` onto ``target`` (or the window covering the whole file). A
    target the file does not reach is an error, or all nodata if not ``outside_is_error``."""
    with _open(path) as dataset:
        if target is None:
            target = _whole_window(dataset, path)
        _require_crs(dataset, path)
        _refuse_antimeridian(dataset, path)
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
