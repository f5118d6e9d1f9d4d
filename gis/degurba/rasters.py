"""Writing and reading Degree of Urbanisation class grids, and turning them into polygons.

Class GeoTIFFs are single-band uint8 with nodata 255, a GHSL colour table, and the class names
in the band's metadata (``CLASS_30=urban centre`` …) and description. They are written to a
temporary file in the destination folder and moved into place with ``os.replace``, so a
reader never sees a half-written file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio
import rasterio.features
import shapely
from affine import Affine
from pyproj import CRS

from gis._files import atomic_path
from gis.colours import hex_to_rgba
from gis.degurba.classify import L1_NAMES, L2_NAMES, NODATA
from gis.degurba.grid import GHSL_CRS, GhslWindow, is_ghsl_crs, is_ghsl_transform
from gis.errors import GisError

if TYPE_CHECKING:
    import geopandas as gpd

#: GHSL (GHS-SMOD) colours of the Level 2 codes.
L2_COLOURS = {
    30: "#FF0000", 23: "#732600", 22: "#A87000", 21: "#FFFF00",
    13: "#375623", 12: "#CDF57A", 11: "#ABCD66", 10: "#7AB6F5",
}
#: Colours of the Level 1 codes.
L1_COLOURS = {3: "#FF0000", 2: "#FFAA00", 1: "#CDF57A"}


@dataclass(frozen=True)
class ClassGrid:
    """A class raster on the GHSL grid: uint8 ``codes`` (255 = nodata) on ``window``."""

    codes: np.ndarray
    window: GhslWindow

    @property
    def transform(self) -> Affine:
        return self.window.transform

    @property
    def crs(self) -> CRS:
        return GHSL_CRS


#: Tile edge of class GeoTIFFs, cells (grids smaller than a tile are written striped).
CLASS_TILE = 256


def class_geotiff_profile(shape: tuple[int, int], transform: Affine, crs=GHSL_CRS) -> dict:
    """rasterio profile of a class GeoTIFF of ``shape`` (rows, cols): uint8, nodata 255,
    deflate, 256 × 256 tiles (striped when the grid is smaller than a tile)."""
    profile = dict(
        driver="GTiff", dtype="uint8", count=1, nodata=NODATA, width=shape[1], height=shape[0],
        transform=transform, crs=CRS.from_user_input(crs).to_wkt(), compress="deflate", tiled=True,
        blockxsize=CLASS_TILE, blockysize=CLASS_TILE,
    )
    if shape[0] < CLASS_TILE or shape[1] < CLASS_TILE:
        profile.update(tiled=False)
        profile.pop("blockxsize")
        profile.pop("blockysize")
    return profile


def style_class_band(dataset, level: int, tags: dict[str, str] | None = None) -> None:
    """Give band 1 of an open class GeoTIFF the GHSL colour table, class names and tags, plus
    ``tags`` as dataset tags (e.g. the rules used, :meth:`gis.degurba.rules.Rules.geotiff_tags`)."""
    names, colours = (L2_NAMES, L2_COLOURS) if level == 2 else (L1_NAMES, L1_COLOURS)
    colour_map = {code: (255, 255, 255, 0) for code in range(256)}
    colour_map.update({code: hex_to_rgba(colour) for code, colour in colours.items()})
    dataset.write_colormap(1, colour_map)
    dataset.set_band_description(1, f"Degree of Urbanisation, Level {level} (GHS-SMOD codes)")
    dataset.update_tags(1, **{f"CLASS_{code}": name for code, name in names.items()})
    dataset.update_tags(DEGURBA_LEVEL=str(level), NODATA_MEANS="no data")
    if tags:
        dataset.update_tags(**tags)


def write_class_geotiff(
    path, codes: np.ndarray, transform: Affine, level: int = 2, crs=GHSL_CRS, tags: dict[str, str] | None = None
) -> Path:
    """Write a Level 1 or Level 2 class array as a styled uint8 GeoTIFF (atomically).

    ``codes`` uses the GHS-SMOD codes (see :mod:`gis.degurba`), 255 = nodata; ``transform`` and
    ``crs`` (default ESRI:54009) georeference it; ``tags`` are written as dataset tags (the
    rules used: ``DEGURBA_RULES`` and ``DEGURBA_RULE_*``). Returns the path written.
    """
    profile = class_geotiff_profile(codes.shape, transform, crs)
    path = Path(path)
    with atomic_path(path) as temporary:
        with rasterio.open(temporary, "w", **profile) as dst:
            dst.write(codes.astype(np.uint8, copy=False), 1)
            style_class_band(dst, level, tags)
    return path


def write_population_estimate(path, persons: np.ndarray, transform: Affine, source: str, crs=GHSL_CRS) -> Path:
    """Write the census-dasymetric population grid as a float32 GeoTIFF (atomically).

    ``persons``: persons per 1 km cell (NaN = outside every unit, written as nodata NaN) on
    ``transform`` (default CRS ESRI:54009, the GHSL grid), from
    :func:`gis.degurba.census_weights.dasymetric_units`. The tags say that it is an estimate,
    how it was made and from what (``ESTIMATE``, ``METHOD``, ``SOURCE``, ``UNITS``), so the
    file cannot be taken for a measured population grid. Returns the path written.
    """
    from gis.degurba.census_weights import METHOD

    profile = class_geotiff_profile(persons.shape, transform, crs)
    profile.update(dtype="float32", nodata=float("nan"), predictor=3)
    path = Path(path)
    with atomic_path(path) as temporary:
        with rasterio.open(temporary, "w", **profile) as dst:
            dst.write(persons.astype(np.float32, copy=False), 1)
            dst.set_band_description(1, "Resident population per 1 km cell, ESTIMATE (census totals spread by fitted class densities)")
            dst.update_tags(1, UNITS="persons per cell (1 km2, GHSL grid ESRI:54009)")
            dst.update_tags(
                ESTIMATE="yes: not a measured population grid; each unit's total is exact, its distribution over cells is modelled",
                METHOD=METHOD,
                SOURCE=source,
                ACCURACY="see the degurba_class_density table (fit residuals) and README, 'Population weights without a population raster'",
            )
    return path


def read_class_geotiff(path) -> ClassGrid:
    """Read a Level 2 class GeoTIFF that lies on the GHSL 1 km grid (ESRI:54009)."""
    try:
        with rasterio.open(path) as src:
            if not (is_ghsl_crs(src.crs) and is_ghsl_transform(src.transform)):
                raise GisError(
                    f"{path}: expected a class grid on the GHSL 1 km grid (ESRI:54009, 1000 m cells "
                    f"aligned with x=-18041000, y=9000000), got CRS {src.crs} and cell size {src.res}"
                )
            data = src.read(1, masked=True)
            window = GhslWindow.from_transform(src.transform, src.shape)
    except rasterio.errors.RasterioIOError as error:
        raise GisError(f"{path}: cannot read as a raster ({error})") from None
    codes = np.ma.filled(data, NODATA).astype(np.uint8)
    unknown = ~np.isin(codes, [*L2_NAMES, NODATA])
    if unknown.any():
        raise GisError(
            f"{path}: {int(unknown.sum())} cells hold values that are not Level 2 codes "
            f"(e.g. {int(codes[unknown][0])}); expected {sorted(L2_NAMES)} or 255"
        )
    return ClassGrid(codes, window)


#: Grids of at least this many cells are polygonised in two processes (the whole country:
#: 31 million cells, 360 000 polygons, ~9 s in one process).
PARALLEL_MIN_CELLS = 4_000_000
#: The classes each process polygonises: the two big rural classes (11: most cells, 12: most
#: polygons) apart, so the two halves take about as long on Chinese land.
CLASS_SHARES = ((11, 13, 10), (12, 21, 22, 23, 30))


def class_polygons(codes: np.ndarray, transform: Affine, crs=GHSL_CRS, processes: int | None = None) -> gpd.GeoDataFrame:
    """Polygons of a Level 2 class grid: adjacent cells of one class merged (4-connected).

    Returns a GeoDataFrame in EPSG:4326 with ``degurba_l2`` (int) and ``class_name``; nodata
    cells (255) give no polygon. ``crs`` is the grid's CRS (the GHSL grid's by default).

    A polygon is a 4-connected region of one class, so each class can be traced on its own:
    a large grid (:data:`PARALLEL_MIN_CELLS`) is traced in two processes
    (:func:`gis._parallel.fork_map`; ``processes=1`` or ``GIS_PROCESSES=1``: in this one),
    each for its share of the classes (:data:`CLASS_SHARES`); the polygons are the same,
    grouped by share.
    """
    import geopandas as gpd  # only here: writing a class grid needs no geopandas
    from pyproj import Transformer

    from gis._parallel import fork_map, worker_count

    if processes is None:
        processes = worker_count() if codes.size >= PARALLEL_MIN_CELLS else 1
    shares = CLASS_SHARES if processes > 1 else (None,)
    parts = fork_map(lambda classes: _polygonise(codes, transform, classes), shares, processes)
    values = np.concatenate([part[0] for part in parts])
    rings_per_polygon = np.concatenate([part[1] for part in parts])
    ring_sizes = np.concatenate([part[2] for part in parts])
    coordinates = np.concatenate([part[3] for part in parts])
    # Projected as one array of coordinates: faster than GeoDataFrame.to_crs on the polygons.
    to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    longitude, latitude = to_wgs84.transform(coordinates[:, 0], coordinates[:, 1])
    polygons = shapely.from_ragged_array(
        shapely.GeometryType.POLYGON,
        np.column_stack([longitude, latitude]),
        (np.concatenate([[0], np.cumsum(ring_sizes)]), np.concatenate([[0], np.cumsum(rings_per_polygon)])),
    )
    frame = gpd.GeoDataFrame({"degurba_l2": values.astype("int64")}, geometry=polygons, crs="EPSG:4326")
    frame["class_name"] = frame["degurba_l2"].map(L2_NAMES).astype(str)
    return frame[["degurba_l2", "class_name", "geometry"]]


def _polygonise(codes: np.ndarray, transform: Affine, classes: tuple[int, ...] | None):
    """GDAL's polygons of the cells of ``classes`` (None: every class) as flat arrays in the
    grid's CRS: class per polygon, rings per polygon, points per ring, the points (n × 2)."""
    import gc
    import itertools

    mask = codes != NODATA if classes is None else np.isin(codes, classes)
    # Rings straight from what GDAL traces into flat arrays, no shapely object per feature;
    # the collector is paused: millions of coordinate tuples would trigger it in vain.
    collecting = gc.isenabled()
    gc.disable()
    try:
        values, rings = [], []
        for geometry, value in rasterio.features.shapes(codes, mask=mask, transform=transform, connectivity=4):
            values.append(value)
            rings.append(geometry["coordinates"])
        rings_per_polygon = np.fromiter(map(len, rings), np.int64, count=len(rings))
        all_rings = list(itertools.chain.from_iterable(rings))
        ring_sizes = np.fromiter(map(len, all_rings), np.int64, count=len(all_rings))
        flat = itertools.chain.from_iterable(itertools.chain.from_iterable(all_rings))
        coordinates = np.fromiter(flat, np.float64, count=2 * int(ring_sizes.sum())).reshape(-1, 2)
    finally:
        if collecting:
            gc.enable()
    return np.asarray(values, dtype=np.uint8), rings_per_polygon, ring_sizes, coordinates
