"""One build per output folder, leftovers of killed runs and stale outputs (issue 14, items 1, 8, 11)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gis.cli import main


def _build(out: Path, *options: str):
    return CliRunner().invoke(main, ["build", "--out", str(out), "--no-degurba", *options])


def _hold_lock(folder: Path):
    """Another process holding the folder's build lock (as a running build does)."""
    code = (
        "import sys, time\n"
        "from gis._files import folder_lock\n"
        f"with folder_lock({str(folder)!r}, 'gis build'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_build_into_a_locked_folder_fails_at_once_naming_the_first(tmp_path):
    out = tmp_path / "out"
    holder = _hold_lock(out)
    try:
        started = time.perf_counter()
        result = _build(out)
        elapsed = time.perf_counter() - started
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"is in use by gis build (pid {holder.pid}, started " in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert elapsed < 5  # before any work: boundaries alone take longer
    assert not (out / "zhejiang.gpkg").exists()
    # The lock dies with its process (even kill -9): the next build is not blocked by the file.
    assert _build(out).exit_code == 0


def test_leftovers_of_a_killed_run_and_stale_class_grids_are_removed(tmp_path):
    out = tmp_path / "out"
    (out / "maps").mkdir(parents=True)
    leftovers = [out / ".zhejiang.gpkg.partial-k1ll3d.gpkg", out / ".zhejiang_degurba_l1.tif.partial-x.tif",
                 out / "maps" / ".index.html.partial-y.html"]
    for path in leftovers:
        path.write_bytes(b"")
    stale = [out / "zhejiang_degurba_l2.tif", out / "zhejiang_degurba_l1.tif", out / "zhejiang_degurba_agreement.csv"]
    for path in stale:
        path.write_bytes(b"from an earlier build with the Degree of Urbanisation")
    refused = _build(out)
    assert refused.exit_code == 2
    assert "zhejiang_degurba_l2.tif" in refused.output and "--overwrite" in refused.output
    assert all(path.exists() for path in stale)  # no output removed without --overwrite ...
    assert not any(path.exists() for path in leftovers)  # ... but a killed run's temporary files are
    assert "left by an interrupted run" in refused.output
    result = _build(out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in leftovers + stale)
    assert "this build's options do not produce it" in result.output
    assert (out / "zhejiang.gpkg").stat().st_size > 0
    assert not list(out.glob(".*partial-*")) and not list((out / "maps").glob(".*partial-*"))


def test_an_output_folder_that_cannot_be_made_is_found_before_any_work(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    started = time.perf_counter()
    result = _build(blocker / "out")
    assert result.exit_code == 2
    assert "--out" in result.output and "is a file, not a folder" in result.output
    assert result.output.count("\n") <= 1 and "Traceback" not in result.output
    assert time.perf_counter() - started < 5


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_output_folder_is_found_before_any_work(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        result = _build(out)
    finally:
        out.chmod(0o755)
    assert result.exit_code == 2
    assert "is not writable" in result.output
