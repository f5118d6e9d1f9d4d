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
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.warp import transform_bounds

from gis.errors import GisError

#: World Mollweide, the CRS of the GHSL grids.
GHSL_CRS = CRS.from_string("ESRI:54009")
#: Cell size of the GHSL 1 km grid, metres.
GHSL_CELL_M = 1000.0
#: Upper-left corner of the global GHSL grid, metres in ESRI:54009.
GHSL_ORIGIN_X = -18_041_000.0
GHSL_ORIGIN_Y = 9_000_000.0
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
    def from_transform(cls, transform: Affine, shape: tuple[int, int]) -> GhslWindow:
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


#: Largest window (cells) a run holds in memory: ten times China's (~20 M cells); each float64
#: array of it is 800 MB. Larger areas go through ``gis degurba grid --chunks`` or are split.
MAX_IN_MEMORY_CELLS = 100_000_000


def check_window_size(window: GhslWindow, what: str, hint: str = "") -> None:
    """Refuse, before anything is allocated, a window larger than :data:`MAX_IN_MEMORY_CELLS`,
    naming its size (``what`` says whose window it is, ``hint`` what to do instead)."""
    cells = window.height * window.width
    if cells > MAX_IN_MEMORY_CELLS:
        raise GisError(
            f"{what} is {window.height:,} × {window.width:,} km of the 1 km grid ({cells:,} cells, "
            f"{cells * 8 / 2**30:.1f} GiB per float64 array); at most {MAX_IN_MEMORY_CELLS:,} cells are held in memory"
            + (f": {hint}" if hint else ": use 'gis degurba grid --chunks' for large rasters, or split the area")
        )


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


def apply_transform(transform: Affine, cols, rows) -> tuple[np.ndarray, np.ndarray]:
    """x, y of pixel coordinates (cols, rows) under an affine transform (arrays)."""
    a, b, c, d, e, f = tuple(transform)[:6]
    return c + a * cols + b * rows, f + d * cols + e * rows


def cell_areas_km2(transform: Affine, shape: tuple[int, int], crs) -> np.ndarray:
    """True (ellipsoidal) area in km² of every cell of a raster grid, shape ``shape``.

    Cell corners are projected to a Lambert azimuthal equal-area projection on the WGS-84
    ellipsoid centred on the grid, where the shoelace formula gives the area. (Mollweide in
    PROJ is spherical, so a GHSL "1 km²" cell is really 0.99–1.0 km² in China.)
    """
    height, width = shape
    crs = CRS.from_user_input(crs)
    cols, rows = np.meshgrid(np.arange(width + 1, dtype="float64"), np.arange(height + 1, dtype="float64"))
    xs, ys = apply_transform(transform, cols, rows)
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


