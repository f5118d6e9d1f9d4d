"""A made-up township file as users bring them: 20 polygons over Hangzhou's 30 km window of the
GHSL grid with ``town_code``, ``乡镇名称``, ``常住人口`` and ``population`` (which clashes with
the column ``gis degurba units --unit-population`` adds), and a population raster under them."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from gis.degurba.grid import GHSL_CRS
from support.rasters import HANGZHOU_30KM, write_on_grid

#: 5 columns x 4 rows of 6 km x 7.5 km townships.
COLUMNS, ROWS = 5, 4


def population_grid() -> np.ndarray:
    """Persons per 1 km cell: a dense centre (urban centre), a ring of towns, rural elsewhere."""
    rows, cols = np.mgrid[0:30, 0:30]
    distance = np.hypot(rows - 14.5, cols - 9.5)
    return np.where(distance < 3, 4000.0, np.where(distance < 7, 600.0, np.where((rows + cols) % 7 == 0, 400.0, 40.0)))


def townships() -> gpd.GeoDataFrame:
    """20 townships in EPSG:4326 (as users' files usually are)."""
    left, bottom, right, top = HANGZHOU_30KM.bounds
    boxes, codes, names = [], [], []
    for row in range(ROWS):
        for col in range(COLUMNS):
            x0, y0 = left + col * 6000, top - (row + 1) * 7500
            boxes.append(shapely.box(x0, y0, x0 + 6000, y0 + 7500))
            number = row * COLUMNS + col + 1
            codes.append(f"330106{number:03d}000")
            names.append(f"第{number}镇")
    people = np.array([5000 + 3000 * ((i * 7) % 11) for i in range(len(boxes))], dtype="int64")
    frame = gpd.GeoDataFrame(
        {"town_code": codes, "乡镇名称": names, "常住人口": people, "population": people // 2,
         "面积备注": [f"{i}号" for i in range(len(boxes))]},
        geometry=boxes, crs=GHSL_CRS,
    )
    return frame.to_crs("EPSG:4326")


def write_townships(folder, name: str = "townships.gpkg"):
    """The township file and the population raster under it: ``(units path, raster path)``."""
    units = folder / name
    townships().to_file(units, layer="townships", driver="GPKG")
    raster = write_on_grid(folder / "population.tif", population_grid())
    return units, raster
