"""Map projections of figures: the Albers equal-area conic of China's national maps, or one
fitted to a province.

Figures are drawn in projected metres, so areas compare across the map and a scale bar means
something. Input geometries are WGS-84 (EPSG:4326), as every layer of a build.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

#: China's national maps: Albers equal-area conic, standard parallels 25°N and 47°N, central
#: meridian 105°E.
CHINA_ALBERS = "+proj=aea +lat_0=0 +lon_0=105 +lat_1=25 +lat_2=47 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"


@dataclass(frozen=True)
class FigureCRS:
    """A figure's projection: PROJ string and the names a reader sees (figure and metadata)."""

    proj: str
    name_zh: str
    name_en: str

    @property
    def crs(self) -> CRS:
        return CRS.from_proj4(self.proj)

    def project(self, geometries: np.ndarray) -> np.ndarray:
        """``geometries`` (WGS-84 degrees) in this projection (metres)."""
        transformer = Transformer.from_crs("EPSG:4326", self.proj, always_xy=True)
        return shapely.transform(np.asarray(geometries, dtype=object),
                                 lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))

    def metadata(self) -> str:
        """One line for the files' metadata: the projection's English name and PROJ string."""
        return f"{self.name_en}; PROJ: {self.proj}"


def china_albers() -> FigureCRS:
    """The national maps' Albers (25°N, 47°N, 105°E)."""
    return FigureCRS(CHINA_ALBERS, "Albers 等积圆锥投影（标准纬线 25°N、47°N，中央经线 105°E）",
                     "Albers equal-area conic (standard parallels 25°N, 47°N; central meridian 105°E; WGS 84)")


def fitted_albers(west: float, south: float, east: float, north: float) -> FigureCRS:
    """An Albers equal-area conic fitted to a frame (degrees): central meridian at its middle,
    standard parallels one sixth of its height inside its edges (the usual rule, which keeps the
    scale error small over the whole frame), all rounded to 0.5°."""
    def half(value: float) -> float:
        return round(value * 2) / 2

    span = max(north - south, 1.0)
    lon_0 = half((west + east) / 2)
    lat_1, lat_2 = half(south + span / 6), half(north - span / 6)
    if lat_2 <= lat_1:
        lat_2 = lat_1 + 0.5
    lat_0 = half((south + north) / 2)
    proj = (f"+proj=aea +lat_0={lat_0:g} +lon_0={lon_0:g} +lat_1={lat_1:g} +lat_2={lat_2:g} "
            "+x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs")
    return FigureCRS(proj, f"Albers 等积圆锥投影（标准纬线 {lat_1:g}°N、{lat_2:g}°N，中央经线 {lon_0:g}°E）",
                     f"Albers equal-area conic (standard parallels {lat_1:g}°N, {lat_2:g}°N; "
                     f"central meridian {lon_0:g}°E; WGS 84)")
