"""The maps as folium maps (gis.maps.folium_map, gis.maps.analysis_map), as a notebook uses
them: shown inline through ``_repr_html_`` (the page in an iframe's ``srcdoc``), extended with
folium layers, saved; checked in headless Chromium with networking off (tests/support/chromium.py).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest

from gis.errors import GisError
from gis.maps import analysis_map, folium_map
from support.maps import embedded_payload

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "maps" / "notebook"


@pytest.fixture(scope="module")
def ratio_map():
    return folium_map("prefecture_income_ratio", year=2010)


def _in_frame(expression: str) -> str:
    """``expression`` evaluated in the document of the page's first iframe."""
    return f"(function(){{var w=document.querySelector('iframe').contentWindow;return (function(){{return {expression};}}).call(w);}})()"


def _wait(browser, expression: str, tries: int = 60):
    for _ in range(tries):
        value = browser.evaluate(expression)
        if value:
            return value
        time.sleep(0.05)
    return browser.evaluate(expression)


def test_folium_map_is_a_folium_map_opening_on_the_asked_year(ratio_map):
    assert isinstance(ratio_map, folium.Map)
    config, units = embedded_payload(ratio_map.get_root().render())
    assert len(units["features"]) == 11 and config["views"][0]["years"][config["views"][0]["initialYear"]] == 2010
    assert ratio_map.notes == []


def test_bad_view_year_or_spec_is_one_line_error():
    with pytest.raises(GisError, match=r"year 2011: .* has years 2000, 2005, 2010, 2015, 2020"):
        folium_map("prefecture_income_ratio", year=2011)
    with pytest.raises(GisError, match=r"view 'rural': the map has views 0: income_ratio"):
        folium_map("prefecture_income_ratio", view="rural")
    with pytest.raises(GisError, match="shipped: .*county_degurba"):
        folium_map("no_such_map")
    with pytest.raises(GisError, match="county map covers one province"):
        folium_map("county_degurba", province="all")


@pytest.mark.browser
@pytest.mark.slow
def test_repr_html_draws_offline_in_an_iframe(browser, ratio_map, tmp_path):
    """What Jupyter shows: the ``_repr_html_`` fragment, the page in an iframe's srcdoc."""
    fragment = ratio_map._repr_html_()
    assert fragment.count("<iframe") == 1 and "srcdoc=" in fragment
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body style='width:1100px'>{fragment}</body></html>", encoding="utf-8")
    browser.open(notebook)
    drawn = _wait(browser, _in_frame("this.document.querySelectorAll('.leaflet-overlay-pane path.gis-unit').length"))
    assert drawn == 11
    assert _in_frame("this.document.querySelector('.gis-legend-view:not([hidden]) .gis-legend-year').textContent") \
        and browser.evaluate(_in_frame("this.document.querySelector('.gis-legend-year').textContent")) == "2010"
    assert browser.evaluate(_in_frame("this.document.querySelector('.gis-years-label').textContent")) == "2010"
    assert browser.evaluate(_in_frame("this.GisMap.instance.map.getZoom()")) > 5
    time.sleep(0.3)
    browser.screenshot(SCREENSHOTS / "repr-html.png")
    assert [u for u in browser.requested_urls() if u != notebook.resolve().as_uri()
            and not u.startswith(("data:", "about:"))] == []
    assert browser.evaluate(_in_frame("this.performance.getEntriesByType('resource').map(e => e.name)")) == []
    assert browser.errors() == []


@pytest.mark.browser
@pytest.mark.slow
def test_extended_and_saved_map_lists_the_added_layer(browser, tmp_path):
    """A folium layer added after the page was built is drawn and listed in the page's own
    layer control; ``save`` writes the page, still without a request."""
    page_map = folium_map("county_degurba", view="degurba_l1")
    extra = folium.FeatureGroup(name="我的点 / my points")
    folium.CircleMarker([30.25, 120.17], radius=9, color="#000000", fill=True, fill_color="#ffffff", tooltip="杭州").add_to(extra)
    folium.Marker([29.87, 121.55], tooltip="宁波").add_to(extra)  # Leaflet's default icon, embedded
    extra.add_to(page_map)
    path = tmp_path / "extended.html"
    page_map.save(str(path))
    browser.open(path)
    assert browser.evaluate("document.querySelectorAll('.leaflet-overlay-pane path.gis-unit').length") == 90
    labels = browser.evaluate("Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label')).map(l => l.innerText)")
    assert labels[-1].strip() == "我的点 / my points" and len(labels) >= 2
    assert browser.evaluate("document.querySelectorAll('path.leaflet-interactive:not(.gis-unit)').length") == 1
    icon = "document.querySelector('img.leaflet-marker-icon')"
    assert _wait(browser, f"{icon}.complete && {icon}.naturalWidth") == 25
    assert browser.evaluate("document.querySelector('img.leaflet-marker-shadow').naturalWidth") == 41
    assert "第一级" in browser.evaluate("document.querySelector('.gis-legend-view:not([hidden]) h3').textContent")
    assert browser.evaluate("document.querySelector('.leaflet-control-layers-base input:checked').parentNode.innerText") \
        .strip().startswith("城市化程度（第一级）")
    assert [u for u in browser.requested_urls() if u != path.resolve().as_uri() and not u.startswith("data:")] == []
    browser.screenshot(SCREENSHOTS / "extended.png")
    assert browser.errors() == []


def test_analysis_map_draws_a_result_frame(zhejiang):
    counties = zhejiang.counties[["adcode", "name", "geometry"]].copy()
    clusters = np.array(["HH", "LL", "HL", "LH", "ns"])[np.arange(len(counties)) % 5].astype(object)
    clusters[0] = None  # left out of the analysis: no data
    frame = gpd.GeoDataFrame(counties.assign(lisa_cluster=clusters, lisa_i=0.5, lisa_p=0.01), crs=counties.crs)
    page_map = analysis_map("lisa", frame.to_crs(3857), data_source="测试 test",
                            tokens={"indicator": ("农村居民收入", "rural income"), "year": "2020", "place": ("浙江省", "Zhejiang")})
    assert isinstance(page_map, folium.Map)
    page = page_map.get_root().render()
    config, units = embedded_payload(page)
    assert len(units["features"]) == 90 and "浙江省农村居民收入（2020年）空间集聚" in page
    assert any("测试 test" in a for a in config["attributions"])
    first = next(f for f in units["features"] if f["properties"]["n"] == counties["name"].iloc[0])
    assert first["properties"]["k"] == [[-1]]


def test_template_syntax_in_names_stays_text(zhejiang):
    """Our elements are not compiled a second time as templates: ``{{ 7*7 }}`` in a unit's
    name and in a spec's title reach the page as written."""
    counties = zhejiang.counties[["adcode", "name", "geometry"]].copy()
    counties.loc[counties.index[0], "name"] = "{{ 7*7 }}{% if true %}x{% endif %}"
    frame = gpd.GeoDataFrame(counties.assign(lisa_cluster="HH", lisa_i=0.5, lisa_p=0.01), crs=counties.crs)
    page = analysis_map("lisa", frame, tokens={"indicator": "{{ 6*7 }}", "year": "2020", "place": "{#"}).get_root().render()
    _, units = embedded_payload(page)
    assert units["features"][0]["properties"]["n"] == "{{ 7*7 }}{% if true %}x{% endif %}"
    assert "<h1 lang=\"zh-CN\">{#{{ 6*7 }}（2020年）" in page


def test_importing_the_maps_does_not_import_folium():
    """folium (0.3 s) is imported where a page is drawn, not by ``import gis.maps`` or the CLI."""
    code = "import sys, gis.cli, gis.maps; print('folium' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False"]
