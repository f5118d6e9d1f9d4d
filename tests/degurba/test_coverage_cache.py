"""The cache of exact cell coverage (gis.degurba.zonal.unit_cell_coverage)."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from gis.degurba import zonal
from gis.degurba.grid import GHSL_CRS, GhslWindow

WINDOW = GhslWindow(row_off=5600, col_off=29700, height=6, width=8)


def _units(shift_m: float = 0.0) -> gpd.GeoDataFrame:
    left, bottom, right, top = WINDOW.bounds
    # Two units cutting cells: a left half and a triangle, both off the cell edges.
    half = shapely.box(left + 300 + shift_m, bottom + 200, (left + right) / 2 + 450, top - 700)
    triangle = shapely.Polygon([((left + right) / 2 + 450, bottom + 200), (right - 100, bottom + 200), (right - 100, top - 900)])
    return gpd.GeoDataFrame({"name": ["half", "triangle"]}, geometry=[half, triangle], crs=GHSL_CRS)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(zonal, "CACHE_MIN_PIECES", 1)
    return tmp_path / "coverage"


def _same(a, b):
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_second_call_reads_the_cache(cache, monkeypatch):
    first = zonal.unit_cell_coverage(_units(), WINDOW)
    assert len(list(cache.glob("*.npz"))) == 1
    # Exact fractions: the half-box covers whole cells (1.0) and cut ones (0.3 × …).
    assert first[2].max() == pytest.approx(1.0) and first[2].min() < 1.0
    monkeypatch.setattr(zonal, "exact_extract", lambda *a, **k: pytest.fail("recomputed despite the cache"))
    _same(zonal.unit_cell_coverage(_units(), WINDOW), first)


def test_other_geometry_or_window_is_another_entry(cache):
    zonal.unit_cell_coverage(_units(), WINDOW)
    moved = zonal.unit_cell_coverage(_units(shift_m=100.0), WINDOW)
    wider = zonal.unit_cell_coverage(_units(), GhslWindow(WINDOW.row_off, WINDOW.col_off, WINDOW.height, WINDOW.width + 1))
    assert len(list(cache.glob("*.npz"))) == 3
    assert moved[2].sum() != pytest.approx(zonal.unit_cell_coverage(_units(), WINDOW)[2].sum())
    assert wider[1].max() > 0 and len(wider[0]) == len(zonal.unit_cell_coverage(_units(), WINDOW)[0])


def test_damaged_entry_is_recomputed(cache):
    first = zonal.unit_cell_coverage(_units(), WINDOW)
    (entry,) = cache.glob("*.npz")
    entry.write_bytes(b"not a numpy archive")
    _same(zonal.unit_cell_coverage(_units(), WINDOW), first)
    np.load(entry).close()  # rewritten whole


def test_small_results_and_unwritable_cache_are_not_errors(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    monkeypatch.setenv("GIS_CACHE_DIR", str(blocked))
    monkeypatch.setattr(zonal, "CACHE_MIN_PIECES", 1)
    assert len(zonal.unit_cell_coverage(_units(), WINDOW)[0]) > 0
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(zonal, "CACHE_MIN_PIECES", 10**9)
    zonal.unit_cell_coverage(_units(), WINDOW)
    assert not (tmp_path / "cache").exists()


def test_old_entries_are_pruned(cache, monkeypatch):
    monkeypatch.setattr(zonal, "CACHE_ENTRIES", 2)
    for shift in (0.0, 10.0, 20.0, 30.0):
        zonal.unit_cell_coverage(_units(shift_m=shift), WINDOW)
    assert len(list(cache.glob("*.npz"))) == 2


def test_parallel_runs_give_the_same_coverage(tmp_path, monkeypatch):
    """Units split into runs of about equal area, covered in two processes: the same pieces
    in the same order as one run."""
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    left, bottom, right, top = WINDOW.bounds
    xs = np.linspace(left + 100, right - 100, 6)
    strips = [shapely.box(x0, bottom + 150, x1, top - 250) for x0, x1 in zip(xs[:-1], xs[1:])]
    units = gpd.GeoDataFrame(geometry=strips, crs=GHSL_CRS).to_crs("EPSG:4326")
    one = zonal.unit_cell_coverage(units, WINDOW)
    monkeypatch.setattr(zonal, "PARALLEL_MIN_CELLS", 1)
    monkeypatch.setenv("GIS_PROCESSES", "2")
    monkeypatch.setattr(zonal, "CACHE_MIN_PIECES", 10**9)
    two = zonal.unit_cell_coverage(units, GhslWindow(WINDOW.row_off, WINDOW.col_off, WINDOW.height, WINDOW.width))
    _same(one, two)
    assert set(one[0]) == set(range(5))
