"""The default maps in real headless Chromium with networking off (see tests/chromium.py).

Each map must load with no request except its own file, draw one SVG path per unit, log no
error, show its legend and show a tooltip when the pointer is over a known unit. Screenshots
go to ``test-output/maps/`` (git-ignored) for a person to look at.

Locally the tests skip when no Chromium is installed; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from gis.maps import default_spec_paths, render_maps
from support.chromium import Chromium
from support.maps import NO_DATA_COUNTY, map_layers

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "maps"
INJECTION = "<img src=x onerror=alert(1)>"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Unit to hover in each default map, and how many units the map draws.
HOVER = {"prefectures": ("杭州市", 11), "counties": ("淳安县", 90)}
#: Hangzhou's 2000 value as the seed data states it, formatted by unit.
HANGZHOU_2000 = {"prefecture_income_ratio": "2.15 倍", "prefecture_income_gap": "5,172 元"}


@pytest.fixture(scope="module")
def maps(built_with_table, zhejiang, tmp_path_factory):
    """The default maps as ``gis build --data <synthetic county table>`` wrote them (real
    DEGURBA classes and 1 km grid; the county indicator maps need the table), and a county map
    drawn from synthetic layers with a hostile county name and one county without a class."""
    out, _ = built_with_table
    layers = map_layers(zhejiang)
    counties = layers["counties"].copy()
    counties.loc[counties["name"] == "淳安县", "name"] = INJECTION
    hostile = tmp_path_factory.mktemp("browser-maps") / "hostile"
    render_maps([ROOT / "maps" / "county_degurba.toml"], {**layers, "counties": counties}, hostile)
    return out / "maps", hostile / "county_degurba.html"


def _left_the_page(browser: Chromium, page: Path) -> list[str]:
    """Requests other than the page itself; ``data:`` URLs (the embedded grid image) are
    decoded in the page and never reach a network."""
    return [u for u in browser.requested_urls() if u != page.resolve().as_uri() and not u.startswith("data:")]


# JavaScript run in the page: a point where the named unit is the topmost element, so a real
# pointer event reaches it (controls and other units may cover parts of its bounding box).
_POINT_ON_UNIT = """
(function (name) {
  var target = null;
  GisMap.instance.units.eachLayer(function (l) { if (l.feature.properties.n === name) { target = l; } });
  if (!target) { return null; }
  var path = target.getElement(), box = path.getBoundingClientRect();
  for (var i = 1; i < 12; i++) {
    for (var j = 1; j < 12; j++) {
      var x = box.left + box.width * i / 12, y = box.top + box.height * j / 12;
      if (document.elementFromPoint(x, y) === path) { return [x, y]; }
    }
  }
  return null;
})(%s)
"""


def _hover(browser: Chromium, name: str) -> str:
    point = browser.evaluate(_POINT_ON_UNIT % json.dumps(name))
    assert point, f"no visible point on {name}"
    browser.move_mouse(point[0] - 3, point[1] - 3)
    browser.move_mouse(*point)
    for _ in range(40):
        text = browser.evaluate("(document.querySelector('.leaflet-tooltip:not(.gis-group-label)') || {}).textContent || ''")
        if text:
            return text
        time.sleep(0.05)
    return ""


def _spec_names() -> list[str]:
    return [p.stem for p in default_spec_paths()]


@pytest.mark.parametrize("name", _spec_names())
def test_default_map_in_offline_browser(browser, maps, name):
    out, _ = maps
    page = out / f"{name}.html"
    browser.open(page)
    layer = "counties" if name.startswith("county") else "prefectures"
    unit, count = HOVER[layer]

    assert _left_the_page(browser, page) == [], "the page must fetch nothing"
    assert browser.evaluate("performance.getEntriesByType('resource').map(e => e.name)") == []
    assert browser.evaluate("document.querySelectorAll('.leaflet-overlay-pane path.gis-unit').length") == count
    legend = browser.evaluate(
        "(function(){var l=document.querySelector('.leaflet-control-container #gis-legend');"
        "return l && !l.hidden && l.getBoundingClientRect().height > 50 ? l.innerText : null;})()"
    )
    assert legend and "暂无数据 / no data" in legend
    title = browser.evaluate("document.querySelector('#gis-title h1').innerText")
    assert title and browser.evaluate("document.querySelector('#gis-title h2').innerText")

    tooltip = _hover(browser, unit)
    assert unit in tooltip, tooltip
    browser.screenshot(SCREENSHOTS / f"{name}.png")

    if name in HANGZHOU_2000:
        # The year slider restyles the same paths: Hangzhou's 2000 value, legend year 2000.
        browser.evaluate("(function(){var i=document.querySelector('.gis-years-input');"
                         "i.value='0'; i.dispatchEvent(new Event('input'));})()")
        assert "2000" in browser.evaluate("document.querySelector('.gis-legend-view:not([hidden]) .gis-legend-year').textContent")
        tooltip = _hover(browser, unit)
        assert "2000" in tooltip and HANGZHOU_2000[name] in tooltip, tooltip
        browser.screenshot(SCREENSHOTS / f"{name}-2000.png")
    elif name.endswith("_degurba"):
        assert "普查总数按官方格网类别密度分配，估算" in legend  # how the weights were made: said on the map
        # Switch on the 1 km grid and show Level 1, as a planner would in the layer control.
        browser.evaluate("document.querySelectorAll('.leaflet-control-layers-overlays input')[0].click()")
        browser.evaluate("document.querySelectorAll('.leaflet-control-layers-base input')[1].click()")
        grid = "document.querySelector('img.gis-grid')"
        for _ in range(40):
            if browser.evaluate(f"!!{grid} && {grid}.complete && {grid}.naturalWidth > 0"):
                break
            time.sleep(0.05)
        assert browser.evaluate(f"{grid}.naturalWidth") > 1000, "the 1 km grid image did not load"
        box = browser.evaluate(f"(function(){{var b={grid}.getBoundingClientRect();return [b.width,b.height];}})()")
        assert box[0] > 300 and box[1] > 300, box
        assert "第一级" in browser.evaluate("document.querySelector('.gis-legend-view:not([hidden]) h3').textContent")
        browser.screenshot(SCREENSHOTS / f"{name}-l1-grid.png")

    point = browser.evaluate(_POINT_ON_UNIT % json.dumps(unit))
    browser.click(*point)
    popup = browser.evaluate("(document.querySelector('.leaflet-popup-content') || {}).innerText || ''")
    assert unit in popup, popup
    time.sleep(0.4)  # let the popup's fade-in finish before the screenshot
    browser.screenshot(SCREENSHOTS / f"{name}-popup.png")
    assert browser.errors() == []
    assert _left_the_page(browser, page) == []


def test_hostile_name_shows_as_text_and_runs_nothing(browser, maps):
    _, hostile = maps
    browser.open(hostile)
    tooltip = _hover(browser, INJECTION)
    assert INJECTION in tooltip
    point = browser.evaluate(_POINT_ON_UNIT % json.dumps(INJECTION))
    browser.click(*point)
    assert INJECTION in browser.evaluate("document.querySelector('.leaflet-popup-content h3').textContent")
    time.sleep(0.2)
    assert browser.evaluate("document.querySelectorAll('img:not(.gis-grid)').length") == 0
    assert browser.dialogs() == []
    assert browser.errors() == []
    assert _left_the_page(browser, hostile) == []
    nodata = browser.evaluate(
        "(function(){var f=null;GisMap.instance.units.eachLayer(function(l){"
        f"if(l.feature.properties.n==={json.dumps(NO_DATA_COUNTY)})f=l;}});"
        "return f.getElement().getAttribute('fill');})()"
    )
    assert nodata == "url(#gis-nodata)"
    time.sleep(0.4)
    browser.screenshot(SCREENSHOTS / "hostile-name.png")
