"""Runs that are killed or meet a full disk (issue 23, cases 15 and 16): every command cleans its
temporary files and folders on SIGTERM as ``gis build`` does, the next run removes what a
``kill -9`` left, and a full disk is one line naming the folder and the space needed, with the
existing outputs intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from shapely.geometry import box

from gis.cli import main
from gis.degurba.grid import GHSL_CRS, GhslWindow
from gis.degurba.rasters import write_class_geotiff
from support.rasters import write_on_grid

#: Runs a gis command in a child process whose function ``sys.argv[2]`` (module:attribute)
#: first does its work, then writes the file ``sys.argv[1]`` and sleeps: the test sends SIGTERM
#: while the command is in the middle of writing.
PAUSING_RUNNER = r'''
import importlib, sys, time
ready, target, *command = sys.argv[1:]
module, attribute = target.split(":")
owner = importlib.import_module(module)
cls, _, method = attribute.partition(".")
holder = getattr(owner, cls) if method else owner
original = getattr(holder, method or cls)
def pausing(*args, **kwargs):
    result = original(*args, **kwargs)
    open(ready, "w").close()
    time.sleep(120)
    return result
setattr(holder, method or cls, pausing)
from gis.cli import main
main(command)
'''


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _terminate_while_writing(tmp_path: Path, target: str, *command: str, env=None) -> subprocess.CompletedProcess:
    ready = tmp_path / "ready"
    script = tmp_path / "runner.py"
    script.write_text(PAUSING_RUNNER, encoding="utf-8")
    child = subprocess.Popen([sys.executable, str(script), str(ready), target, *command], cwd=Path(__file__).parents[2],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    deadline = time.monotonic() + 240
    while not ready.exists():
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the command never reached the write"
        time.sleep(0.2)
    child.send_signal(signal.SIGTERM)
    stdout, stderr = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def _units_inputs(tmp_path: Path) -> tuple[Path, Path]:
    window = GhslWindow(5000, 30000, 20, 20)
    codes = np.full(window.shape, 11, dtype=np.uint8)
    codes[5:15, 5:15] = 30
    grid = write_class_geotiff(tmp_path / "grid.tif", codes, window.transform, level=2)
    left, bottom, right, top = window.bounds
    units = gpd.GeoDataFrame({"adcode": ["330001", "330002"], "name": ["甲", "乙"]},
                             geometry=[box(left, bottom, (left + right) / 2, top), box((left + right) / 2, bottom, right, top)],
                             crs=GHSL_CRS)
    units.to_file(tmp_path / "units.gpkg", driver="GPKG")
    return grid, tmp_path / "units.gpkg"


# Case 16: SIGTERM and kill -9.

def test_sigterm_during_degurba_units_leaves_no_partial_geopackage(tmp_path):
    grid, units = _units_inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    finished = _terminate_while_writing(tmp_path, "gis.outputs.gpkg:_write_metadata_and_styles",
                                        "degurba", "units", "--grid", str(grid), "--units", str(units), "--out", str(out / "u.gpkg"))
    assert finished.returncode == 128 + signal.SIGTERM, finished.stderr
    assert list(out.iterdir()) == []  # no .u.gpkg.partial-*.gpkg, no -journal, no u.gpkg


def test_sigterm_during_chunked_degurba_grid_removes_its_temporary_folder(tmp_path):
    population = write_on_grid(tmp_path / "pop.tif", np.full((30, 30), 2000.0))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    finished = _terminate_while_writing(tmp_path, "gis.degurba.chunked:write_class_geotiff_chunked",
                                        "degurba", "grid", "--population", str(population), "--chunks", "16", "--out", str(tmp_path / "g.tif"),
                                        env={"TMPDIR": str(scratch)})
    assert finished.returncode == 128 + signal.SIGTERM, finished.stderr
    assert not list(scratch.glob("degurba-chunked-*"))
    assert not list(tmp_path.glob(".g*.partial-*"))


def test_the_next_run_removes_what_a_killed_run_left(tmp_path, monkeypatch):
    grid, units = _units_inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    dead, alive = _dead_pid(), os.getppid()
    left = [out / f".u.gpkg.partial-{dead}-k1ll3d.gpkg", out / f".u.gpkg.partial-{dead}-k1ll3d.gpkg-journal"]
    live = out / f".u.gpkg.partial-{alive}-running.gpkg"  # another live process's write: kept
    for path in left + [live]:
        path.write_bytes(b"x" * 1000)
    result = CliRunner().invoke(main, ["degurba", "units", "--grid", str(grid), "--units", str(units), "--out", str(out / "u.gpkg")])
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in left)
    assert live.exists()
    # The chunked engine's temporary folders of dead runs go when the next chunked run starts.
    scratch = tmp_path / "scratch"
    (scratch / f"degurba-chunked-{dead}-abc").mkdir(parents=True)
    (scratch / f"degurba-chunked-{dead}-abc" / "level2.0.0.bin").write_bytes(b"\0" * 256)
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", None)
    population = write_on_grid(tmp_path / "pop.tif", np.full((30, 30), 2000.0))
    result = CliRunner().invoke(main, ["degurba", "grid", "--population", str(population), "--chunks", "16", "--out", str(tmp_path / "g.tif")])
    assert result.exit_code == 0, result.output
    assert not list(scratch.glob("degurba-chunked-*"))


# Case 15: a full disk.

@pytest.fixture
def full_disk(tmp_path):
    """A 3 MB tmpfs (needs root and mount; skipped otherwise), unmounted afterwards."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.decode().strip()})")
    yield folder
    import gc

    gc.collect()  # a writer that failed may still hold a file there
    subprocess.run(["umount", "-l", str(folder)], check=False)


def _fill(folder: Path, leave: int) -> None:
    import shutil

    free = shutil.disk_usage(folder).free
    with open(folder / "filler", "wb") as handle:
        try:
            handle.write(b"\0" * max(free - leave, 0))
        except OSError:
            pass


def test_a_full_disk_is_one_line_and_existing_outputs_stay(full_disk):
    out = full_disk / "out"
    result = CliRunner().invoke(main, ["build", "--out", str(out), "--no-degurba"])
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith(f"Error: {out}: no space left on the disk writing zhejiang.gpkg: it needs more than the")
    assert "existing outputs are unchanged" in last and "Traceback" not in result.output
    assert not list(full_disk.rglob("*partial*"))
    # An existing output replaced on a full disk is left as it was.
    template = full_disk / "t.xlsx"
    assert CliRunner().invoke(main, ["template", "counties", "-o", str(template)]).exit_code == 0
    before = template.read_bytes()
    _fill(full_disk, leave=4096)
    result = CliRunner().invoke(main, ["template", "counties", "-o", str(template), "--overwrite"])
    assert result.exit_code == 2
    assert f"{full_disk}: no space left on the disk writing t.xlsx" in result.output
    assert template.read_bytes() == before
    assert not list(full_disk.glob(".*partial*"))
