"""Shared fixtures: boundaries are read once per test session (they take ~1 s each)."""

import pytest

from gis.boundaries import load_boundaries


@pytest.fixture(scope="session")
def zhejiang():
    return load_boundaries("330000")


@pytest.fixture(scope="session")
def jiangsu():
    return load_boundaries("320000")


@pytest.fixture(scope="session")
def built_zhejiang(tmp_path_factory):
    """``gis build`` of the embedded default, run once: (output folder, click result)."""
    from click.testing import CliRunner

    from gis.cli import main

    out = tmp_path_factory.mktemp("built-zhejiang")
    result = CliRunner().invoke(main, ["build", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result
