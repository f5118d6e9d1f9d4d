"""Class breaks for numeric values: quantiles, equal interval and Fisher-Jenks natural breaks.

Each function takes finite values (any unit) and a class count ``k`` and returns the sorted,
distinct **upper bounds** of the classes, the last one the maximum: a value ``v`` is in class
``i`` when ``bounds[i-1] < v <= bounds[i]``. Fewer bounds than ``k`` come back when the values
cannot fill ``k`` classes (few distinct values); that is the honest answer, not an error.

The three schemes follow mapclassify's definitions (``Quantiles``, ``EqualInterval``,
``FisherJenks``; the tests check ours against them). They live here, in a few lines of NumPy,
because importing mapclassify pulls in scikit-learn, matplotlib and scipy.stats: about 3 s
of every ``gis build`` before any work is done.
"""

from __future__ import annotations

import numpy as np


def _finite(values) -> np.ndarray:
    values = np.asarray(values, dtype="float64").ravel()
    if not np.isfinite(values).all():
        raise ValueError("class breaks need finite values; drop missing values first")
    if values.size == 0:
        raise ValueError("class breaks need at least one value")
    return values


def quantile_bounds(values, k: int) -> np.ndarray:
    """Upper bounds at the ``1/k … k/k`` quantiles (linear interpolation), duplicates merged."""
    values = _finite(values)
    percents = np.minimum(np.arange(1, k + 1) * (100.0 / k), 100.0)
    return np.unique(np.percentile(values, percents))


def equal_interval_bounds(values, k: int) -> np.ndarray:
    """Upper bounds of ``k`` classes of equal width between the minimum and the maximum."""
    values = _finite(values)
    low, high = values.min(), values.max()
    bounds = low + (high - low) / k * np.arange(1, k + 1)
    bounds[-1] = high  # no rounding may leave the maximum above the last bound
    return np.unique(bounds)


def fisher_jenks_bounds(values, k: int) -> np.ndarray:
    """Upper bounds of the ``k`` classes with the least total within-class sum of squares.

    Exact (Fisher 1958), by dynamic programming over the sorted distinct values weighted by
    their counts: equal values never need to be split to reach the optimum. Time
    at most O(k · m²) for m distinct values, in blocks of NumPy.
    """
    values = _finite(values)
    distinct, counts = np.unique(values, return_counts=True)
    m = distinct.size
    k = min(k, m)
    if k <= 1:
        return distinct[-1:]
    # Prefix sums over distinct values; the sum of squares of block i..j (inclusive) is
    # S2 - S1²/W with the sums taken over that block. Values are centred first so the
    # subtraction does not lose precision on large values (incomes in yuan, say).
    centred = distinct - distinct.mean()
    weight = np.concatenate([[0.0], np.cumsum(counts, dtype="float64")])
    sum1 = np.concatenate([[0.0], np.cumsum(counts * centred)])
    sum2 = np.concatenate([[0.0], np.cumsum(counts * centred * centred)])

    def block_ss(first: np.ndarray, last: np.ndarray) -> np.ndarray:
        w = weight[last + 1] - weight[first]
        s1 = sum1[last + 1] - sum1[first]
        with np.errstate(divide="ignore", invalid="ignore"):  # blocks with first > last: masked below
            return np.maximum(sum2[last + 1] - sum2[first] - s1 * s1 / w, 0.0)

    last_index = np.arange(m)
    cost = block_ss(np.zeros(m, dtype=int), last_index)  # one class over values 0..j
    starts = np.zeros((k, m), dtype=np.int64)  # first value of the last class, per (classes, j)
    block = max(1, 2_000_000 // m)  # rows of the (j, first) matrix held at once
    for classes in range(1, k):
        new_cost = np.full(m, np.inf)
        low = classes  # the last class starts at or after ``classes``: room for those before
        for j0 in range(classes, m, block):
            j = np.arange(j0, min(m, j0 + block))
            # The best start of the last class never moves left as j grows (the 1-D
            # squared-error cost is Monge), so columns left of the previous best are skipped.
            first = np.arange(low, j[-1] + 1)
            total = cost[first - 1][None, :] + block_ss(first[None, :], j[:, None])
            total[first[None, :] > j[:, None]] = np.inf
            best = np.argmin(total, axis=1)
            new_cost[j] = total[np.arange(j.size), best]
            starts[classes, j] = first[best]
            low = first[best[-1]]
        cost = new_cost
    # Walk back from the last value: each class ends just before the next one starts.
    uppers, end = [], m - 1
    for classes in range(k - 1, 0, -1):
        uppers.append(distinct[end])
        end = starts[classes, end] - 1
    uppers.append(distinct[end])
    return np.asarray(uppers[::-1])
