"""``gis access`` end to end on Zhejiang with SYNTHETIC facility points (a fixed random draw,
not real clinics): the GeoPackage, GeoTIFF, CSV, method text and HTML map are read back; bad
input gives one line."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from click.testing import CliRunner

from gis.cli import main
from support.maps import embedded_payload


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _synthetic_facilities(path, n=40, seed=21):
    """SYNTHETIC clinics: points drawn inside Zhejiang's counties (WGS-84), beds 5–60, plus a
    row without coordinates and a point in Jiangxi, which must be reported."""
    from gis.units.boundaries import load_boundaries

    province = load_boundaries("330000").province.geometry.union_all()
    rng = np.random.default_rng(seed)
    points = []
    while len(points) < n:
        x, y = rng.uniform(118.1, 122.8), rng.uniform(27.1, 31.2)
        if shapely.contains_xy(province, x, y):
            points.append((x, y))
    lines = ["名称,经度,纬度,床位"] + [f"合成卫生院{i},{x:.6f},{y:.6f},{rng.integers(5, 61)}" for i, (x, y) in enumerate(points)]
    lines += ["无坐标,,,10", "江西的点,115.9,28.7,10"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return points


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    folder = tmp_path_factory.mktemp("access")
    facilities = folder / "SYNTHETIC_clinics.csv"
    points = _synthetic_facilities(facilities)
    result = run("access", "--facilities", facilities, "--capacity", "床位", "--thresholds-km", "3,10",
                 "-o", folder / "access.gpkg", "--map", folder / "access.html")
    assert result.exit_code == 0, result.output
    return folder, np.array(points), result.output


def test_geopackage_keeps_units_and_is_styled(straight, zhejiang):
    folder, _, output = straight
    frame = gpd.read_file(folder / "access.gpkg", layer="access_units")
    assert len(frame) == 90 and set(zhejiang.counties.columns) - {"geometry"} <= set(frame.columns)
    for column in ("share_within_3km", "share_within_10km", "mean_distance_km", "access_2sfca",
                   "mean_distance_km_rural", "mean_distance_km_rural_gap", "share_within_10km_urban_centre"):
        assert column in frame.columns
    assert frame["share_within_3km"].between(0, 100).all()
    assert (frame["share_within_10km"] >= frame["share_within_3km"]).all()
    assert (frame["grid_population"] > 0).all()
    with sqlite3.connect(folder / "access.gpkg") as connection:
        styles = connection.execute("SELECT styleName, useAsDefault FROM layer_styles WHERE f_table_name='access_units'").fetchall()
    assert ("mean_distance_km", 1) in styles and len(styles) == 4  # mean, two shares, 2SFCA
    assert "rows 42" not in output and "row left out, no coordinates: 42" in output
    assert "outside the area: 43" in output


def test_distance_geotiff_is_the_geodesic_to_the_nearest_point(straight):
    from pyproj import Geod, Transformer

    folder, points, _ = straight
    with rasterio.open(folder / "access_distance.tif") as src:
        assert src.crs.to_string() == "ESRI:54009" and src.res == (1000.0, 1000.0)
        grid = src.read(1)
        assert src.tags()["MODE"] == "straight-line" and src.tags()["UNIT"] == "km"
        rows, cols = np.nonzero(np.isfinite(grid))
        pick = np.random.default_rng(0).choice(len(rows), 25, replace=False)
        xs, ys = rasterio.transform.xy(src.transform, rows[pick], cols[pick])
    lon, lat = Transformer.from_crs("ESRI:54009", "EPSG:4326", always_xy=True).transform(xs, ys)
    geod = Geod(ellps="WGS84")
    for k in range(len(pick)):
        _, _, metres = geod.inv(np.full(len(points), lon[k]), np.full(len(points), lat[k]), points[:, 0], points[:, 1])
        assert grid[rows[pick[k]], cols[pick[k]]] == pytest.approx(metres.min() / 1000, rel=1e-5)
    method = (folder / "access_method.txt").read_text(encoding="utf-8")
    assert "STRAIGHT LINE" in method and "Gaussian two-step floating catchment" in method
    report = pd.read_csv(folder / "access_facilities.csv", encoding="utf-8-sig")
    assert len(report) == 42 and (report["status"] == "used").sum() == 40


def test_map_views_and_values(straight, browser):
    folder, _, _ = straight
    page = folder / "access.html"
    text = page.read_text(encoding="utf-8")
    config, units = embedded_payload(text)
    labels = [v["label"].split(" / ")[0] for v in config["views"]]
    assert labels == ["人口加权平均直线距离", "3 公里以内人口比例", "10 公里以内人口比例", "城乡差距：农村减城镇平均直线距离",
                      "两步移动搜寻法可达性：容量"]
    frame = gpd.read_file(folder / "access.gpkg", layer="access_units").set_index("name")
    for feature in units["features"][:10]:
        props = feature["properties"]
        assert props["t"][1] == [f"{frame.loc[props['n'], 'share_within_3km']:.2f}%"]
    browser.open(page)
    assert browser.evaluate("document.querySelectorAll('.leaflet-overlay-pane path.gis-unit').length") == 90
    assert browser.errors() == []


def test_csv_with_user_units_and_roads(tmp_path, zhejiang):
    facilities = tmp_path / "f.csv"
    _synthetic_facilities(facilities, n=6, seed=3)
    units = zhejiang.prefectures[["adcode", "name", "geometry"]].assign(planner_note="kept", grid_population=-1)
    units_path = tmp_path / "my_units.gpkg"
    units.to_file(units_path)
    roads = tmp_path / "roads.gpkg"
    gpd.GeoDataFrame({"fclass": ["motorway", "primary"]},
                     geometry=[shapely.LineString([(118.5, 29.0), (120.0, 29.5), (121.5, 29.8)]),
                               shapely.LineString([(120.0, 29.5), (120.2, 30.3)])], crs="EPSG:4326").to_file(roads)
    out = tmp_path / "t.csv"
    result = run("access", "--facilities", facilities, "--units", units_path, "--roads", roads, "--thresholds-min", "30,60", "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    table = pd.read_csv(out, encoding="utf-8-sig", comment="#")
    assert len(table) == 11 and (table["planner_note"] == "kept").all()
    # A column of the user's with a name gis access writes is kept as it is; ours is renamed (said).
    assert (table["grid_population"] == -1).all() and (table["grid_population_gis"] > 0).all()
    assert "ours renamed grid_population -> grid_population_gis" in result.output
    assert table["share_within_30min"].between(0, 100).all() and "mean_time_min" in table
    assert "NETWORK TRAVEL TIME" in (tmp_path / "t_method.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("args, message", [
    (["--thresholds-km", "0,3"], "--thresholds-km 0,3: 0 km is out of range; expected above 0 and at most 500 km"),
    (["--thresholds-km", "10000"], "10000 km is out of range"),
    (["--thresholds-min", "15"], "--thresholds-min measures travel time over a road network: give --roads too"),
])
def test_bad_thresholds_are_one_line(tmp_path, args, message):
    facilities = tmp_path / "f.csv"
    facilities.write_text("lon,lat\n120.1,30.2\n", encoding="utf-8")
    result = run("access", "--facilities", facilities, *args, "-o", tmp_path / "o.gpkg")
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_bad_files_are_one_line(tmp_path):
    text = tmp_path / "text.csv"
    text.write_text("lon,lat,beds\n120.1,30.2,10\n120.2,30.3,很多\n", encoding="utf-8")
    far = tmp_path / "far.csv"
    far.write_text("lon,lat\n100.0,20.0\n", encoding="utf-8")
    points = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.Point(120, 30)], crs="EPSG:4326").to_file(points)
    no_crs = tmp_path / "nocrs.shp"
    pyogrio.write_dataframe(gpd.GeoDataFrame(geometry=[shapely.LineString([(5e5, 3e6), (5.1e5, 3e6)])]), no_crs)
    cases = [
        (["--facilities", text, "--capacity", "beds", "--thresholds-km", "3"], "text.csv, row 3, column beds: '很多' is not a number"),
        (["--facilities", far, "--thresholds-km", "3"], "far.csv: no facility inside 浙江省"),
        (["--facilities", far.with_name("text.csv"), "--roads", points, "--thresholds-min", "30"], "points.gpkg: no road lines"),
        (["--facilities", far.with_name("text.csv"), "--roads", no_crs, "--thresholds-min", "30"], "nocrs.shp: the road layer has no CRS"),
    ]
    for args, message in cases:
        result = run("access", *args, "-o", tmp_path / "o.gpkg")
        assert result.exit_code == 2 and message in result.output, result.output
        # Progress lines ([hh:mm:ss] on stderr) may come first; the error is one line.
        assert len([line for line in result.output.strip().splitlines() if not line.startswith("[")]) == 1, result.output
