"""Population from a Level 2 class grid and unit totals: fitted class densities, dasymetric spread.

Without a population raster, Stage II can still weigh units by **population** if the people
counted in each unit (census totals) are put where the class grid says they live. Every Level 2
grid class has a density band fixed by the method (``DEGURBA.md``): urban centre (30) and dense
cluster (23) cells ≥ 1 500 persons/km²; semi-dense (22), suburban (21) and rural-cluster (13)
cells 300–1 500; low-density rural (12) 50–300; very low density rural (11) < 50; water (10)
and cells without a class (255) hold nobody. This module

1. sorts the cells into **density classes** (:data:`DENSITY_CLASSES`): the six populated
   classes below the urban centre as they are, and the urban-centre cells by their **depth**,
   the distance (km, :func:`urban_centre_depth`) to the nearest populated cell of another
   class, in five bands: 1, 2, 3–4, 5–8 and ≥ 9 km;
2. fits one density per density class (:func:`fit_class_densities`) so that their areas inside
   each "fit row" (a unit with a total, or a group of units sharing their parent's remainder)
   reproduce the rows' totals — linear least squares with the class's band as bounds for each
   of its density classes (and the depth bands in order, below), solved exactly;
3. spreads every row's total over its cell pieces in proportion to fitted density × area
   (:func:`spread_totals`): volume-preserving, so a row's pieces add up to its total exactly;
4. tells for each reporting unit whether its Level 1 class is **stable**
   (:func:`level1_stable`): the same for every density vector inside the bounds.

Everything works on "pieces": the intersections of grid cells with fit rows, given as parallel
arrays (row, density class, area in km² on the equal-area ESRI:54009 grid). Pure NumPy/SciPy.

Choices (ours, where the method is silent):

- **Urban centres by depth.** One density for all urban-centre cells is the largest error of a
  one-density-per-class fit: a city's density falls from its core to its edge (the density
  gradient every city shows), and an urban centre's cells run from the edge (just above
  1 500/km²) to old city cores ten times denser. Which cells are central the class grid itself
  says: how deep a cell lies inside its urban centre. Counted in king moves on the 1 km grid
  through the centre's own cells, depth 1 is a cell touching a populated cell of another class,
  depth 2 the next ring, and so on; water and cells without data are not an edge (a waterfront
  is not the city's fringe). The bands double in width (1, 2, 3–4, 5–8, ≥ 9 km) because density
  falls off roughly exponentially from the centre, fast near the edge and slowly inside. On the
  real data this is what the county totals support: fitted on the other rows of its province,
  a county's census total is predicted with a median error of 14.4 % instead of 15.4 % (1 892
  counties), and in the big cities' provinces far better (北京 0.28 → 0.20, 天津 0.59 → 0.39,
  上海 0.55 → 0.43 root-mean-square leave-one-out relative error). Splitting the other classes
  by their neighbourhood (touching an urban centre, a dense cluster, an urban cell) did not
  help on the real data or on synthetic worlds, so they stay whole. Depth is measured within the fit
  region's cells only (cells outside it count as no data), so a province's fit is the same in
  its own build and in the national one.
- **Rows are weighted by relative residual**: we minimise Σ_r ((Σ_k A_rk d_k − T_r) / T_r)²,
  not the absolute residual. Units span two orders of magnitude (a mountain county of 60 000
  people, a city district of 1.5 million); in absolute terms the big urban districts would
  decide every density, and the low-density classes, which only rural units inform, would be
  fitted to nothing. Relative residuals give each unit one equal say (on synthetic worlds,
  absolute or √total weights classify fewer units right).
- **Upper bound of the dense classes** (30, 23), which the method leaves open:
  :data:`DENSE_UPPER_DENSITY` = 30 000 persons/km². The bound is on the *mean over a fit
  region* (a province) of a density class — for the urban centre, of one depth band — not on
  single cells. It is about the density of the densest whole
  districts of China in the 2020 census (上海黄浦区 ≈ 32 000/km², 虹口区 ≈ 30 000/km²) and
  lets the one-row fits of 香港 and 澳门, whose whole populated area is urban centre, reach
  their census totals. A higher bound would widen the box of the stability check and so mark
  more units unstable; a lower one the reverse (see README).
- **Deeper is at least as dense**: the fitted densities of an urban centre's depth bands never
  fall towards its core (d_1 km ≤ d_2 km ≤ … ≤ d_≥9 km). Without it, bands that mostly come
  together in the same units (the first and second rings of small centres) trade density
  against each other and a province's edge ring came out denser than its second ring.
- **A weak prior** keeps the fit defined where rows do not determine every density (a province
  with fewer rows than density classes, a class with no area, depth bands that always come
  together): per Level 2 class one extra row √:data:`PRIOR_WEIGHT` · (m_c / p_c − 1) pulling
  the class's area-weighted mean density m_c towards p_c, the geometric middle of its band
  (:func:`prior_densities`) — for a class without bands that is d_c / p_c − 1 — and between
  neighbouring depth bands a row √:data:`TIE_WEIGHT` · (d_j − d_j+1) / p_30 pulling them
  together. With 90 county rows the class prior weighs 1 % of one county's row and the tie
  0.1 %: where rows tell the bands apart the data decide (a stronger tie, 1 %, fitted fewer
  synthetic units right); where they cannot (香港's and 澳门's one-row fits) all bands get the
  same density, as one urban-centre density would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Level 2 grid classes that hold people, densest first (the "slots" of the class arrays).
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
#: Weight of the rows tying neighbouring depth bands of the urban centre together.
TIE_WEIGHT = 0.001
#: A hair of pull of every density to its prior (see fit_class_densities).
_RIDGE = 1e-14
#: Slot of every code 0..255 (``-1``: holds nobody: water, no data, anything else).
SLOT_OF_CODE = np.full(256, -1, dtype=np.int8)  # small: one per cell piece
SLOT_OF_CODE[list(POPULATED_CODES)] = np.arange(len(POPULATED_CODES))
#: Classes whose cells are an urban centre's edge: the populated classes other than 30.
EDGE_CODES = POPULATED_CODES[1:]
#: Depth bands of urban-centre cells: (first, last) depth in km (1 km cells), last None = open.
URBAN_CENTRE_DEPTH_BANDS = ((1, 1), (2, 2), (3, 4), (5, 8), (9, None))
#: The density classes, one fitted density each: (Level 2 code, depth band or None).
DENSITY_CLASSES = tuple(
    [(30, band) for band in URBAN_CENTRE_DEPTH_BANDS] + [(code, None) for code in POPULATED_CODES[1:]]
)
#: Class slot (position in :data:`POPULATED_CODES`) of every density class.
CLASS_SLOT = np.array([POPULATED_CODES.index(code) for code, _ in DENSITY_CLASSES], dtype=np.int8)
N_DENSITY_CLASSES = len(DENSITY_CLASSES)
#: Density class of slot + 1 for the slots −1..6 (−1: nobody; the urban centre's, slot 0, goes by depth).
_DENSITY_CLASS_OF_SLOT = np.array([-1, 0] + [DENSITY_CLASSES.index((code, None)) for code in POPULATED_CODES[1:]],
                                  dtype=np.int8)  # small: one per cell piece
_DEPTH_FIRST = np.array([first for first, _ in URBAN_CENTRE_DEPTH_BANDS])
#: Depths (km) are counted up to the first depth of the deepest band; deeper cells get it.
DEPTH_CAP_KM = int(_DEPTH_FIRST[-1])
_IS_EDGE = np.zeros(256, dtype=bool)
_IS_EDGE[list(EDGE_CODES)] = True

_CITY = (0,)  # slot of 30
_RURAL = (4, 5, 6)  # slots of 13, 12, 11


def depth_label(band: tuple[int, int | None] | None) -> str | None:
    """``"1"``, ``"3–4"``, ``"≥ 9"`` (km) for a depth band; None for a class without bands."""
    if band is None:
        return None
    first, last = band
    return f"≥ {first}" if last is None else (f"{first}" if first == last else f"{first}–{last}")


def density_class_labels() -> list[str]:
    """A short label per density class: ``"30, depth 1 km"`` … ``"30, depth ≥ 9 km"``, ``"23"`` …"""
    return [f"{code}" if band is None else f"{code}, depth {depth_label(band)} km" for code, band in DENSITY_CLASSES]


def urban_centre_depth(class_codes: np.ndarray) -> np.ndarray:
    """Depth (km, int32) of every urban-centre cell of a Level 2 grid of 1 km cells; 0 elsewhere.

    The number of king moves (chessboard steps) from the cell to the nearest cell of
    :data:`EDGE_CODES`, walking through urban-centre cells: 1 for a cell touching an edge cell
    (also at a corner), 2 for the next ring, … up to :data:`DEPTH_CAP_KM` (9, where the deepest
    band starts): deeper cells, and centre cells no edge cell can be reached from, are 9. Water
    (10) and no data (255, also beyond the grid) are no edge and no way through: a centre on
    both banks of a river is as deep at the river as in its streets.
    """
    codes = np.pad(np.asarray(class_codes), 1, constant_values=255)  # every cell has 8 neighbours
    width = codes.shape[1]
    flat = codes.ravel()
    # Ring by ring from the edge cells (level 0), over the centre cells only (a few % of a
    # grid); other cells stay at the cap and never pass a ring on.
    level = np.where(_IS_EDGE[flat], 0, DEPTH_CAP_KM).astype(np.uint8)
    centre = np.flatnonzero(flat == 30)
    todo = centre
    neighbours = np.array([-width - 1, -width, -width + 1, -1, 1, width - 1, width, width + 1])
    for depth in range(1, DEPTH_CAP_KM):
        if not todo.size:
            break
        reached = level[todo[:, None] + neighbours].min(axis=1) == depth - 1
        level[todo[reached]] = depth
        todo = todo[~reached]
    result = np.zeros(flat.size, dtype=np.int32)
    result[centre] = level[centre]
    return result.reshape(codes.shape)[1:-1, 1:-1]


def density_class(slot: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Density class (index into :data:`DENSITY_CLASSES`) of cells or pieces from their class slot
    (:data:`SLOT_OF_CODE`) and urban-centre depth (km, :func:`urban_centre_depth`; read only
    where the slot is 0); −1 for slot −1 (holds nobody)."""
    slot = np.asarray(slot)
    result = _DENSITY_CLASS_OF_SLOT[slot + 1]
    centre = slot == 0
    result[centre] = _depth_band(np.asarray(depth)[centre])
    return result


def _depth_band(depth: np.ndarray) -> np.ndarray:
    """Index of the depth band (:data:`URBAN_CENTRE_DEPTH_BANDS`) of depths in km (≥ 1)."""
    return np.searchsorted(_DEPTH_FIRST, np.maximum(depth, 1), side="right") - 1


def piece_density_classes(class_codes: np.ndarray, cells: np.ndarray, region: np.ndarray) -> np.ndarray:
    """Density class of each piece: ``cells`` (flat indices into ``class_codes``, a 2-D Level 2
    grid) and ``region`` (the piece's fit region, −1: none) are parallel arrays.

    Urban-centre depth is measured within each region's own cells (the others count as no
    data), so that a region's classes do not depend on the grid around it: a province is
    classed the same in its own build and in the national one. Pieces without a region get
    the class of their cell without depth (their urban-centre cells band 1; they enter no fit).
    """
    class_codes = np.asarray(class_codes)
    width = class_codes.shape[1]
    flat_codes = class_codes.ravel()
    slot = SLOT_OF_CODE[flat_codes[cells]]
    result = _DENSITY_CLASS_OF_SLOT[slot + 1]
    region = np.asarray(region)
    centre_regions = np.flatnonzero(np.bincount(region[(slot == 0) & (region >= 0)], minlength=1))
    if centre_regions.size:
        # Pieces sorted by region once, each region's a slice (no pass over all pieces per
        # region); the build's pieces come sorted already (counties in adcode order).
        in_order = bool((region[:-1] <= region[1:]).all())
        order = None if in_order else np.argsort(region, kind="stable")
        sorted_region = region if in_order else region[order]
        starts = np.searchsorted(sorted_region, centre_regions, side="left")
        stops = np.searchsorted(sorted_region, centre_regions, side="right")
        for start, stop in zip(starts, stops):
            mine = slice(start, stop) if in_order else order[start:stop]
            own_cells = cells[mine]
            rows, cols = np.divmod(own_cells, width)
            top, left = rows.min(), cols.min()
            patch = np.full((rows.max() - top + 1, cols.max() - left + 1), 255, dtype=class_codes.dtype)
            patch[rows - top, cols - left] = flat_codes[own_cells]  # a cell in two pieces: same code
            centre = slot[mine] == 0
            depth = urban_centre_depth(patch)[rows[centre] - top, cols[centre] - left]
            own = result[mine]
            own[centre] = _depth_band(depth)
            result[mine] = own
    return result

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


def density_class_bounds(upper_dense: float = DENSE_UPPER_DENSITY) -> tuple[np.ndarray, np.ndarray]:
    """:func:`density_bounds` per density class: each has its Level 2 class's band."""
    lower, upper = density_bounds(upper_dense)
    return lower[CLASS_SLOT], upper[CLASS_SLOT]


def prior_densities(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The middle of each band on a log scale, √(lower · upper); for a band from 0 (class 11),
    half its upper bound. Persons/km²."""
    return np.where(lower > 0, np.sqrt(lower * upper), upper / 2)


@dataclass(frozen=True)
class DensityFit:
    """Fitted densities of one fit region.

    densities, lower, upper
        Persons/km² per density class (fitted value and its bounds).
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


def class_areas(row: np.ndarray, dclass: np.ndarray, area_km2: np.ndarray, n_rows: int,
                n_classes: int = N_DENSITY_CLASSES) -> np.ndarray:
    """Area (km²) of every density class per fit row: an ``(n_rows, n_classes)`` array; pieces
    of class −1 (water, no data) are left out."""
    populated = dclass >= 0
    flat = np.bincount(row[populated] * n_classes + dclass[populated], weights=area_km2[populated],
                       minlength=n_rows * n_classes)
    return flat.reshape(n_rows, n_classes)


def fit_class_densities(
    areas: np.ndarray,
    totals: np.ndarray,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    prior_weight: float = PRIOR_WEIGHT,
    class_slot: np.ndarray | None = None,
    tie_weight: float = TIE_WEIGHT,
) -> DensityFit:
    """One density per density class (persons/km²) such that ``areas @ d ≈ totals``, within
    bounds, non-decreasing over the depth bands of a class.

    Parameters
    ----------
    areas
        ``(n_rows, n)`` km² of each density class per row (default columns: :data:`DENSITY_CLASSES`).
    totals
        ``(n_rows,)`` persons per row. Rows with a total ≤ 0 or no populated area stay out of
        the fit (they cannot be weighted relatively), and are marked in ``used``.
    lower, upper
        Bounds per column; default :func:`density_class_bounds`.
    prior_weight, tie_weight
        Weights of the pull of each class's mean towards :func:`prior_densities` and of the
        pull between neighbouring depth bands (see the module docstring).
    class_slot
        Level 2 class of each column (default :data:`CLASS_SLOT`; ``np.arange(7)`` for one
        column per class, :data:`POPULATED_CODES`). Columns of one class are its depth bands,
        adjacent and shallowest first.

    Minimises Σ_r ((A_r · d − T_r) / T_r)² + w Σ_c (m_c / p_c − 1)² + w_t Σ_j ((d_j − d_j+1) / p)²,
    with m_c the area-weighted mean density of class c over the rows (the mean of its bands
    where it has no area), the last sum over neighbouring bands of a class, subject to
    ``lower ≤ d ≤ upper`` and d_j ≤ d_j+1 along a class's bands: least squares with linear
    inequality constraints, solved exactly (:func:`_least_squares_with_inequalities`).
    """
    areas = np.asarray(areas, dtype="float64")
    totals = np.asarray(totals, dtype="float64")
    class_slot = CLASS_SLOT if class_slot is None else np.asarray(class_slot)
    if lower is None or upper is None:
        lower, upper = density_bounds()
        lower, upper = lower[class_slot], upper[class_slot]
    n = areas.shape[1]
    if len(class_slot) != n or len(lower) != n or len(upper) != n:
        raise ValueError(f"areas have {n} columns; expected one class, lower and upper bound per column")
    used = (totals > 0) & (areas.sum(axis=1) > 0)
    prior = prior_densities(lower, upper)
    # Rows of the objective, in units of d / prior (so every column is of order 1).
    blocks = [areas[used] / totals[used, None]]
    targets = [np.ones(int(used.sum()))]
    class_area = areas[used].sum(axis=0)
    for c in np.unique(class_slot):
        members = class_slot == c
        weights = class_area[members] if class_area[members].sum() > 0 else np.ones(int(members.sum()))
        mean_row = np.zeros(n)
        mean_row[members] = weights / (weights.sum() * prior[members])
        blocks.append(np.sqrt(prior_weight) * mean_row[None, :])
        targets.append(np.array([np.sqrt(prior_weight)]))
    neighbours = np.flatnonzero(class_slot[:-1] == class_slot[1:])
    # A hair of pull of every column to its prior keeps the problem well posed (full column
    # rank) even with both weights 0 and columns without area; it moves no determined density.
    blocks.append(np.sqrt(_RIDGE) * np.diag(1 / prior))
    targets.append(np.full(n, np.sqrt(_RIDGE)))
    if neighbours.size:
        ties = np.zeros((neighbours.size, n))
        ties[np.arange(neighbours.size), neighbours] = -np.sqrt(tie_weight) / prior[neighbours]
        ties[np.arange(neighbours.size), neighbours + 1] = np.sqrt(tie_weight) / prior[neighbours + 1]
        blocks.append(ties)
        targets.append(np.zeros(neighbours.size))
    design = np.vstack(blocks) * prior
    # Constraints G x ≥ h on x = d / prior: bounds, and each band at least as dense as the one outside it.
    order = np.zeros((neighbours.size, n))
    order[np.arange(neighbours.size), neighbours] = -prior[neighbours]
    order[np.arange(neighbours.size), neighbours + 1] = prior[neighbours + 1]
    constraints = np.vstack([np.eye(n), -np.eye(n), order])  # order · x = d_j+1 − d_j ≥ 0
    limits = np.concatenate([lower / prior, -upper / prior, np.zeros(neighbours.size)])
    solution = _least_squares_with_inequalities(design, np.concatenate(targets), constraints, limits)
    densities = np.clip(solution * prior, lower, upper)
    return DensityFit(densities, np.asarray(lower, dtype="float64"), np.asarray(upper, dtype="float64"),
                      areas @ densities, totals, used)


def _least_squares_with_inequalities(design: np.ndarray, target: np.ndarray, constraints: np.ndarray,
                                     limits: np.ndarray) -> np.ndarray:
    """x minimising ‖design · x − target‖ subject to constraints · x ≥ limits.

    Lawson & Hanson, *Solving Least Squares Problems* (1974), ch. 23: with design = Q R (full
    column rank: the prior rows see to it) the problem becomes one of least distance, whose
    solution is read off a non-negative least squares problem (``scipy.optimize.nnls``).
    """
    # Imported here: only census weights need it, and importing scipy.optimize costs ~0.5 s.
    from scipy.optimize import nnls

    q, r = np.linalg.qr(design)
    projected = q.T @ target
    g = np.linalg.solve(r.T, constraints.T).T  # constraints · R⁻¹
    h = limits - g @ projected
    n = design.shape[1]
    stacked = np.vstack([g.T, h[None, :]])
    unit = np.zeros(n + 1)
    unit[-1] = 1.0
    u, _ = nnls(stacked, unit, maxiter=50 * stacked.shape[1])
    residual = stacked @ u - unit
    if not abs(residual[-1]) > 1e-12:
        raise ValueError("density constraints cannot all hold: check the bounds (lower ≤ upper)")
    z = -residual[:n] / residual[-1]
    return np.linalg.solve(r, z + projected)


def spread_totals(
    row: np.ndarray,
    dclass: np.ndarray,
    area_km2: np.ndarray,
    totals: np.ndarray,
    densities: np.ndarray,
) -> np.ndarray:
    """Persons in each piece: its row's total × (density × area) / Σ over the row's pieces.

    ``densities`` is one vector (per density class) for all rows or an ``(n_rows, n)`` array
    (a fit per region). Pieces of class −1 get 0. A row whose pieces all hold nobody (weight 0)
    cannot place its total: its pieces get 0 (see :func:`unplaced_rows`).
    """
    weight = _piece_weights(row, dclass, area_km2, densities)
    per_row = np.bincount(row, weights=weight, minlength=len(totals))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(per_row > 0, np.asarray(totals, dtype="float64") / per_row, 0.0)
    return weight * scale[row]


def unplaced_rows(row: np.ndarray, dclass: np.ndarray, area_km2: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Rows with a positive total but no populated area to put it on (bool per row)."""
    populated = np.bincount(row, weights=area_km2 * (dclass >= 0), minlength=len(totals))
    return (np.asarray(totals) > 0) & (populated <= 0)


def _piece_weights(row, dclass, area_km2, densities) -> np.ndarray:
    densities = np.asarray(densities, dtype="float64")
    safe = np.maximum(dclass, 0)
    density = densities[safe] if densities.ndim == 1 else densities[row, safe]
    return np.where(dclass >= 0, density * area_km2, 0.0)


def unit_class_population(
    unit: np.ndarray,
    row: np.ndarray,
    dclass: np.ndarray,
    area_km2: np.ndarray,
    totals: np.ndarray,
    densities: np.ndarray,
    n_units: int,
    class_slot: np.ndarray = CLASS_SLOT,
) -> np.ndarray:
    """Persons per reporting unit and Level 2 class (slots of :data:`POPULATED_CODES`),
    ``(n_units, 7)``, when the rows' totals are spread with ``densities`` (per density class).
    ``unit`` gives each piece's reporting unit (a county, or a prefecture made of whole
    counties); ``class_slot`` the class of each density class."""
    persons = spread_totals(row, dclass, area_km2, totals, densities)
    k = len(POPULATED_CODES)
    populated = dclass >= 0
    slot = np.asarray(class_slot)[dclass[populated]]
    flat = np.bincount(unit[populated] * k + slot, weights=persons[populated], minlength=n_units * k)
    return flat.reshape(n_units, k)


def level1_stable(
    unit: np.ndarray,
    row: np.ndarray,
    dclass: np.ndarray,
    area_km2: np.ndarray,
    totals: np.ndarray,
    n_units: int,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    city_share: float = 0.5,
    rural_share: float = 0.5,
    class_slot: np.ndarray = CLASS_SLOT,
) -> np.ndarray:
    """Whether each unit's Stage II Level 1 class is the same for every density vector with
    ``lower ≤ d ≤ upper`` (one density per density class; bool per unit; a unit with nobody
    in it is stable, always 1).

    A unit's share of a set C of Level 2 classes is Σ_{j∈C} d_j P_j / Σ_j d_j P_j over its
    density classes j (linear-fractional in d), increasing in the d_j of C and decreasing in the
    others — also for a unit made of several whole rows, a sum of such terms over a fixed total.
    Its extremes over the box are therefore at two vertices: maximum with C's density classes
    at their upper bounds and the rest at their lower bounds, minimum the other way round.
    Level 1 is fixed by two shares (urban centre ≥ ½ → city; else rural cells ≥ ½ → rural; else
    town), so the class is stable when the urban-centre share is ≥ ½ even at its minimum, or < ½
    even at its maximum and the rural share is on one side of ½ at both its extremes. Both
    vertices give all depth bands of a class the same value, so the answer is the same as with
    one density per class: splitting the urban centre by depth neither adds nor removes
    stable units, and the order of the bands (deeper at least as dense) is not needed for it.
    (For a unit holding only part of several rows — not made by the build, where prefectures
    are whole counties — the vertex test is an approximation.)
    """
    class_slot = np.asarray(class_slot)
    if lower is None or upper is None:
        lower, upper = density_bounds()
        lower, upper = lower[class_slot], upper[class_slot]

    def share_range(members: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        inside_class = np.zeros(len(POPULATED_CODES), dtype=bool)
        inside_class[list(members)] = True
        inside = inside_class[class_slot]
        extremes = []
        for high_inside in (True, False):
            vertex = np.where(inside == high_inside, upper, lower)
            people = unit_class_population(unit, row, dclass, area_km2, totals, vertex, n_units, class_slot)
            total = people.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                extremes.append(np.where(total > 0, people[:, inside_class].sum(axis=1) / total, np.nan))
        return extremes[1], extremes[0]  # minimum, maximum

    city_min, city_max = share_range(_CITY)
    rural_min, rural_max = share_range(_RURAL)
    empty = np.isnan(city_max)
    # The thresholds are the rules' Stage II shares (½ in the 2021 manual).
    always_city = city_min >= city_share
    never_city = city_max < city_share
    rural_settled = (rural_min >= rural_share) | (rural_max < rural_share)
    return empty | always_city | (never_city & rural_settled)
