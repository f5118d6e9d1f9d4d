"""Grid overlays as PNG images: pixels and palette as a PNG decoder reads them, the warp of a
class raster's window against a warp of the whole raster, and images kept in the cache."""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import pytest
import rasterio
import rasterio.warp
from PIL import Image
from rasterio.io import MemoryFile

from gis.colours import hex_to_rgba
from gis.maps import raster
from gis.maps.raster import grid_image, paletted_png

GHSL_CRS = "ESRI:54009"
#: 300 x 400 cells of 1 km on the GHSL grid over eastern China (Mollweide metres).
TRANSFORM = rasterio.Affine(1000, 0, 11_000_000, 0, -1000, 3_800_000)
CODE_INDEX = {11: 0, 12: 1, 13: 2, 21: 3, 22: 4, 23: 5, 30: 6}
COLOURS = ["#abcd66", "#cdf57a", "#375623", "#ffff00", "#a87000", "#732600", "#ff0000"]


def _codes(seed: int = 3) -> np.ndarray:
    """Blocks of classes, nodata (255) and a code the overlay does not list (10, water)."""
    rng = np.random.default_rng(seed)
    blocks = rng.choice(np.array([11, 12, 13, 21, 22, 23, 30, 10, 255], dtype=np.uint8), size=(30, 40))
    return np.kron(blocks, np.ones((10, 10), dtype=np.uint8))


def _decoded(image) -> tuple[np.ndarray, dict]:
    png = base64.b64decode(image.data_url.removeprefix("data:image/png;base64,"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)  # placed by bounds, not in the PNG
        with MemoryFile(png) as memory, memory.open() as dataset:
            return dataset.read(1), dataset.colormap(1)


def _bounds_within() -> tuple[float, float, float, float]:
    """Degrees of a box well inside the raster, so the image needs only part of it."""
    lons, lats = rasterio.warp.transform(GHSL_CRS, "EPSG:4326", [11_080_000, 11_300_000], [3_700_000, 3_600_000])
    return min(lons), min(lats), max(lons), max(lats)


def test_paletted_png_is_read_back_by_two_decoders():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 4, size=(57, 203)).astype(np.uint8)
    pixels[:, 100:] = 2  # a run, which the Sub filter makes zeros
    palette = [(0, 0, 0, 0), (255, 0, 0, 255), (0, 128, 0, 255), (10, 20, 30, 255)]
    png = paletted_png(pixels, palette)
    with Image.open(io.BytesIO(png)) as image:
        assert image.mode == "P" and image.size == (203, 57)
        assert np.array_equal(np.asarray(image), pixels)
        rgba = np.asarray(image.convert("RGBA"))
    assert (rgba[pixels == 0, 3] == 0).all() and (rgba[pixels == 3] == (10, 20, 30, 255)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with MemoryFile(png) as memory, memory.open() as dataset:
            assert np.array_equal(dataset.read(1), pixels)
            assert [dataset.colormap(1)[k] for k in range(4)] == palette
    with pytest.raises(ValueError, match="palette"):
        paletted_png(pixels, palette[:3])


def test_grid_image_has_the_pixels_of_a_warp_of_the_whole_raster():
    codes = _codes()
    bounds = _bounds_within()
    image = grid_image(codes, TRANSFORM, GHSL_CRS, CODE_INDEX, COLOURS, bounds)
    pixels, colormap = _decoded(image)

    # What the image was before it read a window: the whole raster warped, nodata 0.
    lookup = np.zeros(256, dtype=np.uint8)
    for code, k in CODE_INDEX.items():
        lookup[code] = k + 1
    (x0, x1), (y0, y1) = raster._TO_MERCATOR.transform([bounds[0], bounds[2]], [bounds[1], bounds[3]])
    shape, canvas = raster._canvas(x0, y0, x1, y1)
    expected = np.zeros(shape, dtype=np.uint8)
    rasterio.warp.reproject(lookup[codes], expected, src_transform=TRANSFORM, src_crs=GHSL_CRS, src_nodata=0,
                            dst_transform=canvas, dst_crs="EPSG:3857", dst_nodata=0,
                            resampling=rasterio.warp.Resampling.nearest)
    assert image.shape == shape and image.pixel_m == canvas.a
    assert np.array_equal(pixels, expected)
    assert set(np.unique(pixels)) == set(range(8))  # every class, and transparent cells
    assert colormap[0][3] == 0 and [colormap[k + 1] for k in range(7)] == [hex_to_rgba(c) for c in COLOURS]
    south, west = image.bounds[0]
    north, east = image.bounds[1]
    assert west <= bounds[0] < bounds[2] <= east and south <= bounds[1] < bounds[3] <= north


def test_grid_image_is_none_where_no_listed_class_is_in_view():
    codes = np.full((300, 400), 10, dtype=np.uint8)  # water only
    assert grid_image(codes, TRANSFORM, GHSL_CRS, CODE_INDEX, COLOURS, _bounds_within()) is None
    assert grid_image(_codes(), TRANSFORM, GHSL_CRS, CODE_INDEX, COLOURS, (60.0, 40.0, 61.0, 41.0)) is None  # off the grid


def test_grid_images_are_read_back_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    codes, bounds = _codes(), _bounds_within()
    made = grid_image(codes, TRANSFORM, GHSL_CRS, CODE_INDEX, COLOURS, bounds)
    (entry,) = (tmp_path / "map_images").glob("*.npz")

    def no_warp(*args, **kwargs):
        raise AssertionError("warped again")

    monkeypatch.setattr(rasterio.warp, "reproject", no_warp)
    assert grid_image(codes, TRANSFORM, GHSL_CRS, CODE_INDEX, COLOURS, bounds) == made
    other = codes.copy()
    other[100:120, 100:120] = 30  # another grid is not the cached one
    with pytest.raises(AssertionError, match="warped again"):
        grid_image(other, TRANSFORM, GHSL_CRS, CODE_INDEX, COLOURS, bounds)
    with pytest.raises(AssertionError, match="warped again"):
        grid_image(codes, TRANSFORM, GHSL_CRS, CODE_INDEX, list(reversed(COLOURS)), bounds)
    monkeypatch.undo()
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    entry.write_bytes(b"not an npz")  # a damaged entry is made again
    assert grid_image(codes, TRANSFORM, GHSL_CRS, CODE_INDEX, COLOURS, bounds) == made
