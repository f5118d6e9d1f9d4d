"""Population from a Level 2 class grid and unit totals: fitted class densities, dasymetric spread.

Without a population raster, Stage II can still weigh units by **population** if the people
counted in each unit (census totals) are put where the class grid says they live. Every Level 2
grid class has a density band fixed by the method (``DEGURBA.md``): urban centre (30) and dense
cluster (23) cells ≥ 1 500 persons/km²; semi-dense (22), suburban (21) and rural-cluster (13)
cells 300–1 500; low-density rural (12) 50–300; very low density rural (11) < 50; water (10)
and cells without a class (255) hold nobody. This module

1. fits one density per class (:func:`fit_class_densities`) so that the classes' areas inside
   each "fit row" (a unit with a total, or a group of units sharing their parent's remainder)
   reproduce the rows' totals — bounded linear least squares (``scipy.optimize.lsq_linear``)
   with the bands as bounds;
2. spreads every row's total over its cell pieces in proportion to fitted density × area
   (:func:`spread_totals`): volume-preserving, so a row's pieces add up to its total exactly;
3. tells for each reporting unit whether its Level 1 class is **stable**
   (:func:`level1_stable`): the same for every density vector inside the bounds.

Everything works on "pieces": the intersections of grid cells with fit rows, given as parallel
arrays (row, class slot, area in km² on the equal-area ESRI:54009 grid). Pure NumPy/SciPy.

Choices (ours, where the method is silent):

- **Rows are weighted by relative residual**: we minimise Σ_r ((Σ_k A_rk d_k − T_r) / T_r)²,
  not the absolute residual. Units span two orders of magnitude (a mountain county of 60 000
  people, a city district of 1.5 million); in absolute terms the big urban districts would
  decide every density, and the low-density classes, which only rural units inform, would be
  fitted to nothing. Relative residuals give each unit one equal say.
- **Upper bound of the dense classes** (30, 23), which the method leaves open:
  :data:`DENSE_UPPER_DENSITY` = 30 000 persons/km². The bound is on a *class mean over a fit
  region* (a province), not on single cells. It is about the density of the densest whole
  districts of China in the 2020 census (上海黄浦区 ≈ 32 000/km², 虹口区 ≈ 30 000/km²) and
  lets the one-row fits of 香港 and 澳门, whose whole populated area is urban centre, reach
  their census totals; no province-wide mean of urban-centre cells comes near it. A higher
  bound would not change the fits (they stay well inside) but widens the box of the stability
  check and so marks more units unstable; a lower one the reverse (see README).
- **A weak prior** keeps the fit defined where rows do not determine every class (a province
  with fewer rows than classes, a class with no area): one extra row per class,
  √:data:`PRIOR_WEIGHT` · (d_k / p_k − 1), pulling d_k towards p_k, the geometric middle of its
  band (:func:`prior_densities`). With 90 county rows its weight is 1 % of one county's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

#: Level 2 grid classes that hold people, densest first (the "slots" of the arrays below).
POPULATED_CODES = (30, 23, 22, 21, 13, 12, 11)
#: Upper bound (persons/km²) of the class mean density of urban centres and dense clusters.
DENSE_UPPER_DENSITY = 30_000.0
#: Density band of each populated class (persons/km²): (lower, upper), from the method's
#: cell thresholds; the dense classes' upper bound is ours (see the module docstring).
CLASS_DENSITY_BOUNDS = {
    30: (1_500.0, DENSE_UPPER_DENSITY),
    23: (1_500.0, DENSE_UPPER_DENSITY),
    22: (300.0, 1_500.0),
    21: (300.0, 1_500.0),
    13: (300.0, 1_500.0),
    12: (50.0, 300.0),
    11: (0.0, 50.0),
}
#: Weight of the prior rows relative to one unit's row (see the module docstring).
PRIOR_WEIGHT = 0.01
#: Slot of every code 0..255 (``-1``: holds nobody: water, no data, anything else).
SLOT_OF_CODE = np.full(256, -1, dtype=np.int8)  # small: one per cell piece
SLOT_OF_CODE[list(POPULATED_CODES)] = np.arange(len(POPULATED_CODES))

_CITY = (0,)  # slot of 30
_RURAL = (4, 5, 6)  # slots of 13, 12, 11


def density_bounds(upper_dense: float = DENSE_UPPER_DENSITY) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper density bounds (persons/km²) per slot of :data:`POPULATED_CODES`;
    ``upper_dense`` (≥ 1 500) is the upper bound of classes 30 and 23."""
    if not upper_dense >= 1_500.0:
        raise ValueError(f"upper bound of the dense classes {upper_dense!r}: expected at least 1500 persons/km²")
    bounds = dict(CLASS_DENSITY_BOUNDS)
    bounds[30] = bounds[23] = (1_500.0, float(upper_dense))
    lower = np.array([bounds[c][0] for c in POPULATED_CODES])
    upper = np.array([bounds[c][1] for c in POPULATED_CODES])
    return lower, upper


def prior_densities(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The middle of each band on a log scale, √(lower · upper); for a band from 0 (class 11),
    half its upper bound. Persons/km²."""
    return np.where(lower > 0, np.sqrt(lower * upper), upper / 2)


@dataclass(frozen=True)
class DensityFit:
    """Fitted class densities of one fit region.

    densities, lower, upper
        Persons/km² per slot of :data:`POPULATED_CODES` (fitted value and its bounds).
    fitted, totals
        Per fit row: Σ_k area × density (persons) and the row's total (persons).
    used
        Per fit row: whether it entered the fit (total > 0 and some populated area).
    """

    densities: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    fitted: np.ndarray
    totals: np.ndarray
    used: np.ndarray

    @property
    def relative_residuals(self) -> np.ndarray:
        """(fitted − total) / total per row; NaN for rows outside the fit."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.used, (self.fitted - self.totals) / self.totals, np.nan)

    @property
    def rms_relative_residual(self) -> float:
        """Root mean square of the relative residuals of the rows in the fit (0..)."""
        values = self.relative_residuals[self.used]
        return float(np.sqrt(np.mean(values**2))) if values.size else float("nan")


def class_areas(row: np.ndarray, slot: np.ndarray, area_km2: np.ndarray, n_rows: int) -> np.ndarray:
    """Populated-class area (km²) per fit row: an ``(n_rows, 7)`` array; pieces of slot −1
    (water, no data) are left out."""
    populated = slot >= 0
    k = len(POPULATED_CODES)
    flat = np.bincount(row[populated] * k + slot[populated], weights=area_km2[populated], minlength=n_rows * k)
    return flat.reshape(n_rows, k)


def fit_class_densities(
    areas: np.ndarray,
    totals: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    prior_weight: float = PRIOR_WEIGHT,
) -> DensityFit:
    """One density per class (persons/km²) such that ``areas @ d ≈ totals``, within bounds.

    Parameters
    ----------
    areas
        ``(n_rows, 7)`` km² of each populated class (slots of :data:`POPULATED_CODES`) per row.
    totals
        ``(n_rows,)`` persons per row. Rows with a total ≤ 0 or no populated area stay out of
        the fit (they cannot be weighted relatively), and are marked in ``used``.
    lower, upper
        Bounds per slot; default :func:`density_bounds`.
    prior_weight
        Weight of the pull towards :func:`prior_densities` (see the module docstring).

    Minimises Σ_r ((A_r · d − T_r) / T_r)² + w Σ_k (d_k / p_k − 1)² subject to the bounds.
    """
    areas = np.asarray(areas, dtype="float64")
    totals = np.asarray(totals, dtype="float64")
    if lower is None or upper is None:
        lower, upper = density_bounds()
    used = (totals > 0) & (areas.sum(axis=1) > 0)
    prior = prior_densities(lower, upper)
    design = areas[used] / totals[used, None]
    target = np.ones(int(used.sum()))
    k = len(POPULATED_CODES)
    root = np.sqrt(prior_weight)
    design = np.vstack([design, np.diag(root / prior)])
    target = np.concatenate([target, np.full(k, root)])
    # Scale the unknowns to ~1 so the solver's tolerances mean the same for every class; the
    # solver wants lower < upper strictly, so a class fixed by its bounds gets a hair of room.
    open_upper = np.where(upper > lower, upper, lower + 1e-9 * np.maximum(prior, 1.0))
    solution = lsq_linear(design * prior, target, bounds=(lower / prior, open_upper / prior), method="bvls")
    densities = np.clip(solution.x * prior, lower, upper)
    return DensityFit(densities, lower, upper, areas @ densities, totals, used)


def spread_totals(
    row: np.ndarray,
    slot: np.ndarray,
    area_km2: np.ndarray,
    totals: np.ndarray,
    densities: np.ndarray,
) -> np.ndarray:
    """Persons in each piece: its row's total × (density × area) / Σ over the row's pieces.

    ``densities`` is one vector (7,) for all rows or an ``(n_rows, 7)`` array (a fit per
    region). Pieces of slot −1 get 0. A row whose pieces all hold nobody (weight 0) cannot
    place its total: its pieces get 0 (see :func:`unplaced_rows`).
    """
    weight = _piece_weights(row, slot, area_km2, densities)
    per_row = np.bincount(row, weights=weight, minlength=len(totals))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(per_row > 0, np.asarray(totals, dtype="float64") / per_row, 0.0)
    return weight * scale[row]


def unplaced_rows(row: np.ndarray, slot: np.ndarray, area_km2: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Rows with a positive total but no populated area to put it on (bool per row)."""
    populated = np.bincount(row, weights=area_km2 * (slot >= 0), minlength=len(totals))
    return (np.asarray(totals) > 0) & (populated <= 0)


def _piece_weights(row, slot, area_km2, densities) -> np.ndarray:
    densities = np.asarray(densities, dtype="float64")
    safe_slot = np.maximum(slot, 0)
    density = densities[safe_slot] if densities.ndim == 1 else densities[row, safe_slot]
    return np.where(slot >= 0, density * area_km2, 0.0)


def unit_class_population(
    unit: np.ndarray,
    row: np.ndarray,
    slot: np.ndarray,
    area_km2: np.ndarray,
    totals: np.ndarray,
    densities: np.ndarray,
    n_units: int,
) -> np.ndarray:
    """Persons per reporting unit and populated class, ``(n_units, 7)``, when the rows'
    totals are spread with ``densities``. ``unit`` gives each piece's reporting unit (a
    county, or a prefecture made of whole counties)."""
    persons = spread_totals(row, slot, area_km2, totals, densities)
    k = len(POPULATED_CODES)
    populated = slot >= 0
    flat = np.bincount(unit[populated] * k + slot[populated], weights=persons[populated], minlength=n_units * k)
    return flat.reshape(n_units, k)


def level1_stable(
    unit: np.ndarray,
    row: np.ndarray,
    slot: np.ndarray,
    area_km2: np.ndarray,
    totals: np.ndarray,
    n_units: int,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    city_share: float = 0.5,
    rural_share: float = 0.5,
) -> np.ndarray:
    """Whether each unit's Stage II Level 1 class is the same for every density vector with
    ``lower ≤ d ≤ upper`` (bool per unit; a unit with nobody in it is stable, always 1).

    A unit's share of a class set C is Σ_{k∈C} d_k P_k / Σ_k d_k P_k (linear-fractional in d),
    increasing in the d_k of C and decreasing in the others — also for a unit made of several
    whole rows, a sum of such terms over a fixed total. Its extremes over the box are therefore
    at two vertices: maximum with C at its upper bounds and the rest at their lower bounds,
    minimum the other way round. Level 1 is fixed by two shares (urban centre ≥ ½ → city; else
    rural cells ≥ ½ → rural; else town), so the class is stable when the urban-centre share is
    ≥ ½ even at its minimum, or < ½ even at its maximum and the rural share is on one side of ½
    at both its extremes. (For a unit holding only part of several rows — not made by the
    build, where prefectures are whole counties — the vertex test is an approximation.)
    """
    if lower is None or upper is None:
        lower, upper = density_bounds()

    def share_range(members: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        inside = np.zeros(len(POPULATED_CODES), dtype=bool)
        inside[list(members)] = True
        extremes = []
        for high_inside in (True, False):
            vertex = np.where(inside == high_inside, upper, lower)
            people = unit_class_population(unit, row, slot, area_km2, totals, vertex, n_units)
            total = people.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                extremes.append(np.where(total > 0, people[:, inside].sum(axis=1) / total, np.nan))
        return extremes[1], extremes[0]  # minimum, maximum

    city_min, city_max = share_range(_CITY)
    rural_min, rural_max = share_range(_RURAL)
    empty = np.isnan(city_max)
    # The thresholds are the rules' Stage II shares (½ in the 2021 manual).
    always_city = city_min >= city_share
    never_city = city_max < city_share
    rural_settled = (rural_min >= rural_share) | (rural_max < rural_share)
    return empty | always_city | (never_city & rural_settled)
