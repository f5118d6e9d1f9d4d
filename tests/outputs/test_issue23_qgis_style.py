"""QGIS default styles never call a real value "no data" (issue 23, case 3): graduated classes
are open at both ends, no data is NULL only, unlisted categories are "other values"."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from gis.colours import NO_DATA_LABEL
from gis.outputs.gpkg import OutputLayer, write_geopackage
from gis.outputs.layer_specs import load_layer_specs, resolve_styles

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).parent / "qgis_rule_per_feature.py"


def _prefectures() -> gpd.GeoDataFrame:
    """Four prefectures: two outside the income-ratio style's breaks 1.6–2.1, one inside, one NULL."""
    return gpd.GeoDataFrame({
        "name": ["杭州市", "嘉兴市", "湖州市", "舟山市"],
        "income_ratio_2020": [2.30, 1.50, 1.75, np.nan],
        "income_gap_2020": [30000.0, 20000.0, 25000.0, np.nan],
        "region": ["浙东北", "浙东北", "浙东北", "浙东北"],
        "pilot_zone": [True, True, False, False],
    }, geometry=[box(i, 0, i + 1, 1) for i in range(4)], crs=4326)


def _income_ratio_style(frame):
    (spec,) = [s for s in load_layer_specs() if s.name == "prefectures"]
    styles, _ = resolve_styles(spec, frame)
    return styles, next(s for s in styles if s.default)


def _matches(style_class, value) -> bool:
    """Evaluate the simple filters these styles use (comparisons joined by AND, IS [NOT] NULL)."""
    if style_class.filter == "ELSE":
        return False
    for condition in style_class.filter.split(" AND "):
        _, op, *rest = condition.rsplit('"', 1)[1].split(" ", 2)
        operand = " ".join(rest)
        if op == "IS":
            ok = np.isnan(value) if operand == "NULL" else not np.isnan(value)
        else:
            ok = not np.isnan(value) and {"<=": value <= float(operand), ">": value > float(operand), ">=": value >= float(operand)}[op]
        if not ok:
            return False
    return True


def test_values_beyond_fixed_breaks_are_in_the_end_classes_and_only_null_is_no_data():
    frame = _prefectures()
    _, style = _income_ratio_style(frame)
    labels = [c.label for c in style.classes]
    assert labels == ["≤ 1.70", "1.70 – 1.80", "1.80 – 1.90", "1.90 – 2.00", "> 2.00", NO_DATA_LABEL]
    no_data = style.classes[-1]
    assert no_data.filter == '"income_ratio_2020" IS NULL'
    for value, expected in [(2.30, "> 2.00"), (1.50, "≤ 1.70"), (1.75, "1.70 – 1.80"), (np.nan, NO_DATA_LABEL)]:
        matched = [c.label for c in style.classes if _matches(c, value)]
        assert matched == [expected], (value, matched)
    # Every class's filter is exclusive: a value sits in exactly one class.
    for value in np.linspace(0, 5, 501):
        assert sum(_matches(c, value) for c in style.classes) == 1


def test_a_categorised_style_draws_unlisted_values_as_other_not_no_data():
    # The counties' Level 2 style lists its seven classes; a value it does not list is "other".
    frame = gpd.GeoDataFrame({"name": ["甲", "乙"], "degurba_l2": [30, 99]},
                             geometry=[box(i, 0, i + 1, 1) for i in range(2)], crs=4326)
    (spec,) = [s for s in load_layer_specs() if s.name == "counties"]
    styles, _ = resolve_styles(spec, frame)
    level2 = next(s for s in styles if s.classes[0].filter.startswith('"degurba_l2"'))
    assert [c.filter for c in level2.classes[-2:]] == ['"degurba_l2" IS NULL', "ELSE"]
    assert level2.classes[-2].label == NO_DATA_LABEL and "other" in level2.classes[-1].label


def _has_qgis() -> bool:
    return Path(SYSTEM_PYTHON).exists() and subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_qgis() and os.environ.get("CI") != "true", reason="python3-qgis not installed")
def test_qgis_draws_hangzhou_and_jiaxing_in_the_end_classes(tmp_path):
    frame = _prefectures()
    styles, _ = _income_ratio_style(frame)
    gpkg = write_geopackage(tmp_path / "p.gpkg", [OutputLayer("prefectures", frame, styles=styles)])
    completed = subprocess.run([SYSTEM_PYTHON, str(SCRIPT), str(gpkg), "prefectures", "name"], capture_output=True, text=True,
                               env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=300)
    assert completed.returncode == 0, completed.stderr
    seen = json.loads(completed.stdout.strip().splitlines()[-1])
    assert seen["renderer"] == "RuleRenderer"
    assert seen["drawn"] == {"杭州市": ["> 2.00"], "嘉兴市": ["≤ 1.70"], "湖州市": ["1.70 – 1.80"], "舟山市": [NO_DATA_LABEL]}
