"""The census pages (``maps/*_census_*.toml``): drawn in every build from the shipped census
indicators, the population change on a diverging scheme centred on 0, a view drawn whenever its
indicator exists, and planner's words for what is missing. The Sichuan build's county pages are
opened in headless Chromium and screenshot to ``test-output/maps/`` (git-ignored)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from gis.cli import main
from gis.maps import render_maps
from gis.maps.palettes import palette_colours
from gis.maps.schemes import class_bounds, class_index
from support.maps import embedded_payload

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "maps"
CENSUS_PAGES = ("county_census_ageing", "county_census_population", "county_census_living")


def test_diverging_scheme_is_symmetric_about_zero():
    values = np.array([-30.0, -5, -2, -1, 0.5, 3, 8, 12, 40])
    bounds = class_bounds("diverging", values, 8)
    assert len(bounds) == 8 and bounds[3] == 0.0
    assert np.allclose(bounds[:3], -bounds[4:7][::-1])  # mirrored about 0
    index = class_index(values, bounds)
    assert (index[values < 0] <= 3).all() and (index[values > 0] >= 4).all()
    # Only declines (a shrinking province): the classes still straddle 0, so the palette's
    # middle stays on 0 and every unit gets a "decline" colour.
    falling = np.array([-3.0, -2, -1, -0.5])
    bounds = class_bounds("diverging", falling, 6)
    assert bounds[2] == 0.0 and (class_index(falling, bounds) <= 2).all()
    odd = class_bounds("diverging", values, 5)
    assert len(odd) == 5 and odd[1] < 0 < odd[2] and np.isclose(-odd[1], odd[2])


def test_population_change_page_is_centred_on_zero(zhejiang, tmp_path):
    from support.maps import map_layers

    layers = map_layers(zhejiang)
    written = render_maps([ROOT / "maps" / "county_census_population.toml"], layers, tmp_path,
                          place=("浙江省", "Zhejiang"))
    assert tmp_path / "county_census_population.html" in written
    config, units = embedded_payload((tmp_path / "county_census_population.html").read_text(encoding="utf-8"))
    view = config["views"][0]
    assert view["label"].startswith("常住人口增减幅度")
    assert view["colors"] == palette_colours("RdBu", 8)  # red = decline … blue = growth
    change = layers["counties"].set_index("name")["population_change_pct_2020"]
    classes = {f["properties"]["n"]: f["properties"]["k"][0][0] for f in units["features"]}
    for name, value in change.dropna().items():
        assert (classes[name] <= 3) == (value <= 0), name
    assert change.dropna().lt(0).any()  # 淳安县 and others shrank
    page = (tmp_path / "county_census_population.html").read_text(encoding="utf-8")
    assert "第六、七次全国人口普查" in page


def test_a_view_is_drawn_when_its_indicator_exists(zhejiang, tmp_path):
    """A Jiangsu-style table with only the 65+ share: the ageing page shows that view, and says
    in planners' words what the others need."""
    from support.maps import map_layers

    layers = map_layers(zhejiang)
    counties = layers["counties"]
    keep = [c for c in counties.columns if not c.startswith(("share_aged", "old_age")) or c == "share_aged_65plus_2020"]
    notes = []
    written = render_maps([ROOT / "maps" / "county_census_ageing.toml"], {**layers, "counties": counties[keep]}, tmp_path,
                          on_note=lambda path, message: notes.append(message))
    assert tmp_path / "county_census_ageing.html" in written
    config, _ = embedded_payload((tmp_path / "county_census_ageing.html").read_text(encoding="utf-8"))
    assert [v["label"].split(" / ")[0] for v in config["views"]] == ["65岁及以上人口比重"]
    left_out = [m for m in notes if "left out" in m]
    assert len(left_out) == 3 and all("gis template counties" in m for m in left_out)
    assert not any("_<year>" in m or "share_aged" in m for m in left_out)
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "未绘制的视图" in index and "60岁及以上人口比重" in index and "gis template counties" in index


@pytest.fixture(scope="module")
def sichuan(tmp_path_factory):
    out = tmp_path_factory.mktemp("sichuan")
    result = CliRunner().invoke(main, ["build", "--province", "510000", "--out", str(out), "--no-degurba"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_sichuan_build_has_its_census_maps(sichuan):
    out, output = sichuan
    for name in CENSUS_PAGES + tuple(p.replace("county", "prefecture") for p in CENSUS_PAGES):
        assert (out / "maps" / f"{name}.html").is_file(), name
    import pyogrio

    counties = pyogrio.read_dataframe(out / "sichuan.gpkg", layer="counties", read_geometry=False)
    assert len(counties) == 183
    for column in ("share_aged_65plus_2020", "urbanisation_rate_2020", "share_households_tap_water_2020"):
        assert counties[column].notna().sum() == 183, column
    assert counties["share_aged_65plus_2010"].notna().sum() >= 100
    assert (counties["population_change_pct_2020"] < 0).sum() >= 50  # 四川's shrinking counties
    page = (out / "maps" / "county_census_population.html").read_text(encoding="utf-8")
    assert "《中国人口普查分县资料—2020》" in page and "《中国人口普查分县资料》2010、2020" in page  # cited on the map


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("name", CENSUS_PAGES)
def test_sichuan_census_pages_in_offline_browser(browser, sichuan, name):
    out, _ = sichuan
    page = out / "maps" / f"{name}.html"
    browser.open(page)
    assert [u for u in browser.requested_urls() if u != page.resolve().as_uri() and not u.startswith("data:")] == []
    assert browser.evaluate("document.querySelectorAll('.leaflet-overlay-pane path.gis-unit').length") == 183
    assert "第六、七次全国人口普查" in browser.evaluate("document.querySelector('#gis-title h1').innerText")
    views = browser.evaluate("document.querySelectorAll('.leaflet-control-layers-base input').length")
    assert views >= 4
    for i in range(views):  # every view draws: coloured units, a legend with its classes
        browser.evaluate(f"document.querySelectorAll('.leaflet-control-layers-base input')[{i}].click()")
        fills = browser.evaluate("Array.from(document.querySelectorAll('path.gis-unit')).map(p => p.getAttribute('fill'))")
        assert len(set(fills)) >= 4, (name, i)
        legend = browser.evaluate("document.querySelector('.gis-legend-view:not([hidden])').innerText")
        assert "暂无数据 / no data" in legend
    browser.evaluate("document.querySelectorAll('.leaflet-control-layers-base input')[0].click()")
    # 雷波县 (凉山): the tooltip names it with its value.
    point = browser.evaluate("""(function(){var t=null;GisMap.instance.units.eachLayer(function(l){
        if(l.feature.properties.n==='雷波县'){t=l;}});var b=t.getElement().getBoundingClientRect();
        return [b.left+b.width/2,b.top+b.height/2];})()""")
    browser.move_mouse(point[0] - 2, point[1] - 2)
    browser.move_mouse(*point)
    for _ in range(40):
        tooltip = browser.evaluate("(document.querySelector('.leaflet-tooltip') || {}).textContent || ''")
        if tooltip:
            break
        time.sleep(0.05)
    assert "雷波县" in tooltip and "%" in tooltip, tooltip
    browser.screenshot(SCREENSHOTS / f"sichuan_{name}.png")
    assert browser.errors() == []
    if name == "county_census_ageing":  # the year slider: 2010 on the same paths
        browser.evaluate("(function(){var i=document.querySelector('.gis-years-input');"
                         "i.value='0'; i.dispatchEvent(new Event('input'));})()")
        assert "2010" in browser.evaluate("document.querySelector('.gis-legend-view:not([hidden]) .gis-legend-year').textContent")
        browser.screenshot(SCREENSHOTS / f"sichuan_{name}_2010.png")


def test_a_view_without_any_value_on_the_page_is_left_out(zhejiang, tmp_path):
    """A province cut from the national layer keeps the column of an indicator it has no value
    of (Jiangsu's counties: no comparable population change): the view is left out, not drawn
    all grey."""
    from support.maps import map_layers

    layers = map_layers(zhejiang)
    counties = layers["counties"].assign(population_change_pct_2020=np.nan)
    notes = []
    render_maps([ROOT / "maps" / "county_census_population.toml"], {**layers, "counties": counties}, tmp_path,
                on_note=lambda path, message: notes.append(message))
    config, _ = embedded_payload((tmp_path / "county_census_population.html").read_text(encoding="utf-8"))
    assert not any(v["label"].startswith("常住人口增减幅度") for v in config["views"])
    assert any("常住人口增减幅度" in m and "left out" in m for m in notes)


def test_diverging_legend_of_growth_only_reads_right():
    """Zhejiang's prefectures all grew: the empty decline classes are labelled by their bounds,
    never "3.26% – −21.81%"."""
    from gis.maps.classify import _numeric_legend_rows

    values = np.array([3.26, 7.0, 12.0, 16.0, 20.0, 25.0, 37.19])
    bounds = class_bounds("diverging", values, 8)
    rows = _numeric_legend_rows(bounds, palette_colours("RdBu", 8), float(values.min()), "percent")
    assert rows[0][1].startswith("≤ -") and rows[1][1].startswith("-") and " – " in rows[1][1]
