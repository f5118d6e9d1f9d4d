"""Rasters across the 180° meridian, global rasters, rasters without a CRS and absurd
distances (issue 14, items 2, 4 and 8)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from gis.cli import main
from gis.degurba.chunked import classify_grid_chunked
from gis.degurba.classify import classify_grid
from gis.degurba.population import read_population
from gis.errors import GisError


def _raster(path, left, right, bottom, top, res, crs="EPSG:4326", value=100.0):
    width, height = round((right - left) / res), round((top - bottom) / res)
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float64", crs=crs,
                       transform=Affine(res, 0, left, 0, -res, top), nodata=-1) as dst:
        dst.write(np.full((height, width), value), 1)
    return path, value * width * height


def test_a_raster_across_the_antimeridian_is_refused_in_one_line(tmp_path):
    path, _ = _raster(tmp_path / "pacific.tif", 170, 190, 50, 52, 0.25)
    with pytest.raises(GisError, match=r"longitudes 170° to 190° cross the 180° meridian"):
        read_population(path)
    result = CliRunner().invoke(main, ["degurba", "grid", "--population", str(path), "--out", str(tmp_path / "g.tif")])
    assert result.exit_code == 2
    assert "cross the 180° meridian" in result.output.splitlines()[-1] and "Traceback" not in result.output
    assert not (tmp_path / "g.tif").exists()


def test_a_global_raster_keeps_its_population_total(tmp_path):
    # A band around the whole globe, -180° to 180°: its edge cells meet at the meridian.
    path, total = _raster(tmp_path / "global.tif", -180, 180, 70, 71, 1.0)
    layer = read_population(path)
    assert layer.total == pytest.approx(total, rel=1e-9)


def test_a_raster_up_to_the_antimeridian_keeps_its_population_total(tmp_path):
    path, total = _raster(tmp_path / "east.tif", 175, 180, 50, 51, 0.25)
    assert read_population(path).total == pytest.approx(total, rel=1e-9)


def test_a_land_raster_without_crs_is_one_line(tmp_path):
    population, _ = _raster(tmp_path / "pop.tif", 120, 120.2, 30, 30.2, 0.01)
    with rasterio.open(tmp_path / "land.tif", "w", driver="GTiff", width=20, height=20, count=1, dtype="float64",
                       transform=Affine(0.01, 0, 120, 0, -0.01, 30.2)) as dst:
        dst.write(np.ones((20, 20)), 1)
    result = CliRunner().invoke(main, ["degurba", "grid", "--population", str(population), "--land", str(tmp_path / "land.tif"),
                                       "--out", str(tmp_path / "g.tif")])
    assert result.exit_code == 2, result.output
    assert "land.tif: the raster has no CRS" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("distance", [float("nan"), float("inf"), 1e9, -1, "two"])
def test_classify_grid_refuses_non_finite_or_absurd_distances(distance):
    population = np.full((8, 8), 100.0)
    with pytest.raises(GisError, match="sduc_distance_km must be a distance from 0 to 50 km"):
        classify_grid(population, sduc_distance_km=distance)
    with pytest.raises(GisError, match="sduc_distance_km must be a distance from 0 to 50 km"):
        classify_grid_chunked(population, sduc_distance_km=distance)


@pytest.mark.parametrize("distance", ["nan", "1e9", "inf", "-1"])
def test_the_cli_refuses_them_in_one_line(tmp_path, distance):
    population, _ = _raster(tmp_path / "pop.tif", 120, 120.2, 30, 30.2, 0.01)
    result = CliRunner().invoke(main, ["degurba", "grid", "--population", str(population), "--sduc-distance-km", distance,
                                       "--out", str(tmp_path / "g.tif")])
    assert result.exit_code == 2
    assert "--sduc-distance-km" in result.output and "outside 0 to 50" in result.output
