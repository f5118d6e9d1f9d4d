"""Small real GeoTIFFs for tests."""

from __future__ import annotations

import numpy as np
import rasterio

from gis.degurba.grid import GhslWindow

#: A 30 x 30 km window of the GHSL grid over Hangzhou.
HANGZHOU_30KM = GhslWindow(row_off=5600, col_off=29700, height=30, width=30)


def write_on_grid(path, values: np.ndarray, window: GhslWindow = HANGZHOU_30KM, nodata: float = -200):
    """Write ``values`` (float32 persons per cell) as a GeoTIFF on ``window`` of the GHSL grid
    (ESRI:54009, 1 km cells); return ``path``."""
    with rasterio.open(
        path, "w", driver="GTiff", width=window.width, height=window.height, count=1, dtype="float32",
        crs="ESRI:54009", transform=window.transform, nodata=nodata,
    ) as dst:
        dst.write(np.asarray(values, dtype="float32"), 1)
    return path
