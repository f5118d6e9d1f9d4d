"""Users' own polygon files (gis.units.user_units) through ``gis degurba units`` / ``compare``:
a township file keeps every column, layers are chosen, GBK Shapefiles are decoded, empty
geometries are reported, and the GeoPackage opens in QGIS with the counties' Level 2 style."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gis.cli import main
from gis.errors import GisError
from gis.units.user_units import attach_columns, read_user_units
from support.townships import townships, write_townships

USER_COLUMNS = ["town_code", "乡镇名称", "常住人口", "population", "面积备注"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("townships")
    return (folder, *write_townships(folder))


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_township_file_keeps_every_column_in_order_and_type_in_gpkg_and_csv(inputs):
    folder, units, raster = inputs
    result = run("degurba", "units", "--population", raster, "--units", units, "--out", folder / "out.gpkg")
    assert result.exit_code == 0, result.output
    written = pyogrio.read_dataframe(folder / "out.gpkg", layer="degurba_units")
    assert list(written.columns[:5]) == USER_COLUMNS
    assert written["town_code"].tolist() == townships()["town_code"].tolist()  # text codes stay text (leading digits kept)
    assert written["常住人口"].dtype == "int64" and written["乡镇名称"].iloc[0] == "第1镇"
    assert {"degurba_l1", "degurba_l2", "share_urban_centre", "degurba_rules"} <= set(written.columns)
    assert set(written["degurba_l2"]) >= {30, 21, 11}

    result = run("degurba", "units", "--population", raster, "--units", units, "--out", folder / "out.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(folder / "out.csv", encoding="utf-8-sig", dtype={"town_code": str})
    assert list(table.columns[:5]) == USER_COLUMNS and table["town_code"].iloc[3] == "330106004000"
    assert table["degurba_l2"].tolist() == written["degurba_l2"].tolist()


def test_unit_population_column_keeps_its_name_and_a_clash_is_renamed_visibly(inputs, tmp_path):
    folder, units, raster = inputs
    grid = tmp_path / "grid.tif"
    assert run("degurba", "grid", "--population", raster, "--out", grid).exit_code == 0
    result = run("degurba", "units", "--grid", grid, "--units", units, "--unit-population", "常住人口", "--out", tmp_path / "u.gpkg")
    assert result.exit_code == 0, result.output
    assert "ours renamed population -> population_gis" in result.output
    written = pyogrio.read_dataframe(tmp_path / "u.gpkg", layer="degurba_units")
    assert written["常住人口"].tolist() == townships()["常住人口"].tolist()
    assert written["population"].tolist() == townships()["population"].tolist()  # the user's, untouched
    assert written["population_gis"].sum() == pytest.approx(townships()["常住人口"].sum(), rel=1e-6)


def test_the_units_geopackage_carries_the_counties_level2_style_labelled_by_name(inputs):
    folder, units, raster = inputs
    out = folder / "styled.gpkg"
    assert run("degurba", "units", "--population", raster, "--units", units, "--out", out).exit_code == 0
    with sqlite3.connect(out) as db:
        rows = db.execute("SELECT f_table_name, styleName, useAsDefault, styleQML FROM layer_styles").fetchall()
    assert len(rows) == 1 and rows[0][0] == "degurba_units" and rows[0][2] == 1
    qml = rows[0][3]
    assert "城市化程度 L2" in rows[0][1]
    assert '"degurba_l2" = 30' in qml.replace("&quot;", '"') and "30 城市 city" in qml and "乡镇名称" in qml


def test_several_layers_need_layer_and_the_layer_used_is_said(inputs, tmp_path):
    folder, units, raster = inputs
    two = tmp_path / "two.gpkg"
    frame = townships()
    frame.to_file(two, layer="towns_2020", driver="GPKG")
    frame.iloc[:3].to_file(two, layer="towns_2010", driver="GPKG")
    result = run("degurba", "units", "--population", raster, "--units", two, "--out", tmp_path / "o.gpkg")
    assert result.exit_code == 2 and "2 layers (towns_2020, towns_2010); choose one with --layer NAME" in result.output
    assert not (tmp_path / "o.gpkg").exists()
    result = run("degurba", "units", "--population", raster, "--units", two, "--layer", "towns_2010", "--out", tmp_path / "o.gpkg")
    assert result.exit_code == 0, result.output
    assert "layer towns_2010 (of towns_2020, towns_2010)" in result.output
    assert len(pyogrio.read_dataframe(tmp_path / "o.gpkg", layer="degurba_units")) == 3
    result = run("degurba", "units", "--population", raster, "--units", two, "--layer", "towns", "--out", tmp_path / "p.gpkg")
    assert result.exit_code == 2 and "no layer 'towns' (--layer); its layers: towns_2020, towns_2010" in result.output


def test_gbk_shapefile_without_cpg_is_decoded_and_said(tmp_path):
    frame = townships().iloc[:4]
    frame = frame.assign(乡镇名称=["上城区", "西湖区", "滨江区", "萧山区"])
    pyogrio.write_dataframe(frame, tmp_path / "towns.shp", encoding="GBK")
    (tmp_path / "towns.cpg").unlink()
    assert gpd.read_file(tmp_path / "towns.shp").iloc[0, 1] == "ÉÏ³ÇÇø"  # what GDAL alone gives
    notes = []
    read = read_user_units(tmp_path / "towns.shp", on_note=notes.append)
    assert read["乡镇名称"].tolist() == ["上城区", "西湖区", "滨江区", "萧山区"]
    assert notes == ["towns.shp: no .cpg file; text read as GBK (detected; add a .cpg holding GBK to say so)"]
    # With a .cpg, GDAL is trusted and nothing is said.
    (tmp_path / "towns.cpg").write_text("GBK")
    notes.clear()
    assert read_user_units(tmp_path / "towns.shp", on_note=notes.append)["乡镇名称"].iloc[1] == "西湖区" and notes == []


def test_null_and_empty_geometries_are_named_and_left_out_only_on_request(inputs, tmp_path):
    folder, units, raster = inputs
    frame = townships()
    geometries = frame.geometry.to_numpy()
    geometries[2] = shapely.Polygon()
    geometries[6] = None
    broken = tmp_path / "broken.gpkg"
    gpd.GeoDataFrame(frame.drop(columns="geometry"), geometry=geometries, crs=frame.crs).to_file(broken, driver="GPKG")
    result = run("degurba", "units", "--population", raster, "--units", broken, "--out", tmp_path / "o.gpkg")
    assert result.exit_code == 2
    assert "2 of 20 features have a null or empty geometry (feature 3, 7); mend them, or give --skip-invalid" in result.output
    result = run("degurba", "units", "--population", raster, "--units", broken, "--skip-invalid", "--out", tmp_path / "o.gpkg")
    assert result.exit_code == 0, result.output
    assert "(feature 3, 7): left out (--skip-invalid)" in result.output
    written = pyogrio.read_dataframe(tmp_path / "o.gpkg", layer="degurba_units")
    assert len(written) == 18 and "第3镇" not in set(written["乡镇名称"]) and "第7镇" not in set(written["乡镇名称"])
    # compare reads through the same reader.
    grid = tmp_path / "grid.tif"
    assert run("degurba", "grid", "--population", raster, "--out", grid).exit_code == 0
    result = run("degurba", "compare", grid, grid, "--units", broken, "--out", tmp_path / "cmp")
    assert result.exit_code == 2 and "feature 3, 7" in result.output


def test_compare_keeps_the_users_columns(inputs, tmp_path):
    folder, units, raster = inputs
    grid = tmp_path / "grid.tif"
    assert run("degurba", "grid", "--population", raster, "--out", grid).exit_code == 0
    result = run("degurba", "compare", grid, grid, "--units", units, "--out", tmp_path / "cmp")
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(tmp_path / "cmp" / "unit_classes.csv", encoding="utf-8-sig", dtype={"town_code": str})
    assert list(rows.columns) == USER_COLUMNS + ["degurba_l1_a", "degurba_l2_a", "degurba_l1_b", "degurba_l2_b", "changed"]
    assert rows["town_code"].tolist() == townships()["town_code"].tolist()


def test_attach_columns_renames_ours_case_insensitively_and_repeatedly():
    user = gpd.GeoDataFrame({"Degurba_L2": [1], "degurba_l2_gis": ["x"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    notes = []
    joined = attach_columns(user, pd.DataFrame({"degurba_l2": [30], "share": [0.5]}), on_note=notes.append)
    assert list(joined.columns) == ["Degurba_L2", "degurba_l2_gis", "degurba_l2_gis2", "share"]
    assert len(notes) == 1 and "degurba_l2 -> degurba_l2_gis2" in notes[0]


def test_other_geometry_types_and_missing_crs_are_one_line(tmp_path):
    points = gpd.GeoDataFrame({"a": [1, 2]}, geometry=[shapely.box(0, 0, 1, 1), shapely.Point(0, 0)], crs=4326)
    points.to_file(tmp_path / "mixed.geojson", driver="GeoJSON")
    with pytest.raises(GisError, match=r"expected polygons, found \['Point'\] \(feature 2\)"):
        read_user_units(tmp_path / "mixed.geojson")
    with pytest.raises(GisError, match="no such file"):
        read_user_units(tmp_path / "absent.gpkg")
