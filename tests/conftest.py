"""Shared fixtures: boundaries are read once per test session (they take ~1 s each)."""

import pytest

from gis.boundaries import load_boundaries


@pytest.fixture(scope="session")
def zhejiang():
    return load_boundaries("330000")


@pytest.fixture(scope="session")
def jiangsu():
    return load_boundaries("320000")
