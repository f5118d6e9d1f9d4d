"""Categorical grid overlays drawn as one paletted PNG inside the page.

A province's 1 km Degree of Urbanisation grid is some 10 000 merged cell patches and 100 000
vertices: as GeoJSON it alone would be 2–3 MB of the page and as many SVG paths for the
browser. As an image it is a few hundred kB and one element. The patches (EPSG:4326, or
GCJ-02 for AMap tiles) are rasterised in Web Mercator (EPSG:3857, the map's own projection, so
Leaflet's ``L.imageOverlay`` places the image exactly between its corners) at a pixel size
well under a cell, and encoded as a paletted PNG with transparent "no class" pixels
(:func:`paletted_png`), embedded as a ``data:`` URL — nothing is fetched. When the class raster itself is at hand (a build has
it), it is warped to Web Mercator instead (:func:`grid_image`): exact, and fast for a whole
country, whose merged patches are too many and too large to rasterise again.
"""

from __future__ import annotations

import base64
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import rasterio
import rasterio.features
import rasterio.warp
import rasterio.windows
import shapely
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.transform import from_origin
from rasterio.windows import Window

from gis.colours import hex_to_rgba

#: Finest pixel, metres of Web Mercator (about 87 m on the ground at 30°N): a 1 km cell edge
#: is then placed to within half a pixel, less than what a cell looks like at zoom 12.
MIN_PIXEL_M = 100.0
#: Longest side of the image in pixels; larger areas (a whole country) get coarser pixels.
MAX_PIXELS = 4096

_TO_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
_TO_LONLAT = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)


@dataclass(frozen=True)
class ClassImage:
    """A paletted PNG (``data_url``) covering ``bounds`` = ``[[south, west], [north, east]]``
    (degrees, as Leaflet wants), ``shape`` (rows, cols) pixels of ``pixel_m`` Mercator metres."""

    data_url: str
    bounds: list[list[float]]
    shape: tuple[int, int]
    pixel_m: float


def _canvas(west: float, south: float, east: float, north: float):
    """Shape and transform of an image covering Mercator bounds (metres)."""
    pixel = max(MIN_PIXEL_M, max(east - west, north - south) / MAX_PIXELS)
    width, height = max(1, int(np.ceil((east - west) / pixel))), max(1, int(np.ceil((north - south) / pixel)))
    return (height, width), from_origin(west, north, pixel, pixel)


def paletted_png(pixels: np.ndarray, palette: list[tuple[int, int, int, int]]) -> bytes:
    """An 8-bit paletted PNG of ``pixels`` (uint8 rows × columns; value k is ``palette[k]``,
    RGBA, the alpha going into the ``tRNS`` chunk).

    Every row is filtered with PNG's "Sub" filter (each byte minus the one to its left): a
    class image is runs of one value, which become runs of zeros, and deflate packs them into
    files about a fifth smaller than unfiltered rows (what GDAL's PNG driver wrote) in the
    same time.
    """
    height, width = pixels.shape
    if len(palette) > 256 or int(pixels.max(initial=0)) >= len(palette):
        raise ValueError(f"pixel values up to {int(pixels.max(initial=0))} need a palette of that many entries; got {len(palette)}")
    rows = np.empty((height, width + 1), dtype=np.uint8)
    rows[:, 0] = 1  # filter type 1, Sub
    rows[:, 1:2] = pixels[:, :1]
    np.subtract(pixels[:, 1:], pixels[:, :-1], out=rows[:, 2:])  # modulo 256, as PNG wants
    data = zlib.compress(rows, 6)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit, paletted, deflate, no interlace
    colours = bytes(value for rgba in palette for value in rgba[:3])
    alphas = bytes(rgba[3] for rgba in palette)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"PLTE", colours) + chunk(b"tRNS", alphas)
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def _encode(pixels: np.ndarray, transform, colours: list[str]) -> ClassImage:
    """PNG of ``pixels`` (0 = transparent, k + 1 = ``colours[k]``) on a north-up Mercator
    ``transform``, and its corners in degrees."""
    return _image(paletted_png(pixels, _palette(colours)), transform, pixels.shape)


def _palette(colours: list[str]) -> list[tuple[int, int, int, int]]:
    """Value 0 transparent, value k + 1 ``colours[k]``."""
    return [(0, 0, 0, 0)] + [hex_to_rgba(c) for c in colours]


def _image(png: bytes, transform, shape: tuple[int, int]) -> ClassImage:
    """``png`` of ``shape`` (rows, cols) pixels on a north-up Mercator ``transform``, as a data
    URL with its corners in degrees. The PNG carries no georeferencing on purpose: Leaflet
    places it by ``bounds``."""
    height, width = shape
    pixel = transform.a
    west, north = transform.c, transform.f
    (lon_west, lon_east), (lat_south, lat_north) = _TO_LONLAT.transform(
        [west, west + width * pixel], [north - height * pixel, north]
    )
    bounds = [[round(lat_south, 6), round(lon_west, 6)], [round(lat_north, 6), round(lon_east, 6)]]
    encoded = base64.b64encode(png).decode("ascii")
    return ClassImage(f"data:image/png;base64,{encoded}", bounds, (height, width), float(pixel))


def class_image(geometries: np.ndarray, class_index: np.ndarray, colours: list[str]) -> ClassImage | None:
    """Rasterise polygons (degrees) coloured by ``colours[class_index]`` into a PNG overlay.

    ``class_index`` is -1 for polygons of no listed class (left transparent). Returns None
    when there is nothing to draw. For a class raster, :func:`grid_image` is much faster (the
    polygons of a whole country's grid are too many and too large to rasterise again).
    """
    geometries = np.asarray(geometries, dtype=object)
    class_index = np.asarray(class_index)
    keep = (class_index >= 0) & ~shapely.is_missing(geometries)
    if not keep.any():
        return None
    mercator = shapely.transform(geometries[keep], lambda xy: np.column_stack(_TO_MERCATOR.transform(xy[:, 0], xy[:, 1])))
    shape, transform = _canvas(*shapely.total_bounds(mercator))
    # Value 0 = transparent; class k is value k + 1 (so up to 254 classes).
    pixels = rasterio.features.rasterize(
        zip(mercator, class_index[keep] + 1), out_shape=shape, transform=transform, fill=0, dtype="uint8"
    )
    return _encode(pixels, transform, colours)


def _source_window(shape: tuple[int, int], transform, crs, canvas_shape: tuple[int, int], canvas_transform):
    """``(rows, cols)`` slices of a raster of ``shape`` on ``transform`` (``crs``) holding every
    cell a Web Mercator canvas can sample, with a margin of two cells; None when the canvas
    misses the raster. A province's page then reads its own window rather than the whole
    country's grid."""
    height, width = canvas_shape
    west, north = canvas_transform.c, canvas_transform.f
    east, south = west + width * canvas_transform.a, north + height * canvas_transform.e
    left, bottom, right, top = rasterio.warp.transform_bounds("EPSG:3857", crs, west, south, east, north, densify_pts=21)
    inverse = ~transform
    xs, ys = np.array([left, right, left, right]), np.array([bottom, bottom, top, top])
    cols, rows = inverse.a * xs + inverse.b * ys + inverse.c, inverse.d * xs + inverse.e * ys + inverse.f
    row0, row1 = max(0, int(np.floor(rows.min())) - 2), min(shape[0], int(np.ceil(rows.max())) + 2)
    col0, col1 = max(0, int(np.floor(cols.min())) - 2), min(shape[1], int(np.ceil(cols.max())) + 2)
    if row0 >= row1 or col0 >= col1:
        return None
    return slice(row0, row1), slice(col0, col1)


def grid_image(codes: np.ndarray, transform, crs, code_index: dict[int, int], colours: list[str],
               bounds_deg: tuple[float, float, float, float]) -> ClassImage | None:
    """A class raster (e.g. the Level 2 grid, ESRI:54009) warped to Web Mercator over
    ``bounds_deg`` (west, south, east, north in degrees) by nearest neighbour, each code coloured
    ``colours[code_index[code]]``; codes not in ``code_index`` are transparent. None when no
    cell in view has a listed code.

    Only the window of the raster the canvas can sample is read. The PNG is kept in the user's
    cache (``map_images``, see :data:`STORE_KEEP`) and read back when the same cells, canvas
    and colours come again."""
    west, south, east, north = bounds_deg
    xs, ys = _TO_MERCATOR.transform([west, east], [south, north])
    shape, dst_transform = _canvas(xs[0], ys[0], xs[1], ys[1])
    window = _source_window(codes.shape, transform, crs, shape, dst_transform)
    if window is None:
        return None
    lookup = np.zeros(256, dtype=np.uint8)
    for code, k in code_index.items():
        lookup[code] = k + 1
    rows, cols = window
    source = lookup[codes[rows, cols]]
    if not source.any():
        return None
    src_transform = rasterio.windows.transform(Window.from_slices(rows, cols), transform)
    palette = _palette(colours)
    key = _image_key(source, src_transform, crs, shape, dst_transform, palette)
    png = _read_image(key)
    if png is None:
        pixels = np.zeros(shape, dtype=np.uint8)
        # No nodata: 0 (transparent) is copied like any value into a canvas that starts at 0,
        # which gives the same pixels and lets GDAL take its fast path for unmasked bytes.
        rasterio.warp.reproject(
            source, pixels, src_transform=src_transform, src_crs=crs,
            dst_transform=dst_transform, dst_crs="EPSG:3857", resampling=rasterio.warp.Resampling.nearest,
        )
        png = paletted_png(pixels, palette)
        _store_image(key, png)
    return _image(png, dst_transform, shape)


#: Grid images kept in the user's cache (:mod:`gis._cache`, ``map_images``), the most recently
#: used: warping and encoding take a national build some 10 s for 35 images that are the same
#: on every build from the same grid.
STORE_KEEP = 100
#: Bump when warping or encoding changes: older entries are then not found.
_STORE_FORMAT = 2


def _image_key(source: np.ndarray, src_transform, crs, shape, dst_transform, palette) -> str:
    """Cache key of a grid image: every input of the warp and the encoding (the coloured window
    of the class raster itself, its place and CRS, the canvas, the palette) and the GDAL
    version that warps."""
    from gis._cache import cache_key

    return cache_key("grid_image", _STORE_FORMAT, rasterio.__gdal_version__, CRS.from_user_input(crs).to_wkt(),
                     tuple(src_transform), source.shape, tuple(shape), tuple(dst_transform), tuple(palette),
                     blobs=[np.ascontiguousarray(source).data])


def _read_image(key: str) -> bytes | None:
    from gis._cache import read_arrays

    stored = read_arrays("map_images", key)
    return None if stored is None or set(stored) != {"png"} else stored["png"].tobytes()


def _store_image(key: str, png: bytes) -> None:
    from gis._cache import write_arrays

    write_arrays("map_images", key, STORE_KEEP, png=np.frombuffer(png, dtype=np.uint8))
