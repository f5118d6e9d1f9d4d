"""What QGIS itself sees when a user drags the GeoPackage in (Debian's python3-qgis).

QGIS lives in the system Python, not in our virtual environment, so the check runs as a
subprocess. Locally it skips when python3-qgis is absent; in CI (CI=true) it must run.
"""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).parent / "qgis_render_gpkg.py"
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def _has_qgis() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True)
    return probe.returncode == 0


if not _has_qgis():
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must check the GeoPackage in QGIS, but python3-qgis is not installed")
    pytest.skip("python3-qgis not installed (apt-get install python3-qgis)", allow_module_level=True)


def _qgis_sees(gpkg: Path, layers: str, png: Path) -> dict:
    """Load ``layers`` of ``gpkg`` in QGIS, render them to ``png``; what QGIS reported."""
    OUTPUT.mkdir(exist_ok=True)
    completed = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), str(gpkg), layers, str(png)],
        capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _colours_drawn(png: Path) -> set[tuple[int, int, int]]:
    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3)
    return {tuple(int(v) for v in p) for p in np.unique(pixels, axis=0)}


def test_qgis_loads_default_styles_and_labels(built_zhejiang):
    out, _ = built_zhejiang
    png = OUTPUT / "qgis_prefectures_counties.png"
    seen = _qgis_sees(out / "zhejiang.gpkg", "counties,prefectures", png)

    prefectures, counties = seen["prefectures"], seen["counties"]
    assert prefectures["valid"] and prefectures["features"] == 11 and prefectures["crs"] == "EPSG:4326"
    assert prefectures["renderer"] == "RuleRenderer"
    assert prefectures["labels"] and prefectures["label_field"] == "name"
    assert [r["colour"] for r in prefectures["rules"][:5]] == ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"]
    assert prefectures["rules"][-1]["filter"] == '"income_ratio_2020" IS NULL'  # no data is NULL only (issue 23)
    assert counties["features"] == 90 and counties["rules"][0]["filter"] == '"mountain26" = TRUE'

    # The picture is not blank: the graduated colours are drawn.
    assert (0xB3, 0x00, 0x00) in _colours_drawn(png)  # darkest class (丽水, 金华: ratio > 2.0)


def test_qgis_draws_the_degurba_grid_in_ghsl_colours(built_zhejiang):
    out, _ = built_zhejiang
    png = OUTPUT / "qgis_degurba_grid.png"
    grid = _qgis_sees(out / "zhejiang.gpkg", "degurba_grid", png)["degurba_grid"]
    assert grid["valid"] and grid["features"] > 1000 and grid["crs"] == "EPSG:4326"
    assert grid["rules"][0]["filter"] == '"degurba_l2" = 30' and grid["rules"][0]["colour"] == "#ff0000"
    drawn = _colours_drawn(png)
    # Urban centres (Hangzhou, Ningbo, ...) and low density rural cells are on the picture.
    assert (0xFF, 0x00, 0x00) in drawn and (0xCD, 0xF5, 0x7A) in drawn


def test_qgis_draws_the_maritime_line_of_a_south_china_sea_build(tmp_path):
    from click.testing import CliRunner

    from gis.cli import main

    result = CliRunner().invoke(main, ["build", "--province", "460000", "--no-degurba", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    png = OUTPUT / "qgis_maritime_line.png"
    seen = _qgis_sees(tmp_path / "hainan.gpkg", "province,maritime_line", png)
    line = seen["maritime_line"]
    assert line["valid"] and line["features"] == 1 and line["crs"] == "EPSG:4326"
    assert line["rules"][0]["colour"] == "#7b3294"
    assert (0x7B, 0x32, 0x94) in _colours_drawn(png)
