"""Classification schemes for numeric views, each a small object (the breaks: :mod:`gis.breaks`).

A scheme turns the pooled values of a view (all its years together, so one colour means the
same value in every year) into upper class bounds. Units are those of the values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gis import breaks
from gis.breaks import quantile_bounds


@dataclass(frozen=True)
class Scheme:
    """A named classification: bilingual legend label and a function values -> upper bounds."""

    name: str
    label_zh: str
    label_en: str
    upper_bounds: Callable[[np.ndarray, int, tuple[float, ...]], np.ndarray]


def _bounds_of(scheme: Callable[[np.ndarray, int], np.ndarray]) -> Callable[[np.ndarray, int, tuple[float, ...]], np.ndarray]:
    def upper_bounds(values: np.ndarray, classes: int, breaks: tuple[float, ...]) -> np.ndarray:
        # Fewer distinct values than classes give fewer classes: the honest result.
        return scheme(values, classes)

    return upper_bounds


def _user_bounds(values: np.ndarray, classes: int, breaks: tuple[float, ...]) -> np.ndarray:
    # The last class is open above ("> last break") whatever the data, so the legend shows
    # exactly the classes the spec asked for.
    return np.asarray([*breaks, np.inf], dtype="float64")


def _diverging_bounds(values: np.ndarray, classes: int, breaks: tuple[float, ...]) -> np.ndarray:
    """Classes symmetric about 0 for a change or a difference (growth against decline): the
    distances from 0 are classed by quantiles, and the same bounds mirrored below 0, so the
    palette's middle falls on 0 whatever the mix of signs. An even number of classes puts 0 on
    a bound (the two middle colours are the smallest declines and rises); an odd number gives a
    middle class around 0. Upper bounds, increasing; the lowest class takes any value below."""
    distances = np.abs(values)
    half, odd = divmod(classes, 2)
    magnitudes = quantile_bounds(distances, half + odd)
    magnitudes = magnitudes[magnitudes > 0] if not odd else magnitudes
    if odd:
        below = -magnitudes[:-1][::-1]
        return np.concatenate([below, magnitudes])
    return np.concatenate([-magnitudes[:-1][::-1], [0.0], magnitudes])


SCHEMES: dict[str, Scheme] = {
    "quantiles": Scheme("quantiles", "分位数", "quantiles", _bounds_of(breaks.quantile_bounds)),
    "fisher_jenks": Scheme("fisher_jenks", "自然断点（Fisher-Jenks）", "natural breaks (Fisher-Jenks)",
                           _bounds_of(breaks.fisher_jenks_bounds)),
    "equal_interval": Scheme("equal_interval", "等间距", "equal interval",
                             _bounds_of(breaks.equal_interval_bounds)),
    "user_breaks": Scheme("user_breaks", "自定义分级", "user-defined breaks", _user_bounds),
    "diverging": Scheme("diverging", "以0为中心的对称分级（距0的分位数）", "symmetric about 0 (quantiles of the distance from 0)",
                        _diverging_bounds),
}


def class_bounds(scheme: str, values: np.ndarray, classes: int, breaks: tuple[float, ...] = ()) -> np.ndarray:
    """Upper bounds of each class for ``values`` (NaN ignored); empty if there is no value."""
    values = np.asarray(values, dtype="float64")
    values = values[np.isfinite(values)]
    if values.size == 0:
        return np.asarray([], dtype="float64")
    return SCHEMES[scheme].upper_bounds(values, classes, breaks)


def class_index(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Class of each value: i where ``bounds[i-1] < v <= bounds[i]``; -1 for missing values.

    """
    values = np.asarray(values, dtype="float64")
    index = np.searchsorted(bounds, values, side="left").clip(0, max(len(bounds) - 1, 0))
    return np.where(np.isfinite(values) & (len(bounds) > 0), index, -1).astype(int)
