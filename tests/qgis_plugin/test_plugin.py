"""The QGIS plugin (gis/qgis_plugin, ``gis qgis install`` / ``zip``) inside Debian's QGIS.

QGIS lives in the system Python, so the plugin is installed into a temporary profile and
driven by ``run_in_qgis.py`` under ``/usr/bin/python3`` (QgsApplication offscreen, headless as
qgis_process loads plugins); its algorithms run this virtual environment's ``gis``. Locally it
skips when python3-qgis is absent; in CI (CI=true) it must run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from click.testing import CliRunner

from gis.cli import main
from support.townships import write_townships

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("run_in_qgis.py")
GIS = Path(sys.executable).with_name("gis")


def _has_qgis() -> bool:
    return Path(SYSTEM_PYTHON).exists() and subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True).returncode == 0


def test_install_and_zip_copy_the_plugin_with_version_presets_and_gis(tmp_path):
    result = CliRunner().invoke(main, ["qgis", "install", "--profile", "planning", "--profiles-path", str(tmp_path / "QGIS3")])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "QGIS3" / "profiles" / "planning" / "python" / "plugins" / "urbanrural"
    assert (folder / "__init__.py").exists() and (folder / "algorithms.py").exists()
    from importlib.metadata import version

    assert f"version={version('gis-urban-rural')}" in (folder / "metadata.txt").read_text(encoding="utf-8")
    from gis.degurba.rules import preset_names

    presets = (folder / "presets.txt").read_text(encoding="utf-8").split()
    assert presets[0] == "manual-2021" and sorted(presets) == preset_names()
    assert Path((folder / "gis_command.txt").read_text(encoding="utf-8").strip()).name == "gis"
    # Installing again replaces the copy (a stale file of an older version goes).
    (folder / "stale.py").write_text("")
    assert CliRunner().invoke(main, ["qgis", "install", "--profile", "planning", "--profiles-path", str(tmp_path / "QGIS3")]).exit_code == 0
    assert not (folder / "stale.py").exists() and not list(folder.parent.glob(".urbanrural*"))

    result = CliRunner().invoke(main, ["qgis", "zip", "--out", str(tmp_path / "urbanrural.zip")])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "urbanrural.zip") as archive:
        names = archive.namelist()
    assert "urbanrural/metadata.txt" in names and "urbanrural/__init__.py" in names and all(n.startswith("urbanrural/") for n in names)
    assert not any("__pycache__" in n for n in names)
    result = CliRunner().invoke(main, ["qgis", "install", "--profile", "../x"])
    assert result.exit_code == 2 and "expected a QGIS profile name" in result.output


def test_the_plugin_imports_nothing_of_ours():
    """QGIS's Python has none of our dependencies: the plugin may import QGIS and the stdlib only."""
    import ast

    allowed = {"qgis", "processing", "os", "re", "sys", "json", "queue", "shutil", "subprocess", "tempfile", "threading", "pathlib"}
    for path in (Path(__file__).parents[2] / "gis" / "qgis_plugin").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"


def test_the_plugins_class_labels_are_the_packages():
    import ast
    import tomllib

    from gis.degurba.classify import L1_NAMES, L2_NAMES

    source = (Path(__file__).parents[2] / "gis" / "qgis_plugin" / "styles.py").read_text(encoding="utf-8")
    assignment = next(node for node in ast.parse(source).body if isinstance(node, ast.Assign) and node.targets[0].id == "LABELS")
    labels = ast.literal_eval(assignment.value)
    grid_spec = tomllib.loads((Path(__file__).parents[2] / "layers" / "degurba_grid.toml").read_text(encoding="utf-8"))
    spec_labels = {c["value"]: c["label"] for style in grid_spec["styles"] for c in style.get("classes", []) if style.get("column") == "degurba_l2"}
    assert labels[2] == spec_labels
    assert {code: label.split(" ", 2)[2] for code, label in labels[1].items()} == L1_NAMES
    assert {code: label.split(" ", 2)[2] for code, label in labels[2].items()} == L2_NAMES


@pytest.fixture(scope="module")
def qgis_run(tmp_path_factory):
    if not _has_qgis():
        if os.environ.get("CI") == "true":
            raise RuntimeError("CI must run the QGIS plugin, but python3-qgis is not installed")
        pytest.skip("python3-qgis not installed (apt-get install python3-qgis)")
    work = tmp_path_factory.mktemp("qgis-plugin")
    units, raster = write_townships(work)
    frame = gpd.read_file(units)
    geometries = frame.geometry.to_numpy()
    geometries[4] = shapely.Polygon()
    frame.set_geometry(geometries).to_file(work / "broken.gpkg", driver="GPKG")
    # For access: SYNTHETIC clinics inside Zhejiang and a units file of the user's (a few counties
    # with a column of their own).
    from gis.units.boundaries import load_boundaries

    zhejiang = load_boundaries("330000")
    counties = zhejiang.counties[zhejiang.counties["prefecture_adcode"] == "330100"][["adcode", "name", "geometry"]]
    counties.assign(planner_note="kept").to_file(work / "my_counties.gpkg", layer="my_counties", driver="GPKG")
    centres = counties.geometry.representative_point()
    clinics = [[float(p.x), float(p.y), 10 + 5 * i] for i, p in enumerate(centres)]
    (work / "clinics.json").write_text(json.dumps(clinics), encoding="utf-8")
    lines = ["名称,经度,纬度,床位"] + [f"合成卫生院{i},{x},{y},{beds}" for i, (x, y, beds) in enumerate(clinics)]
    (work / "clinics.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    profiles = work / "QGIS3"
    assert CliRunner().invoke(main, ["qgis", "install", "--profile", "test", "--profiles-path", str(profiles)]).exit_code == 0
    plugins = profiles / "profiles" / "test" / "python" / "plugins"
    completed = subprocess.run(
        [SYSTEM_PYTHON, str(SCRIPT), str(plugins), str(GIS), str(work), "build"],
        capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return work, json.loads(completed.stdout.strip().splitlines()[-1])


def test_provider_registers_headless_with_its_algorithms(qgis_run):
    _, seen = qgis_run
    assert seen["provider"] == "城乡融合 / Urban-rural"
    assert seen["algorithms"] == ["urbanrural:access", "urbanrural:build", "urbanrural:degurba_grid", "urbanrural:degurba_units"]
    assert "/profiles/test/python/plugins/urbanrural/" in seen["plugin_file"]


def test_degurba_units_keeps_attributes_classes_equal_the_clis_and_is_styled(qgis_run, tmp_path):
    work, seen = qgis_run
    cli_out = tmp_path / "cli.gpkg"
    result = CliRunner().invoke(main, ["degurba", "units", "--population", str(work / "population.tif"),
                                       "--units", str(work / "townships.gpkg"), "--out", str(cli_out)])
    assert result.exit_code == 0, result.output
    cli = pyogrio.read_dataframe(cli_out, layer="degurba_units")
    for key in ("units", "memory"):  # the file itself, and a memory layer copied for the command
        run = seen[key]
        assert run["ok"], run
        layer = run["layer"]
        assert layer["fields"][0] == "fid" and layer["fields"][1:] == list(cli.columns[:-1])  # geometry last in pandas
        assert layer["fields"][1:6] == ["town_code", "乡镇名称", "常住人口", "population", "面积备注"]
        assert layer["types"][1:4] == ["String", "String", "Integer64"]
        assert layer["degurba_l2"] == cli["degurba_l2"].tolist()
        assert layer["renderer"] == "RuleRenderer" and layer["rules"][0] == '"degurba_l2" = 30' and layer["label_field"] == "乡镇名称"
        assert run["progress"][-1] == 100 and any(line.startswith("wrote ") for line in run["lines"])


def test_a_gis_error_becomes_the_algorithms_error(qgis_run):
    _, seen = qgis_run
    broken = seen["broken"]
    assert not broken["ok"]
    assert "1 of 20 features have a null or empty geometry (feature 5)" in broken["exception"]
    assert broken["errors"] == [broken["exception"]]


def test_degurba_grid_writes_both_levels_styled(qgis_run):
    work, seen = qgis_run
    grid = seen["grid"]
    assert grid["ok"], grid
    assert grid["l2"]["renderer"] == "paletted" and grid["l2"]["qml"] and "30 城市中心 urban centre" in grid["l2"]["labels"]
    assert grid["l1"]["renderer"] == "paletted" and "3 城市中心 urban centre" in grid["l1"]["labels"]
    import rasterio

    cli = tmp = work / "cli_grid.tif"
    assert CliRunner().invoke(main, ["degurba", "grid", "--population", str(work / "population.tif"), "--out", str(tmp)]).exit_code == 0
    with rasterio.open(cli) as a, rasterio.open(work / "qgis_grid.tif") as b:
        assert (a.read(1) == b.read(1)).all()


def test_build_loads_the_geopackage_styled_and_cancel_stops_it(qgis_run):
    _, seen = qgis_run
    build = seen["build"]
    assert build["ok"], build
    assert build["results"]["OUTPUT"].endswith("zhejiang.gpkg") and build["layer_count"] >= 5
    assert build["loaded"]["counties"] == {"renderer": "RuleRenderer", "features": 90}
    cancel = seen["cancel"]
    assert not cancel["ok"] and "cancelled" in cancel["exception"]
    assert not any(name.endswith(".gpkg") for name in cancel["files"])


def test_access_keeps_the_units_columns_and_equals_the_cli(qgis_run, tmp_path):
    work, seen = qgis_run
    access = seen["access"]
    assert access["ok"], access
    layer = access["layer"]
    assert layer["fields"][:4] == ["fid", "adcode", "name", "planner_note"] and "share_within_10km" in layer["fields"]
    assert layer["renderer"] == "RuleRenderer"  # the layer's default style came along
    cli_out = tmp_path / "cli_access.gpkg"
    result = CliRunner().invoke(main, ["access", "--facilities", str(work / "clinics.csv"), "--capacity", "床位",
                                       "--units", str(work / "my_counties.gpkg"), "--thresholds-km", "5,10", "-o", str(cli_out)])
    assert result.exit_code == 0, result.output
    cli = pyogrio.read_dataframe(cli_out, layer="access_units").set_index("name")
    assert set(layer["rows"]) == set(cli.index)
    for name, (note, share_5km, score) in layer["rows"].items():
        assert note == "kept"
        assert share_5km == pytest.approx(cli.loc[name, "share_within_5km"], rel=1e-9)
        assert score == pytest.approx(cli.loc[name, "access_2sfca"], rel=1e-9)
