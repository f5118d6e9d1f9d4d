"""gis.breaks: class breaks checked against mapclassify and, for Fisher-Jenks, brute force."""

import itertools
import warnings

import mapclassify
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gis.breaks import equal_interval_bounds, fisher_jenks_bounds, quantile_bounds


def _within_ss(values: np.ndarray, bounds: np.ndarray) -> float:
    classes = np.searchsorted(bounds, values, side="left")
    return sum(((values[classes == c] - values[classes == c].mean()) ** 2).sum() for c in np.unique(classes))


def _mapclassify_bins(classifier, values, k) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Numba not installed"
        return np.unique(classifier(values, k=k).bins)


distinct_values = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=8, max_size=60, unique=True).map(np.asarray)


@settings(max_examples=60, deadline=None)
@given(distinct_values, st.integers(2, 7))
def test_schemes_match_mapclassify(values, k):
    np.testing.assert_allclose(quantile_bounds(values, k), _mapclassify_bins(mapclassify.Quantiles, values, k))
    np.testing.assert_allclose(equal_interval_bounds(values, k), _mapclassify_bins(mapclassify.EqualInterval, values, k))
    ours = fisher_jenks_bounds(values, k)
    theirs = _mapclassify_bins(mapclassify.FisherJenks, values, k)
    # mapclassify works in float32: where two partitions tie it may pick the other one.
    assert _within_ss(values, ours) <= _within_ss(values, theirs) * (1 + 1e-6) + 1e-6


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=3, max_size=25).map(lambda v: np.asarray(v, float) / 10), st.integers(2, 5))
def test_fisher_jenks_is_optimal_with_ties(values, k):
    distinct = np.unique(values)
    bounds = fisher_jenks_bounds(values, k)
    assert len(bounds) == min(k, len(distinct)) and bounds[-1] == distinct[-1]
    assert np.all(np.diff(bounds) > 0) and np.isin(bounds, distinct).all()
    best = min(_within_ss(values, np.r_[distinct[list(cut)], distinct[-1]])
               for cut in itertools.combinations(range(len(distinct) - 1), len(bounds) - 1))
    assert _within_ss(values, bounds) == pytest.approx(best, abs=1e-9)


def test_worked_example():
    # Two tight groups and an outlier: three classes split exactly there.
    values = np.array([1.0, 1.1, 1.2, 5.0, 5.2, 5.1, 40.0])
    assert fisher_jenks_bounds(values, 3).tolist() == [1.2, 5.2, 40.0]
    assert quantile_bounds(values, 2).tolist() == [5.0, 40.0]
    assert equal_interval_bounds(values, 3).tolist() == [14.0, 27.0, 40.0]


def test_few_distinct_values_give_fewer_classes():
    values = np.array([2.0, 2.0, 3.0, 3.0])
    assert fisher_jenks_bounds(values, 5).tolist() == [2.0, 3.0]
    assert quantile_bounds(np.array([7.0, 7.0]), 4).tolist() == [7.0]
    assert equal_interval_bounds(np.array([7.0]), 3).tolist() == [7.0]


def test_large_values_keep_precision():
    # Incomes in yuan around 10^8: centring keeps the sums of squares exact enough to split.
    values = 1e8 + np.array([0.0, 1.0, 2.0, 100.0, 101.0, 102.0])
    assert fisher_jenks_bounds(values, 2).tolist() == [1e8 + 2.0, 1e8 + 102.0]


@pytest.mark.parametrize("bad", [[], [1.0, np.nan]])
def test_bad_values(bad):
    with pytest.raises(ValueError, match="class breaks need"):
        fisher_jenks_bounds(np.asarray(bad), 3)
