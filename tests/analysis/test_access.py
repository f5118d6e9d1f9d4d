"""gis.analysis.access and roads on a tiny world worked out by hand.

The world lies on the equator, where the WGS-84 geodesic between two points is the arc of the
equator: a · Δλ, with a = 6 378 137 m, so 0.02° is exactly 2.226 389 8 km. Four cells at
longitudes 0, 0.02, 0.04, 0.06 hold 100, 200, 300, 400 persons; classes urban centre, rural,
urban centre, rural; the first two are unit 0, the last two unit 1. Facility F0 (capacity
10) sits on cell 0, F1 (capacity 20) on cell 3.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis.analysis.access import (
    Cells,
    Facilities,
    gaussian_weight,
    measure_access,
    nearest_km,
    pairs_within_km,
    parse_thresholds,
    read_facilities,
    two_step_fca,
)
from gis.errors import GisError

STEP_KM = 6378137 * math.pi / 180 * 0.02 / 1000  # 2.2263898 km: 0.02° of the equator
LON = np.array([0.0, 0.02, 0.04, 0.06])
POPULATION = np.array([100.0, 200.0, 300.0, 400.0])


def _cells() -> Cells:
    return Cells(LON.copy(), np.zeros(4), POPULATION.copy(), np.array([3, 1, 3, 1], dtype=np.uint8),
                 np.array([0, 0, 1, 1]), np.arange(4), (1, 4), None, "tiny world")


def _facilities(capacity=(10.0, 20.0)) -> Facilities:
    report = pd.DataFrame({"row": [2, 3], "status": ["used", "used"]})
    return Facilities(np.array([0.0, 0.06]), np.zeros(2), np.array([2, 3]), np.asarray(capacity, dtype=float),
                      "tiny.csv", "wgs84", report)


def test_nearest_distances_by_hand():
    km, index = nearest_km(LON, np.zeros(4), np.array([0.0, 0.06]), np.zeros(2))
    # Cell 1 is 0.02° from F0 and 0.04° from F1; cell 2 the other way round.
    assert np.allclose(km, [0.0, STEP_KM, STEP_KM, 0.0], atol=1e-9)
    assert index.tolist() == [0, 0, 1, 1]


def test_nearest_matches_brute_force_geodesic():
    from pyproj import Geod

    rng = np.random.default_rng(3)
    cells = rng.uniform([118, 27], [123, 31.5], (400, 2))
    sites = rng.uniform([118, 27], [123, 31.5], (60, 2))
    km, index = nearest_km(cells[:, 0], cells[:, 1], sites[:, 0], sites[:, 1])
    geod = Geod(ellps="WGS84")
    for i in range(0, 400, 7):
        _, _, metres = geod.inv(np.full(60, cells[i, 0]), np.full(60, cells[i, 1]), sites[:, 0], sites[:, 1])
        assert km[i] == pytest.approx(metres.min() / 1000, abs=1e-9)
        assert index[i] == np.argmin(metres)


def test_unit_shares_means_and_urban_rural_gap_by_hand():
    result = measure_access(_cells(), _facilities(), (1.0, 3.0), n_units=2)
    frame = result.units
    # Unit 0: cell 0 (100 persons) at 0 km, cell 1 (200) at 2.226 km.
    assert frame["share_within_1km"].tolist() == pytest.approx([100 / 3, 400 / 7])
    assert frame["share_within_3km"].tolist() == pytest.approx([100.0, 100.0])
    assert frame["mean_distance_km"].tolist() == pytest.approx([200 * STEP_KM / 300, 300 * STEP_KM / 700])
    assert frame["grid_population"].tolist() == [300.0, 700.0]
    # Unit 0's rural cell is the far one; unit 1's urban cell is.
    assert frame["mean_distance_km_rural_gap"].tolist() == pytest.approx([STEP_KM, -STEP_KM])
    assert frame["share_within_1km_urban_centre"].tolist() == pytest.approx([100.0, 0.0])
    assert frame["share_within_1km_rural"].tolist() == pytest.approx([0.0, 100.0])
    assert frame["grid_population_urban_cluster"].tolist() == [0.0, 0.0]
    assert frame["mean_distance_km_urban_cluster"].isna().all()  # no one there: missing, not 0
    assert "access_2sfca" in frame  # the facilities have capacities
    without = _facilities()
    without.capacity = None
    assert "access_2sfca" not in measure_access(_cells(), without, (1.0,), n_units=2).units


def test_gaussian_weight_ends():
    assert gaussian_weight(np.array([0.0, 3.0, 4.0]), 3.0).tolist() == pytest.approx([1.0, 0.0, 0.0])
    # (exp(-0.5·(1.5/3)²) − exp(-0.5)) / (1 − exp(-0.5)) = (0.882497 − 0.606531) / 0.393469 = 0.275966 / 0.393469
    assert gaussian_weight(np.array([1.5]), 3.0)[0] == pytest.approx(0.701366, abs=1e-6)


def test_two_step_fca_by_hand():
    # Catchment 3 km: F0 reaches cells 0 (d=0) and 1 (d=2.226), F1 cells 3 and 2; g = G(2.226) =
    # (exp(-0.5·(2.2264/3)²) − e^-0.5) / (1 − e^-0.5) = 0.388224.
    g = 0.3882235863550843
    cell, facility, d = pairs_within_km(LON, np.zeros(4), np.array([0.0, 0.06]), np.zeros(2), 3.0)
    assert sorted(zip(cell.tolist(), facility.tolist())) == [(0, 0), (1, 0), (2, 1), (3, 1)]
    score, ratio = two_step_fca(cell, facility, d, POPULATION, np.array([10.0, 20.0]), 3.0)
    # R0 = 10 / (100 + g·200), R1 = 20 / (400 + g·300); A = 1000·(G·R) summed per cell.
    r0, r1 = 10 / (100 + g * 200), 20 / (400 + g * 300)
    assert ratio.tolist() == pytest.approx([r0, r1])
    assert score.tolist() == pytest.approx([1000 * r0, 1000 * g * r0, 1000 * g * r1, 1000 * r1])
    assert score.tolist() == pytest.approx([56.292133, 21.853934, 15.033817, 38.724637], abs=1e-6)
    # Each unit is one facility's whole catchment: its mean is capacity per 1 000 residents.
    frame = measure_access(_cells(), _facilities(), (1.0, 3.0), n_units=2).units
    assert frame["access_2sfca"].tolist() == pytest.approx([1000 * 10 / 300, 1000 * 20 / 700])
    # Capacity is conserved: Σ P·A / 1000 = total capacity of facilities that reach someone.
    assert (POPULATION * score).sum() / 1000 == pytest.approx(30.0)


def test_facility_with_nobody_in_reach_is_reported():
    facilities = _facilities((10.0, 20.0, 5.0))
    facilities.lon = np.array([0.0, 0.06, 1.0])
    facilities.lat = np.zeros(3)
    facilities.rows = np.array([2, 3, 4])
    result = measure_access(_cells(), facilities, (3.0,), n_units=2)
    assert any("1 facilities have nobody within 3 km" in note and "rows 4" in note for note in result.notes)


def test_thresholds_refused_out_of_range():
    assert parse_thresholds("5,1,3", "km") == (1.0, 3.0, 5.0)
    with pytest.raises(GisError, match="0 km is out of range"):
        parse_thresholds("0,3", "km")
    with pytest.raises(GisError, match="10000 km is out of range"):
        parse_thresholds("10000", "km")
    with pytest.raises(GisError, match="'a' is not a number"):
        parse_thresholds("15,a", "min")


# --------------------------------------------------------------------------------------------
# Reading facilities


def _write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def test_chinese_headers_gcj02_and_every_left_out_row_reported(tmp_path):
    from gis.units.coords import gcj02_to_wgs84

    path = _write(tmp_path / "clinics.csv", "名称,经度,纬度,床位\nA,120.15,30.28,10\nB,,,4\nA,120.15,30.28,10\nC,100.0,30.0,3\nD,120.16,30.29,8\n")
    area = shapely.box(118, 27, 123, 31.5)
    facilities = read_facilities(path, "gcj02", "床位", area)
    assert facilities.rows.tolist() == [2, 6]
    lon, lat = gcj02_to_wgs84(120.15, 30.28)
    assert facilities.lon[0] == pytest.approx(lon) and facilities.lat[0] == pytest.approx(lat)
    assert facilities.capacity.tolist() == [10.0, 8.0]
    assert facilities.report.set_index("row")["status"].to_dict() == {
        2: "used", 3: "no coordinates", 4: "duplicate of row 2", 5: "outside the area", 6: "used"}
    lines = facilities.problems()
    assert any("no coordinates: 3" in line for line in lines)
    assert any("duplicate: 4" in line for line in lines)
    assert any("outside the area: 5" in line for line in lines)


def test_amap_location_column_and_bd09(tmp_path):
    from gis.units.coords import bd09_to_wgs84

    path = _write(tmp_path / "poi.csv", "name,location\nX,\"120.15,30.28\"\n")
    facilities = read_facilities(path, "bd09")
    assert (facilities.lon[0], facilities.lat[0]) == pytest.approx(tuple(float(v) for v in bd09_to_wgs84(120.15, 30.28)))


def test_xlsx_with_a_title_row(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["表1 乡镇卫生院（示例）"])
    sheet.append(["名称", "经度", "纬度", "床位"])
    sheet.append(["甲", 120.1, 30.2, 12])
    sheet.append(["乙", None, None, 3])
    book.save(tmp_path / "t.xlsx")
    facilities = read_facilities(tmp_path / "t.xlsx", capacity="床位")
    assert facilities.rows.tolist() == [3] and facilities.capacity.tolist() == [12.0]
    assert facilities.report["status"].tolist() == ["used", "no coordinates"]


def test_capacity_with_text_is_one_line(tmp_path):
    path = _write(tmp_path / "c.csv", "lon,lat,beds\n120.1,30.2,10\n120.2,30.3,many\n")
    with pytest.raises(GisError, match=r"c.csv, row 3, column beds: 'many' is not a number"):
        read_facilities(path, capacity="beds")


def test_missing_coordinate_columns(tmp_path):
    path = _write(tmp_path / "c.csv", "name,address\nA,somewhere\n")
    with pytest.raises(GisError, match="no header row in the first 200 rows; expected coordinate columns lon/lat"):
        read_facilities(path)


def test_point_layer(tmp_path):
    path = tmp_path / "p.gpkg"
    gpd.GeoDataFrame({"beds": [5, 7]}, geometry=gpd.points_from_xy([120.1, 120.2], [30.2, 30.3]), crs="EPSG:4326").to_file(path)
    facilities = read_facilities(path, capacity="beds")
    assert facilities.lon.tolist() == [120.1, 120.2] and facilities.capacity.tolist() == [5.0, 7.0]
    assert facilities.row_word == "feature"


def test_no_facility_inside_the_area(tmp_path):
    path = _write(tmp_path / "far.csv", "lon,lat\n100.0,20.0\n")
    facilities = read_facilities(path, area=shapely.box(118, 27, 123, 31.5))
    with pytest.raises(GisError, match="no facility inside the area"):
        measure_access(_cells(), facilities, (3.0,), n_units=2)


# --------------------------------------------------------------------------------------------
# Roads


def _road_file(tmp_path):
    path = tmp_path / "roads.gpkg"
    line = shapely.LineString([(0.0, 0.0), (0.02, 0.0), (0.04, 0.0), (0.06, 0.0)])
    gpd.GeoDataFrame({"highway": ["primary"]}, geometry=[line], crs="EPSG:4326").to_file(path)
    return path


def _pbf(tmp_path):
    """The same road as an OSM .pbf, written with osmium's writer."""
    import osmium

    path = tmp_path / "roads.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        for i, lon in enumerate(LON, start=1):
            writer.add_node(osmium.osm.mutable.Node(id=i, location=(lon, 0.0)))
        writer.add_node(osmium.osm.mutable.Node(id=99, location=(5.0, 5.0), tags={"amenity": "clinic"}))
        writer.add_way(osmium.osm.mutable.Way(id=1, nodes=[1, 2, 3, 4], tags={"highway": "primary"}))
        writer.add_way(osmium.osm.mutable.Way(id=2, nodes=[1, 99], tags={"waterway": "river"}))
        writer.add_way(osmium.osm.mutable.Way(id=3, nodes=[4, 500], tags={"highway": "track"}))  # node 500 is not in the file
    return path


@pytest.mark.parametrize("kind", ["gpkg", "pbf"])
def test_network_times_by_hand(tmp_path, kind):
    from gis.analysis.roads import read_roads, read_speeds, road_graph

    if kind == "gpkg":
        lines, classes, column = read_roads(_road_file(tmp_path))
    else:
        with pytest.warns(UserWarning, match="1 highway ways without node locations"):
            lines, classes, column = read_roads(_pbf(tmp_path))
    assert list(classes) == ["primary"] and column == "highway"  # the river way is not a road
    graph = road_graph(lines, classes, read_speeds())
    assert graph.n_edges == 3
    result = measure_access(_cells(), _facilities(), (2.0, 5.0), n_units=2, graph=graph)
    # Primary roads at 50 km/h: 2.2264 km take 2.2264 / 50 · 60 = 2.6717 min (walking: 26.7).
    minutes = STEP_KM / 50 * 60
    assert result.distance == pytest.approx([0.0, minutes, minutes, 0.0], abs=1e-6)
    assert result.units["share_within_2min"].tolist() == pytest.approx([100 / 3, 400 / 7])
    assert result.units["mean_time_min"].tolist() == pytest.approx([200 * minutes / 300, 300 * minutes / 700])
    # 2SFCA over travel time: the same pairs as the 3 km straight-line case, d in minutes.
    g = float(gaussian_weight(np.array([minutes]), 5.0)[0])
    r0 = 10 / (100 + g * 200)
    assert result.score[:2] == pytest.approx([1000 * r0, 1000 * g * r0])


def test_speeds_file_overrides_and_walking_fallback(tmp_path):
    from gis.analysis.roads import read_roads, read_speeds, road_graph

    speeds_path = _write(tmp_path / "speeds.toml", "off_road = 4\n[speeds]\nprimary = 1\n")
    speeds = read_speeds(speeds_path)
    assert speeds.by_class["primary"] == 1.0 and speeds.off_road == 4.0 and speeds.by_class["trunk"] == 70.0
    graph = road_graph(*read_roads(_road_file(tmp_path))[:2], speeds)
    result = measure_access(_cells(), _facilities(), (60.0,), n_units=2, graph=graph)
    # At 1 km/h the road is slower than walking 2.2264 km at 4 km/h (33.4 min): walking wins.
    assert result.distance[1] == pytest.approx(STEP_KM / 4 * 60)
    csv_speeds = read_speeds(_write(tmp_path / "s.csv", "class,speed_kmh\nprimary,70\ndefault,12\n"))
    assert csv_speeds.by_class["primary"] == 70.0 and csv_speeds.default == 12.0
    with pytest.raises(GisError, match=r"s2.csv, row 2: 'fast' is not a speed"):
        read_speeds(_write(tmp_path / "s2.csv", "class,speed_kmh\nprimary,fast\n"))


def test_road_file_without_lines_or_crs(tmp_path):
    from gis.analysis.roads import read_roads

    points = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs="EPSG:4326").to_file(points)
    with pytest.raises(GisError, match="no road lines"):
        read_roads(points)
    gpd.GeoDataFrame(geometry=[shapely.LineString([(500000, 3e6), (501000, 3e6)])]).to_file(tmp_path / "nocrs.shp")
    with pytest.raises(GisError, match="no CRS"):
        read_roads(tmp_path / "nocrs.shp")
