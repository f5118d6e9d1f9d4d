"""Layer styles of planning groupings a build's units do not belong to are left out silently;
a style whose indicator has no values is still noted (the user can supply it)."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import box

from gis.outputs.layer_specs import load_layer_specs, resolve_styles


def test_a_province_without_zhejiangs_groupings_gets_no_word_about_them():
    # Sichuan's counties: no mountain26 or pilot_zone column (the build adds them only where
    # the units belong), a region column of its own, no income data.
    frame = gpd.GeoDataFrame({"adcode": ["510104"], "name": ["锦江区"], "region": ["成都平原经济区"], "degurba_l2": [30]},
                             geometry=[box(104, 30, 104.1, 30.1)], crs=4326)
    (spec,) = [s for s in load_layer_specs() if s.name == "counties"]
    styles, notes = resolve_styles(spec, frame)
    assert not [n for n in notes if "mountain26" in n or "pilot_zone" in n or "economic_region" in n]
    columns = {c.filter.split('"')[1] for style in styles for c in style.classes if c.filter.startswith('"')}
    assert {"region", "degurba_l2"} <= columns and "mountain26" not in columns
    (prefectures,) = [s for s in load_layer_specs() if s.name == "prefectures"]
    _, notes = resolve_styles(prefectures, frame.assign(income_ratio_2020=float("nan")))
    assert any("'income_ratio_2020'" in n for n in notes)  # an indicator without values is still said
