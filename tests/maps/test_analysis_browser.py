"""The analysis maps (gis index / geodetector / inequality --map) in headless Chromium with
networking off: no request but the page, no console error, one path per county, every view
switchable with its legend, popups open. Screenshots go to ``test-output/maps/`` (git-ignored).

Locally the tests skip when no Chromium is installed; with ``CI=true`` they fail instead.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gis.cli import main

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "maps"
SYNTHETIC = ROOT / "tests" / "data" / "SYNTHETIC_counties_90_2020_gbk.csv"

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COMMANDS = {
    "index": ["index", "--indicators", "rural_income,income_ratio,hospital_beds_per_1000,elderly_care_beds_per_1000_elderly",
              "--groups", "income=rural_income,income_ratio;services=hospital_beds_per_1000,elderly_care_beds_per_1000_elderly",
              "-o", "{out}/ix.csv"],
    "geodetector": ["geodetector", "--y", "rural_income", "--factors", "share_aged_60plus,region,prefecture", "-o", "{out}/gd.gpkg"],
    "inequality": ["inequality", "--level", "counties", "--indicator", "rural_income", "--groups", "prefecture", "-o", "{out}/iq.csv"],
}
#: Views each page has, and the text every one of its legends must show.
VIEWS = {"index": (2, "王淑佳"), "geodetector": (3, "q = "), "inequality": (1, "分组")}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    out = tmp_path_factory.mktemp("analysis-maps")
    found = {}
    for name, args in COMMANDS.items():
        page = out / f"{name}-map.html"
        args = [a.replace("{out}", str(out)) for a in args]
        result = CliRunner().invoke(main, [*args, "--data", str(SYNTHETIC), "--allow-unmatched", "--map", str(page)])
        assert result.exit_code == 0, result.output
        found[name] = page
    return found


@pytest.mark.parametrize("name", list(COMMANDS))
def test_analysis_map_in_offline_browser(browser, pages, name):
    page = pages[name]
    browser.open(page)
    assert [u for u in browser.requested_urls() if u != page.resolve().as_uri()] == []
    assert browser.evaluate("document.querySelectorAll('.leaflet-overlay-pane path.gis-unit').length") == 90
    views, mark = VIEWS[name]
    radios = browser.evaluate("document.querySelectorAll('.leaflet-control-layers-base input').length")
    assert radios == (views if views > 1 else 0) or views == 1
    for i in range(views):
        if views > 1:
            browser.evaluate(f"document.querySelectorAll('.leaflet-control-layers-base input')[{i}].click()")
        legend = browser.evaluate("document.querySelector('.gis-legend-view:not([hidden])').innerText")
        assert "暂无数据 / no data" in legend
        if name != "index" or i == 1:
            assert mark in legend, legend
        fills = browser.evaluate("Array.from(document.querySelectorAll('path.gis-unit')).map(p => p.getAttribute('fill'))")
        assert "url(#gis-nodata)" in fills or name == "inequality"
        assert len(set(fills)) >= 2
        time.sleep(0.2)
        browser.screenshot(SCREENSHOTS / f"analysis-{name}-{i}.png")
    # A point where 淳安县 is the topmost element (controls may cover parts of its box).
    point = browser.evaluate(
        "(function(){var t=null;GisMap.instance.units.eachLayer(function(l){if(l.feature.properties.n==='淳安县')t=l;});"
        "var p=t.getElement(),b=p.getBoundingClientRect();for(var i=1;i<12;i++){for(var j=1;j<12;j++){"
        "var x=b.left+b.width*i/12,y=b.top+b.height*j/12;if(document.elementFromPoint(x,y)===p)return [x,y];}}return null;})()")
    assert point, "淳安县 is hidden"
    browser.move_mouse(*point)  # Leaflet sees the pointer arrive, as with a real mouse
    browser.click(*point)
    for _ in range(40):
        popup = browser.evaluate("(document.querySelector('.leaflet-popup-content') || {}).innerText || ''")
        if popup:
            break
        time.sleep(0.05)
    assert "淳安县" in popup, popup
    time.sleep(0.4)
    browser.screenshot(SCREENSHOTS / f"analysis-{name}-popup.png")
    assert browser.errors() == []
    assert browser.dialogs() == []
