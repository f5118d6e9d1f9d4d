"""Planner maps without a browser: specs, classification, formatting, geometry, pages, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.errors import GisError
from gis.maps import default_spec_paths, load_spec, render_maps
from gis.maps.geometry import UNIT_TOLERANCE_DEG, geojson_geometry, simplify_coverage
from gis.maps.numbers import NO_DATA, format_value
from gis.maps.schemes import class_bounds, class_index
from support.maps import NO_DATA_COUNTY, embedded_payload, map_layers

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SPECS = default_spec_paths()
#: Default maps of county indicators that only users' tables supply.
NEED_USER_TABLES = {"county_income_gap", "county_ageing_services"}
INJECTION = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def layers(zhejiang):
    return map_layers(zhejiang)


@pytest.fixture(scope="module")
def rendered(layers, tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    notes = []
    written = render_maps(DEFAULT_SPECS, layers, out, on_note=lambda path, message: notes.append(message),
                          place=("浙江省", "Zhejiang"))
    return out, written, notes


def _embedded_units(page: str) -> dict:
    """The units FeatureCollection passed to GisMap.init, texts resolved."""
    return embedded_payload(page)[1]


# --------------------------------------------------------------------------- specs


def test_default_specs_are_valid():
    names = {p.stem for p in DEFAULT_SPECS}
    assert {"prefecture_income_ratio", "prefecture_income_gap", "county_degurba"} <= names
    for path in DEFAULT_SPECS:
        spec = load_spec(path)
        assert spec.title_zh and spec.title_en


def _write(tmp_path: Path, text: str, name: str = "bad_map.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
title_zh = "标题"
title_en = "Title"
description_zh = "说明"
description_en = "Description"
layer = "prefectures"
[[views]]
indicator = "income_ratio"
years = [2000, 2020]
scheme = "quantiles"
classes = 4
palette = "YlOrRd"
"""


@pytest.mark.parametrize(
    "change, key, allowed",
    [
        (('layer = "prefectures"', 'layer = "towns"'), "layer", "prefectures, counties, degurba_grid"),
        (('scheme = "quantiles"', 'scheme = "jenks"'), "views[0].scheme", "fisher_jenks"),
        (('palette = "YlOrRd"', 'palette = "RdYlGn"'), "views[0].palette", "colour-blind-safe"),
        (('palette = "YlOrRd"', 'palette = "Rainbow"'), "views[0].palette", "YlGnBu"),
        (('classes = 4', 'classes = 40'), "views[0].classes", "from 2 to 9"),
        (('indicator = "income_ratio"', 'indicator = "income_ratoi"'), "views[0].indicator", "income_gap"),
        (('years = [2000, 2020]', 'years = "some"'), "views[0].years", "all"),
        (('title_en = "Title"', 'titel_en = "Title"'), "titel_en", "allowed keys"),
        (('layer = "prefectures"', 'layer = "prefectures"\nbasemap = "google"'), "basemap", "osm, amap, tianditu"),
        (('scheme = "quantiles"', 'scheme = "user_breaks"\nbreaks = [2.0, 1.8]'), "views[0].breaks", "increasing"),
    ],
)
def test_bad_spec_names_file_key_and_allowed(tmp_path, change, key, allowed):
    path = _write(tmp_path, GOOD.replace(*change))
    with pytest.raises(GisError) as error:
        load_spec(path)
    message = str(error.value)
    assert str(path) in message and f"'{key}'" in message and allowed in message


def test_spec_is_data_not_code(tmp_path):
    path = _write(tmp_path, GOOD.replace('palette = "YlOrRd"', 'palette = "__import__(\'os\')"'))
    with pytest.raises(GisError, match="palette"):
        load_spec(path)


def test_broken_toml_and_missing_file(tmp_path):
    with pytest.raises(GisError, match="not valid TOML"):
        load_spec(_write(tmp_path, "title_zh = "))
    with pytest.raises(GisError, match="no such map spec"):
        load_spec(tmp_path / "absent.toml")


def test_unsafe_palette_needs_explicit_permission(tmp_path):
    spec = load_spec(_write(tmp_path, GOOD.replace('palette = "YlOrRd"', 'palette = "RdYlGn"\nallow_unsafe_palette = true')))
    assert spec.views[0].palette == "RdYlGn"


# --------------------------------------------------------------------------- classes & numbers


def test_class_index_convention_and_missing():
    bounds = np.array([1.0, 2.0, 3.0])
    assert class_index(np.array([0.5, 1.0, 1.5, 3.0, np.nan, 9.0]), bounds).tolist() == [0, 0, 1, 2, -1, 2]


def test_user_breaks_keep_requested_classes():
    bounds = class_bounds("user_breaks", np.array([1.6, 1.9, 2.4]), 4, (1.8, 2.0, 2.2))
    assert len(bounds) == 4 and np.isinf(bounds[-1])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(float("nan"))), min_size=1, max_size=60),
    st.sampled_from(["quantiles", "fisher_jenks", "equal_interval"]),
    st.integers(2, 7),
)
def test_every_value_gets_a_class_and_missing_stays_missing(values, scheme, classes):
    values = np.asarray(values)
    bounds = class_bounds(scheme, values, classes)
    index = class_index(values, bounds)
    finite = np.isfinite(values)
    assert (index[~finite] == -1).all()
    if finite.any():
        assert len(bounds) <= classes
        assert ((index[finite] >= 0) & (index[finite] < len(bounds))).all()
        order = np.argsort(values[finite], kind="stable")
        assert (np.diff(index[finite][order]) >= 0).all()  # larger value, same or higher class


def test_numbers_formatted_by_unit():
    assert format_value(31053.0, "yuan") == "31,053 元"
    assert format_value(2.152, "ratio") == "2.15 倍"
    assert format_value(8.5, "percent") == "8.50%"
    assert format_value(float("nan"), "yuan") == NO_DATA


# --------------------------------------------------------------------------- geometry


def test_coverage_simplification_keeps_neighbours_meeting(zhejiang):
    counties = zhejiang.counties.geometry.to_numpy()
    simplified = simplify_coverage(counties, UNIT_TOLERANCE_DEG)
    rounded = shapely.from_geojson([json.dumps(geojson_geometry(g)) for g in simplified])
    assert shapely.get_num_coordinates(rounded).sum() < 0.5 * shapely.get_num_coordinates(counties).sum()
    # Same vertices on both sides of every shared border: no gaps, no overlaps.
    assert shapely.coverage_is_valid(shapely.make_valid(rounded))
    hangzhou = zhejiang.counties.index[zhejiang.counties["name"].isin(["上城区", "拱墅区"])]
    a, b = rounded[hangzhou[0]], rounded[hangzhou[1]]
    assert a.intersection(b).area < 1e-9 and a.boundary.intersection(b.boundary).length > 0


# --------------------------------------------------------------------------- pages


def test_default_maps_written_with_index(rendered):
    out, written, notes = rendered
    # The shipped seed has no county indicators: the maps of users' county tables are skipped.
    drawn = [p for p in DEFAULT_SPECS if p.stem not in NEED_USER_TABLES]
    assert [p.name for p in written] == [f"{p.stem}.html" for p in drawn] + ["index.html"]
    assert sum("map skipped" in note for note in notes) == len(NEED_USER_TABLES)
    assert not list(out.glob(".*.tmp")), "temporary files must be renamed or removed"
    index = (out / "index.html").read_text(encoding="utf-8")
    for path in drawn:
        spec = load_spec(path).for_place("浙江省", "Zhejiang")
        assert f'href="{spec.name}.html"' in index and spec.title_zh in index and spec.title_en in index
        assert "{place}" not in spec.title_zh + spec.title_en and "浙江省" in spec.title_zh


def test_pages_are_self_contained(rendered):
    out, written, _ = rendered
    for path in written:
        page = path.read_text(encoding="utf-8")
        assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import|url\((?!data:|#)", page), path.name
        assert not re.search(r"jsdelivr|cdnjs|unpkg|code\.jquery|bootstrapcdn|fontawesome|d3js", page), path.name
    page = (out / "prefecture_income_ratio.html").read_text(encoding="utf-8")
    assert "leaflet.js.map" not in page and "Leaflet 1.9.4" in page and "BSD 2-Clause" in page


def test_county_map_under_3_mb(rendered):
    out, _, _ = rendered
    assert (out / "county_degurba.html").stat().st_size < 3_000_000


def test_one_geojson_carries_all_years(rendered):
    out, _, _ = rendered
    page = (out / "prefecture_income_ratio.html").read_text(encoding="utf-8")
    units = _embedded_units(page)
    assert len(units["features"]) == 11
    hangzhou = next(f for f in units["features"] if f["properties"]["n"] == "杭州市")
    assert len(hangzhou["properties"]["t"][0]) == 5 and hangzhou["properties"]["t"][0][0] == "2.15 倍"
    assert page.count('"type":"FeatureCollection"') == 2  # units + the pilot-zone outline
    popup = {(row[0], row[1]): row[2] for row in hangzhou["properties"]["pop"]}
    # In popups a number and its unit are held together by a non-breaking space.
    assert popup[("城乡居民收入绝对差距 / Urban-rural absolute income gap (urban − rural)", 2000)] == "5,172\u00a0元"


def test_no_data_unit_is_marked_and_listed(rendered):
    out, _, _ = rendered
    page = (out / "county_degurba.html").read_text(encoding="utf-8")
    unit = next(f for f in _embedded_units(page)["features"] if f["properties"]["n"] == NO_DATA_COUNTY)
    assert unit["properties"]["k"][0] == [-1] and unit["properties"]["t"][0] == [NO_DATA]
    assert "gis-swatch-nodata" in page and "按人口加权 / population-weighted" in page


def test_missing_layer_or_column_skips_with_message(layers, tmp_path):
    notes = []
    partial = {"prefectures": layers["prefectures"], "counties": layers["counties"].drop(columns=["degurba_l1", "degurba_l2"])}
    written = render_maps(DEFAULT_SPECS, partial, tmp_path, on_note=lambda p, m: notes.append((p.name, m)))
    assert "county_degurba.html" not in {p.name for p in written}
    # Planner's words: what the map needs and how to get it, no internal column names.
    said = [m for name, m in notes if name == "county_degurba.toml" and "map skipped" in m]
    assert said and "城市化程度" in said[0] and "--no-degurba" in said[0] and "degurba_l2" not in said[0]
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "county_degurba" in index and "not built" in index and "rebuild without --no-degurba" in index

    no_grid = {k: v for k, v in layers.items() if k != "degurba_grid"}
    notes.clear()
    written = render_maps([ROOT / "maps" / "county_degurba.toml"], no_grid, tmp_path, on_note=lambda p, m: notes.append(m))
    assert any("degurba_grid" in m for m in notes) and (tmp_path / "county_degurba.html").exists()


def test_user_text_is_escaped(layers, tmp_path):
    counties = layers["counties"].copy()
    counties.loc[counties["name"] == "淳安县", "name"] = INJECTION
    spec = _write(tmp_path, (ROOT / "maps" / "county_degurba.toml").read_text(encoding="utf-8")
                  .replace('title_en = "Degree of Urbanisation of counties, {place}"',
                           f'title_en = "{INJECTION}</script><b>x</b>"'), "escaped.toml")
    render_maps([spec], {**layers, "counties": counties}, tmp_path / "out")
    page = (tmp_path / "out" / "escaped.html").read_text(encoding="utf-8")
    assert "<img" not in page and "<b>x</b>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;" in page
    assert "\\u003cimg src=x onerror=alert(1)\\u003e" in page  # the county name, as JSON for textContent


def test_basemaps(layers, tmp_path, monkeypatch):
    spec = ROOT / "maps" / "prefecture_income_ratio.toml"
    render_maps([spec], layers, tmp_path / "osm", basemap="osm")
    assert "tile.openstreetmap.org" in (tmp_path / "osm" / spec.name.replace(".toml", ".html")).read_text(encoding="utf-8")

    render_maps([spec], layers, tmp_path / "plain")
    render_maps([spec], layers, tmp_path / "amap", basemap="amap")
    plain = _embedded_units((tmp_path / "plain" / "prefecture_income_ratio.html").read_text(encoding="utf-8"))
    amap_page = (tmp_path / "amap" / "prefecture_income_ratio.html").read_text(encoding="utf-8")
    shifted = _embedded_units(amap_page)
    x0 = plain["features"][0]["geometry"]["coordinates"][0][0][0]
    x1 = shifted["features"][0]["geometry"]["coordinates"][0][0][0]
    assert 0.001 < abs(np.subtract(x1, x0)).max() < 0.02  # GCJ-02 shifts a few hundred metres
    assert "高德地图" in amap_page and "autonavi.com" in amap_page

    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(GisError, match="TIANDITU_KEY"):
        render_maps([spec], layers, tmp_path / "tdt", basemap="tianditu")
    monkeypatch.setenv("TIANDITU_KEY", "abc123")
    render_maps([spec], layers, tmp_path / "tdt", basemap="tianditu")
    assert "tianditu.gov.cn" in (tmp_path / "tdt" / "prefecture_income_ratio.html").read_text(encoding="utf-8")


def test_cli_map_and_bad_spec(tmp_path):
    from gis.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["map", str(ROOT / "maps" / "prefecture_income_gap.toml"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "prefecture_income_gap.html").exists() and (tmp_path / "index.html").exists()

    bad = _write(tmp_path, GOOD.replace('scheme = "quantiles"', 'scheme = "kmeans"'))
    result = runner.invoke(main, ["map", str(bad), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "views[0].scheme" in result.output and str(bad) in result.output


def test_a_map_skipped_now_does_not_leave_an_earlier_version_listed(layers, tmp_path):
    spec = ROOT / "maps" / "county_degurba.toml"
    render_maps([spec], layers, tmp_path)
    assert (tmp_path / "county_degurba.html").exists()
    notes = []
    without = {**layers, "counties": layers["counties"].drop(columns=["degurba_l1", "degurba_l2"])}
    render_maps([spec], without, tmp_path, on_note=lambda p, m: notes.append(m))
    assert not (tmp_path / "county_degurba.html").exists()
    assert any("removed" in m for m in notes)
    assert 'href="county_degurba.html"' not in (tmp_path / "index.html").read_text(encoding="utf-8")


def test_grid_overlay_is_drawn_from_the_class_raster_when_given(zhejiang, tmp_path, monkeypatch):
    """With the raster behind the grid polygons (keyed by layer and column), the overlay is
    warped from it and the polygons are not rasterised at all."""
    from gis.degurba.grid import GHSL_CRS, snap_bounds
    from gis.degurba.rasters import ClassGrid
    from gis.maps import render

    layers = map_layers(zhejiang)
    window = snap_bounds(tuple(layers["counties"].to_crs(GHSL_CRS).total_bounds))
    codes = np.full(window.shape, 11, dtype=np.uint8)
    codes[: window.height // 2] = 30
    monkeypatch.setattr(render, "class_image", lambda *a, **k: pytest.fail("polygons rasterised"))
    written = render_maps([ROOT / "maps" / "county_degurba.toml"], layers, tmp_path,
                          rasters={("degurba_grid", "degurba_l2"): ClassGrid(codes, window)})
    page = next(p for p in written if p.name == "county_degurba.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page
