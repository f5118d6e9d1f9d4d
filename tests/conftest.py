"""Shared fixtures: boundaries are read once per test session (they take ~1 s each)."""

import os
import tempfile
from pathlib import Path

import pytest

from gis.units.boundaries import load_boundaries


def pytest_configure(config):
    # The suite never reads or fills the user's own cache (~/.cache/gis-urban-rural): one
    # fresh cache per run, inherited by the CLI subprocesses the tests start.
    os.environ["GIS_CACHE_DIR"] = tempfile.mkdtemp(prefix="gis-test-cache-")


@pytest.fixture(scope="session")
def zhejiang():
    return load_boundaries("330000")


@pytest.fixture(scope="session")
def jiangsu():
    return load_boundaries("320000")


#: A 90-county yearbook table (GBK CSV) with made-up values, for the bring-your-own-data path.
SYNTHETIC_TABLE = Path(__file__).parent / "data" / "SYNTHETIC_counties_90_2020_gbk.csv"


def _build(out: Path, *options: str):
    from click.testing import CliRunner

    from gis.cli import main

    result = CliRunner().invoke(main, ["build", "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    return out, result


@pytest.fixture(scope="session")
def built_zhejiang(tmp_path_factory):
    """``gis build`` of the embedded default, run once: (output folder, click result)."""
    return _build(tmp_path_factory.mktemp("built-zhejiang"))


@pytest.fixture(scope="session")
def built_with_table(tmp_path_factory):
    """``gis build --data <synthetic county table> --allow-unmatched``: (output folder, result)."""
    return _build(tmp_path_factory.mktemp("built-with-table"), "--data", str(SYNTHETIC_TABLE), "--allow-unmatched")


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium with networking off (tests/support/chromium.py), one per test module.
    Skipped locally when Chromium is missing; with ``CI=true`` that is a failure instead."""
    from support.chromium import Chromium, find_chromium

    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but no Chromium found: install Debian's chromium (see .ci/run)")
        pytest.skip("no Chromium found (install Debian's chromium to run the browser tests)")
    with Chromium(executable, tmp_path_factory.mktemp("chromium-profile")) as chromium:
        yield chromium
