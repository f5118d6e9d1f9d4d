"""Map geometry: GeoJSON of whole layers (rounding, repeated vertices, short rings) and
simplified layers kept in the cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from gis.maps import geometry
from gis.maps.geometry import UNIT_TOLERANCE_DEG, geojson_geometries, geojson_geometry, simplify_coverage


def test_geojson_rounds_drops_repeats_and_rings_too_short():
    square = shapely.box(0, 0, 1, 1)
    # Rounded to 2 decimals: the second vertex repeats the first and is dropped.
    near_repeat = shapely.Polygon([(0, 0), (0.001, 0.001), (1, 0), (1, 1), (0, 1), (0, 0)])
    # A hole that rounds to a point goes; a real hole stays.
    holes = shapely.Polygon(shapely.box(0, 0, 10, 10).exterior.coords,
                            [shapely.box(1, 1, 1.001, 1.001).exterior.coords, shapely.box(2, 2, 3, 3).exterior.coords])
    # A multipolygon left with one part is a Polygon.
    speck_and_square = shapely.MultiPolygon([shapely.box(5, 5, 5.001, 5.001), square])
    inputs = [None, shapely.Polygon(), shapely.LineString([(0, 0), (1, 1)]), near_repeat, holes, speck_and_square,
              shapely.box(0, 0, 0.001, 0.001), shapely.MultiPolygon([square, shapely.box(2, 2, 3, 3)])]
    result = geojson_geometries(np.asarray(inputs, dtype=object), 2)
    ring = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
    box_ring = [[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]  # shapely.box starts at (xmax, ymin)
    assert result[:3] == [None, None, None]
    assert result[3] == {"type": "Polygon", "coordinates": [ring]}
    assert result[4]["type"] == "Polygon" and len(result[4]["coordinates"]) == 2
    assert result[4]["coordinates"][1] == [[3.0, 2.0], [3.0, 3.0], [2.0, 3.0], [2.0, 2.0], [3.0, 2.0]]
    assert result[5] == {"type": "Polygon", "coordinates": [box_ring]}
    assert result[6] is None
    assert result[7]["type"] == "MultiPolygon" and result[7]["coordinates"][0] == [box_ring]
    assert [geojson_geometry(g, 2) for g in inputs] == result
    for shape in filter(None, result):  # what the page's JSON holds is valid GeoJSON again
        assert shapely.from_geojson(json.dumps(shape)).is_valid


def test_simplified_layers_are_read_back_from_the_cache(zhejiang, tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    counties = zhejiang.counties.geometry.to_numpy().copy()
    counties[3] = None  # missing stays missing, in place
    assert shapely.get_num_coordinates(counties).sum() >= geometry.STORE_MIN_VERTICES
    made = simplify_coverage(counties, UNIT_TOLERANCE_DEG)
    (entry,) = (tmp_path / "map_geometry").glob("*.npz")

    def no_simplify(*args, **kwargs):
        raise AssertionError("simplified again")

    monkeypatch.setattr(shapely, "coverage_simplify", no_simplify)
    stored = simplify_coverage(counties, UNIT_TOLERANCE_DEG)
    assert stored[3] is None and made[3] is None
    present = np.arange(len(counties)) != 3
    assert shapely.to_wkb(stored[present]).tolist() == shapely.to_wkb(made[present]).tolist()
    with pytest.raises(AssertionError, match="simplified again"):  # another tolerance is another entry
        simplify_coverage(counties, 2 * UNIT_TOLERANCE_DEG)
    moved = shapely.transform(counties, lambda xy: xy + 1e-9)
    with pytest.raises(AssertionError, match="simplified again"):  # and so are other geometries
        simplify_coverage(moved, UNIT_TOLERANCE_DEG)
    monkeypatch.undo()
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    entry.write_bytes(b"damaged")
    again = simplify_coverage(counties, UNIT_TOLERANCE_DEG)
    assert shapely.to_wkb(again[present]).tolist() == shapely.to_wkb(made[present]).tolist()


def test_small_layers_are_not_stored(zhejiang, tmp_path, monkeypatch):
    monkeypatch.setenv("GIS_CACHE_DIR", str(tmp_path))
    few = zhejiang.counties.geometry.to_numpy()[:2]
    assert shapely.get_num_coordinates(few).sum() < geometry.STORE_MIN_VERTICES
    simplify_coverage(few, UNIT_TOLERANCE_DEG)
    assert not (tmp_path / "map_geometry").exists()
