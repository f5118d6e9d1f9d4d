"""Degree of Urbanisation, Stage I: classify 1 km grid cells (Level 1 and Level 2).

Implements the rules of ``shared/reference/DEGURBA.md`` (the 2021 methodological manual
*Applying the Degree of Urbanisation* and the GHS-SMOD product description) on NumPy arrays
with whole-array SciPy operations: connected components (``scipy.ndimage.label``), cluster
populations (``np.bincount`` over the member cells), neighbour counts by shifted sums, and a
summed-area table for the SDUC distance. There is no Python loop over cells or clusters; the
only loops are over smoothing iterations, the few rectangles of the distance structuring
element, the offsets of a small neighbourhood, and blocks of rows (to bound temporaries).
Beyond the float64 input it needs about 15 bytes per cell at peak (measured at 4 000 × 4 000).

Codes (GHS-SMOD):

=====  ===================================  =====
L2     name                                 L1
=====  ===================================  =====
30     urban centre                         3
23     dense urban cluster                  2
22     semi-dense urban cluster             2
21     suburban or peri-urban               2
13     rural cluster                        1
12     low density rural                    1
11     very low density rural               1
10     water                                1
255    no data                              255
=====  ===================================  =====

Every threshold, contiguity and smoothing choice is a parameter: a
:class:`gis.degurba.rules.Rules` (default: the 2021 manual's, ``manual-2021``; the constants
below are its values). Where this docstring names a number it is the manual's; with other rules
read the corresponding key (see :mod:`gis.degurba.rules` for which key is which rule).

Other releases' rules (the flexurba R package's parameters, GHSL R2023A; keys in
:mod:`gis.degurba.rules`): the R2022A and R2023A edge smoothing
(:func:`smooth_urban_centres_by_majority`), moving means of population (:func:`moving_mean`),
the built-up share per permanent land or ``"optimal"`` (:func:`optimal_built_share`), the water
thresholds (:func:`water_cells`) and independent Level 2 clusters (``_independent_classes``:
each class its own groups, taking the cells no denser class took; Level 1 then has its own
urban clusters). The manual's rules take none of these paths.

Our choices, where the method leaves a detail open (also in the README):

1. Densities are compared as ``population >= threshold × land area`` (land area = land share ×
   cell area, or the full cell area when no land raster is given, the land share is 0 or it is
   missing). Thresholds are inclusive (≥ 1 500, ≥ 300, ≥ 50 per km²; ≥ 50 000, ≥ 5 000, ≥ 500
   persons per cluster).
2. Cells with no population data (NaN) are never classified (code 255), never join a cluster
   and never count as UC neighbours when smoothing. In hole filling they belong to the non-UC
   regions (so a small nodata lake inside a city is a hole), but only valid cells of a hole
   become UC.
3. Smoothing updates all cells at once per iteration (a cell added in one pass counts as a
   neighbour only in the next), repeated until no cell changes; hole filling runs once after.
4. A cell that is dense through the built-up criterion (built-up share ≥ 0.5) also counts as
   ≥ 300 for urban clusters (and for rural clusters), so every dense urban cluster lies inside
   an urban cluster and Level 1 and Level 2 agree.
5. The SDUC distance is edge to edge between square cells and inclusive: a cell whose nearest
   edge is exactly D km from a UC/DUC cell is "within D km". D defaults to 2 km (2021 manual);
   GHSL's published grids use 3 km.
6. Water (10) is land share 0 and population 0 (only with a land raster); it replaces only the
   rural classes, so a lake cell absorbed into an urban centre by smoothing or hole filling
   stays 30.
7. Dense urban clusters are grouped with the urban-centre contiguity (both are groups of the
   same dense cells); semi-dense and rural clusters with the urban-cluster contiguity.
   A rural cluster is a group of cells outside urban clusters with at least the rural-cluster
   density (or dense) and at least its population; with the manual's rules (rural density =
   urban-cluster density) these are the groups of the urban-cluster labelling below 5 000.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gis.degurba.rules import Rules
from gis.errors import GisError

#: Level 2 codes and names (GHS-SMOD), densest first.
L2_NAMES = {
    30: "urban centre",
    23: "dense urban cluster",
    22: "semi-dense urban cluster",
    21: "suburban or peri-urban",
    13: "rural cluster",
    12: "low density rural",
    11: "very low density rural",
    10: "water",
}
#: Level 1 codes and names.
L1_NAMES = {3: "urban centre", 2: "urban cluster", 1: "rural grid cell"}
#: Level 1 code of every Level 2 code.
L1_OF_L2 = {30: 3, 23: 2, 22: 2, 21: 2, 13: 1, 12: 1, 11: 1, 10: 1}
#: Code of cells without data in both levels.
NODATA = 255


# Written out rather than from scipy.ndimage.generate_binary_structure: modules that only
# need this module's codes (Stage II, the official grid) then never import scipy.ndimage.
FOUR_CONNECTED = np.array([[False, True, False], [True, True, True], [False, True, False]])
EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)
#: Structuring element of a ``contiguity`` rule (4 or 8).
CONTIGUITY = {4: FOUR_CONNECTED, 8: EIGHT_CONNECTED}
#: The 2021 manual's rules (the default everywhere); the helpers' defaults below come from them.
MANUAL_RULES = Rules()
LOW_PER_KM2 = MANUAL_RULES.low_density_rural.density
SMOOTHING_MIN_NEIGHBOURS = MANUAL_RULES.urban_centre.smoothing_neighbours
MAX_HOLE_CELLS = MANUAL_RULES.urban_centre.max_hole_km2  # 1 km² cells: holes "smaller than 15 cells"


def max_hole_cells(rules: Rules, cell_size_km: float = 1.0) -> float:
    """Holes with fewer cells than this are filled: ``max_hole_km2`` over the area of a square
    cell of ``cell_size_km`` (15 for the manual on the 1 km grid)."""
    return rules.urban_centre.max_hole_km2 / (cell_size_km * cell_size_km)


@dataclass(frozen=True)
class GridClasses:
    """Stage I result: ``level1`` (3/2/1) and ``level2`` (30…10) uint8 arrays, 255 = nodata.

    Both have the input's shape and lie on the input's grid (row 0 = north).
    ``sduc_distance_km`` records the D used for semi-dense clusters and ``rules`` every rule
    used (:class:`gis.degurba.rules.Rules`).
    """

    level1: np.ndarray
    level2: np.ndarray
    sduc_distance_km: float
    rules: Rules = MANUAL_RULES

    def counts(self) -> dict[int, int]:
        """Number of cells per Level 2 code (including 255 when present)."""
        codes, counts = np.unique(self.level2, return_counts=True)
        return {int(c): int(n) for c, n in zip(codes, counts)}


@dataclass(frozen=True)
class _Groups:
    """Connected groups of a mask: ``labels`` (int32, 0 = not in a group), the flat indices of
    member cells (``members``) and their labels, and each group's population (index 0 unused).
    Groups are usually sparse, so per-group work is done on the members only."""

    labels: np.ndarray
    members: np.ndarray
    member_labels: np.ndarray
    population: np.ndarray

    def cells(self, keep: np.ndarray) -> np.ndarray:
        """Boolean mask of the cells of the groups whose label is True in ``keep``."""
        mask = np.zeros(self.labels.shape, dtype=bool)
        mask.ravel()[self.members[keep[self.member_labels]]] = True
        return mask

    def population_between(self, low: float, high: float = math.inf) -> np.ndarray:
        """Per label: is the group's population in [low, high)? (label 0: False)."""
        keep = (self.population >= low) & (self.population < high)
        keep[0] = False
        return keep


def _groups(mask: np.ndarray, structure: np.ndarray, population: np.ndarray) -> _Groups:
    """Label ``mask`` with ``structure`` connectivity and sum each group's population
    (members are valid cells, so NaN never enters a sum)."""
    from scipy import ndimage  # here: importing it costs ~0.4 s, and Stage II never needs it
    labels, n_groups = ndimage.label(mask, structure=structure)
    members = np.flatnonzero(mask)  # the labelled cells; scanning 1 byte a cell, not 4
    member_labels = labels.ravel()[members]
    group_population = np.bincount(member_labels, weights=population.ravel()[members], minlength=n_groups + 1)
    return _Groups(labels, members, member_labels, group_population)


def _neighbour_count(mask: np.ndarray) -> np.ndarray:
    """For every cell, how many of its 8 neighbours are in ``mask`` (outside the grid: no)."""
    padded = np.pad(mask.view(np.uint8), 1)
    height, width = mask.shape
    count = np.zeros(mask.shape, dtype=np.uint8)
    for dr in (0, 1, 2):
        for dc in (0, 1, 2):
            if dr == 1 and dc == 1:
                continue
            count += padded[dr:dr + height, dc:dc + width]
    return count


def smooth_urban_centres(
    urban_centre_mask: np.ndarray, valid_mask: np.ndarray, min_neighbours: int = SMOOTHING_MIN_NEIGHBOURS
) -> np.ndarray:
    """Add every valid non-UC cell with ≥ ``min_neighbours`` (5) of 8 neighbours in a UC, until
    nothing changes (9: no smoothing).

    All cells are updated at once in each pass (our choice 3). Returns a new mask.
    """
    urban_centre_mask = urban_centre_mask.copy()
    if min_neighbours > 8:
        return urban_centre_mask
    while True:
        added = smoothing_additions(urban_centre_mask, valid_mask, min_neighbours)
        if not added.any():
            return urban_centre_mask
        urban_centre_mask |= added


def smoothing_additions(
    urban_centre_mask: np.ndarray, valid_mask: np.ndarray, min_neighbours: int = SMOOTHING_MIN_NEIGHBOURS
) -> np.ndarray:
    """One smoothing pass: the valid non-UC cells with ≥ ``min_neighbours`` (5) of their 8
    neighbours in a UC (cells outside the array are not UC)."""
    added = ~urban_centre_mask & valid_mask
    added &= _neighbour_count(urban_centre_mask) >= min_neighbours
    return added


def fill_urban_centre_holes(
    urban_centre_mask: np.ndarray, valid_mask: np.ndarray, max_cells: float = MAX_HOLE_CELLS
) -> np.ndarray:
    """Fill holes: 4-connected non-UC regions not touching the grid edge, < ``max_cells`` (15).

    Nodata cells are part of the non-UC regions; only valid cells of a hole become UC.
    """
    from scipy import ndimage  # here: importing it costs ~0.4 s, and Stage II never needs it
    filled = urban_centre_mask.copy()
    if max_cells <= 1:
        return filled  # a region has at least 1 cell
    rows = np.flatnonzero(urban_centre_mask.any(axis=1))
    cols = np.flatnonzero(urban_centre_mask.any(axis=0))
    if rows.size == 0:
        return filled
    # A hole is enclosed by UC cells, so it lies inside their bounding box; a non-UC cell on the
    # box's border has a non-UC neighbour outside the box (or is on the grid edge), so regions
    # touching the box's border are never holes. Labelling only the box saves most of the work.
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    labels, n_regions = ndimage.label(~urban_centre_mask[box], structure=FOUR_CONNECTED)
    if n_regions == 0:
        return filled
    touches_edge = np.zeros(n_regions + 1, dtype=bool)
    for edge in (labels[0, :], labels[-1, :], labels[:, 0], labels[:, -1]):
        touches_edge[edge] = True
    if touches_edge[1:].all():
        return filled  # every region reaches the box's border: no hole at all
    # Counted a block of rows at a time: bincount copies its input to int64 (8 bytes a cell).
    region_size = np.zeros(n_regions + 1, dtype=np.int64)
    rows_per_block = max(1, (1 << 20) // labels.shape[1])
    for start in range(0, labels.shape[0], rows_per_block):
        region_size += np.bincount(labels[start:start + rows_per_block].ravel(), minlength=n_regions + 1)
    is_hole = (region_size < max_cells) & ~touches_edge
    is_hole[0] = False
    if is_hole.any():
        filled[box] |= is_hole[labels] & valid_mask[box]
    return filled


def edge_distance_rectangles(distance_cells: float) -> list[tuple[int, int]]:
    """Half-sizes (rows, cols) of rectangles whose union is every cell offset within
    ``distance_cells`` (edge to edge, inclusive) of the centre cell.

    Two square cells offset by (i, j) cells are ``sqrt(max(|i|-1,0)² + max(|j|-1,0)²)`` cells
    apart edge to edge. For each |i| the allowed |j| is a maximum J(|i|), non-increasing in
    |i|, so the offsets are the union of the rectangles [-i, i] × [-J(i), J(i)].
    """
    if distance_cells < 0:
        raise ValueError("distance must be >= 0")
    limit = distance_cells * distance_cells * (1 + 1e-12) + 1e-12  # inclusive, robust to rounding
    reach = 1 + int(math.floor(distance_cells + 1e-9))
    rectangles = []
    for i in range(reach + 1):
        gap_rows = max(i - 1, 0)
        room = limit - gap_rows * gap_rows
        if room < 0:
            break
        rectangles.append((i, 1 + int(math.floor(math.sqrt(room)))))
    return rectangles


def distance_rectangles(distance_cells: float, shape: str = "edge_to_edge") -> list[tuple[int, int]]:
    """Rectangles (half-sizes rows, cols) whose union is every offset within ``distance_cells``:
    ``edge_to_edge`` as :func:`edge_distance_rectangles`, ``square`` one square of
    ``floor(distance_cells)`` rings of 8 neighbours (GHSL's buffer, as flexurba's
    ``SDUC_buffer_size``)."""
    if shape == "square":
        if distance_cells < 0:
            raise ValueError("distance must be >= 0")
        rings = int(math.floor(distance_cells + 1e-9))
        return [(rings, rings)]
    return edge_distance_rectangles(distance_cells)


def within_edge_distance(feature_mask: np.ndarray, distance_cells: float) -> np.ndarray:
    """True for every cell whose edge-to-edge distance to a ``feature_mask`` cell is
    ≤ ``distance_cells`` (feature cells themselves included).

    A dilation by the edge-distance disk, done as a union of separable rectangle dilations
    (two 1-D max filters each) — O(cells) per rectangle and 1 byte per cell.
    """
    from scipy import ndimage  # here: importing it costs ~0.4 s, and Stage II never needs it
    as_uint8 = feature_mask.view(np.uint8)
    near = np.zeros(feature_mask.shape, dtype=bool)
    for half_rows, half_cols in edge_distance_rectangles(distance_cells):
        grown = ndimage.maximum_filter1d(as_uint8, 2 * half_rows + 1, axis=0, mode="constant", cval=0)
        grown = ndimage.maximum_filter1d(grown, 2 * half_cols + 1, axis=1, mode="constant", cval=0)
        near |= grown.view(bool)
    return near


def near_cells(
    feature_mask: np.ndarray, rows: np.ndarray, cols: np.ndarray, distance_cells: float, shape: str = "edge_to_edge"
) -> np.ndarray:
    """For the cells (``rows``, ``cols``): is a ``feature_mask`` cell within ``distance_cells``
    edge to edge (inclusive)? Same result as ``within_edge_distance(...)[rows, cols]``.

    Uses a summed-area table of the features (int32, 4 bytes per cell) and four look-ups per
    rectangle of :func:`edge_distance_rectangles` per cell, so the cost beyond the table is
    proportional to the number of cells asked about.
    """
    if rows.size == 0 or not feature_mask.any():
        return np.zeros(rows.shape, dtype=bool)
    height, width = feature_mask.shape
    rectangles = distance_rectangles(distance_cells, shape)
    offsets = [
        (dr, dc)
        for dr in range(-rectangles[-1][0], rectangles[-1][0] + 1)
        for dc in range(-rectangles[0][1], rectangles[0][1] + 1)
        if abs(dc) <= max(j for i, j in rectangles if i >= abs(dr))
    ]
    if rows.size * len(offsets) < 4 * feature_mask.size:
        # Not too many cells asked about: look at each one's neighbourhood directly. A look-up
        # costs a few ns and building the table about as much per cell of the grid; measured,
        # the direct way wins until some 4 look-ups per grid cell (800²: 5 ms -> 0.6 ms).
        near = np.zeros(rows.shape, dtype=bool)
        for dr, dc in offsets:
            r, c = rows + dr, cols + dc
            inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            near[inside] |= feature_mask[r[inside], c[inside]]
        return near
    # table[r, c] = number of features in rows <= r and cols <= c (contiguous, so the
    # cumulative sums run in place without a full-size temporary).
    # Done a block of rows at a time: NumPy casts the whole input to int32 otherwise.
    table = np.empty((height, width), dtype=np.int32)
    rows_per_block = max(1, (1 << 20) // width)
    for start in range(0, height, rows_per_block):
        block = table[start:start + rows_per_block]
        np.cumsum(feature_mask[start:start + rows_per_block], axis=0, dtype=np.int32, out=block)
        if start:
            block += table[start - 1]
    for start in range(0, height, rows_per_block):
        block = table[start:start + rows_per_block]
        np.cumsum(block, axis=1, dtype=np.int32, out=block)
    flat_table = table.ravel()

    def features_before(row_stop, col_stop):
        """Features in rows < row_stop and cols < col_stop (0 when either is 0)."""
        index = np.maximum(row_stop - 1, 0) * width + np.maximum(col_stop - 1, 0)
        return np.where((row_stop > 0) & (col_stop > 0), flat_table[index], 0)

    near = np.zeros(rows.shape, dtype=bool)
    for half_rows, half_cols in rectangles:
        top, bottom = np.clip(rows - half_rows, 0, height), np.clip(rows + half_rows + 1, 0, height)
        left, right = np.clip(cols - half_cols, 0, width), np.clip(cols + half_cols + 1, 0, width)
        inside = (
            features_before(bottom, right) - features_before(top, right)
            - features_before(bottom, left) + features_before(top, left)
        )
        near |= inside > 0
    return near


def _at_least(population, land_area_km2, threshold_per_km2) -> np.ndarray:
    """Cells whose density (population / land area) is ≥ the threshold; NaN -> False."""
    with np.errstate(invalid="ignore"):
        return population >= threshold_per_km2 * land_area_km2


def _land_area_km2(land_share: np.ndarray | None, cell_area_km2: float | np.ndarray):
    """Land area of each cell in km² (our choice 1): land share × cell area, or the full cell
    area without a land raster or where the share is 0 or unknown. ``land_share`` is float64."""
    if land_share is None:
        return cell_area_km2
    usable = np.isfinite(land_share) & (land_share > 0)
    return np.where(usable, land_share, 1.0) * cell_area_km2


def _denser(population, land_area_km2, threshold_per_km2, density=None) -> np.ndarray:
    """Cells at or above a density: ``population >= threshold × land area`` (our choice 1), or,
    with a moving mean of population, ``density >= threshold`` (``density``: the moving mean of
    each cell's density)."""
    if density is None:
        return _at_least(population, land_area_km2, threshold_per_km2)
    with np.errstate(invalid="ignore"):
        return density >= threshold_per_km2


def moving_mean(population, land_area_km2, window: int, valid) -> tuple[np.ndarray, np.ndarray]:
    """Moving means over a ``window`` × ``window`` square (odd, cells) of population and of
    density (persons per km² of land), over the valid cells in the window (as terra's focal
    mean with ``na.rm``; cells outside the grid do not count). Cells without data stay NaN (our
    choice 2). Returns ``(population, density)``, float64."""
    population = np.asarray(population, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        density = population / land_area_km2
    half = window // 2
    height, width = population.shape
    sums = [np.zeros((height + 2 * half, width + 2 * half)) for _ in range(3)]
    inputs = [np.where(valid, population, 0.0), np.where(valid, density, 0.0), valid.astype("float64")]
    for dr in range(window):  # a shifted sum per offset (window² whole-array additions)
        for dc in range(window):
            for total, values in zip(sums, inputs):
                total[dr:dr + height, dc:dc + width] += values
    population_sum, density_sum, count = (total[half:half + height, half:half + width] for total in sums)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_population = np.where(valid, population_sum / count, np.nan)
        mean_density = np.where(valid, density_sum / count, np.nan)
    return mean_population, mean_density


def _built_up_dense(built_share, land_share, valid, threshold: float, share_of: str) -> np.ndarray:
    """Valid cells whose built-up share is ≥ ``threshold``: of the whole cell (``cell``) or of
    its permanent land (``land``: built share / land share, rounded to 3 decimals as GHSL and
    flexurba do; land share 0 gives no value unless built)."""
    built_share = np.asarray(built_share)  # compared in its own dtype, as before these rules
    if share_of == "land" and land_share is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            built_share = np.round(built_share.astype("float64") / land_share, 3)
    with np.errstate(invalid="ignore"):
        return (built_share >= threshold) & valid


def _dense_and_moderate(
    population, land_area_km2, built_share, valid, rules: Rules = MANUAL_RULES, land_share=None,
    centre_density=None, cluster_population=None, cluster_density=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Dense (≥ 1 500 per km², or built-up share ≥ 0.5 for valid cells) and moderate (≥ 300 per
    km², or dense: our choice 4, ``urban_cluster.include_centres``) cells, as two boolean arrays
    (thresholds from ``rules``). ``centre_density`` / ``cluster_population`` and
    ``cluster_density``: moving means when the rules smooth population."""
    centre, cluster = rules.urban_centre, rules.urban_cluster
    dense = _denser(population, land_area_km2, centre.density, centre_density)
    if built_share is not None and centre.use_built_share:
        dense |= _built_up_dense(built_share, land_share, valid, centre.built_share, centre.built_share_of)
    # Without the built-up criterion dense cells are moderate when the urban-centre density is
    # the higher; with it, or with rules where it is not, our choice 4 makes them so.
    if cluster_population is None:
        cluster_population = population
    moderate = _denser(cluster_population, land_area_km2, cluster.density, cluster_density)
    if cluster.include_centres:
        moderate |= dense
    return dense, moderate


def _rural_cluster_cells(population, land_area_km2, dense, rules: Rules) -> np.ndarray:
    """Cells dense enough for a rural cluster (≥ the rural-cluster density, or dense): only
    needed when that density differs from the urban-cluster density (our choice 7)."""
    return _at_least(population, land_area_km2, rules.rural_cluster.density) | dense


def water_cells(population, land_share, built_share, valid, water=MANUAL_RULES.water) -> np.ndarray:
    """Cells that are water by ``water`` (:class:`gis.degurba.rules.WaterRules`): land share
    below ``land_share_below`` (0: exactly 0), population at most ``population_at_most`` (or
    no population data, with ``nodata_population = "water"``) and built-up share at most
    ``built_share_at_most`` (no built-up value: any). Only with a land raster (our choice 6)."""
    is_water = water.land_is_water(land_share)
    with np.errstate(invalid="ignore"):
        if water.population_at_most == 0:
            few_people = population == 0
        else:
            few_people = population <= water.population_at_most
    if water.nodata_population == "water":
        few_people |= ~valid
    is_water &= few_people
    if built_share is not None and water.built_share_at_most < 1:
        with np.errstate(invalid="ignore"):
            is_water &= ~(np.asarray(built_share, dtype="float64") > water.built_share_at_most)
    return is_water


def _rural_codes(
    population, land_area_km2, land_share, valid, low_density_per_km2: float = LOW_PER_KM2,
    water=MANUAL_RULES.water, built_share=None,
) -> np.ndarray:
    """Level 2 codes before any cluster: 11 (valid), 12 (≥ 50 per km²), 10 (water: land share 0
    and population 0, only with a land raster, our choice 6; other rules: :func:`water_cells`)
    and 255 (no data)."""
    level2 = np.full(np.shape(population), NODATA, dtype=np.uint8)
    level2[valid] = 11
    level2[_at_least(population, land_area_km2, low_density_per_km2)] = 12
    if land_share is not None:
        level2[water_cells(population, land_share, built_share, valid, water)] = 10
    return level2


# --- edge smoothing of other releases (GHSL R2022A and R2023A, as flexurba) -------------------


def _neighbour_labels(labels: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Labels of the 8 neighbours of the cells (``rows``, ``cols``), shape (8, n); 0 outside."""
    padded = np.pad(labels, 1)
    return np.stack([
        padded[rows + 1 + dr, cols + 1 + dc]
        for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc
    ])


def smooth_urban_centres_by_majority(
    centre_labels: np.ndarray, valid_mask: np.ndarray, rule: str, min_neighbours: int = SMOOTHING_MIN_NEIGHBOURS,
    not_counted: np.ndarray | None = None, never_joins: np.ndarray | None = None,
) -> np.ndarray:
    """Edge smoothing that looks at each urban centre on its own (``centre_labels``: int, 0 =
    not a centre), until nothing changes, all cells at once per pass (our choice 3):

    - ``R2022A``: a valid cell with at least ``min_neighbours`` of its 8 neighbours in the same
      centre joins it (GHSL Data Package 2022);
    - ``R2023A``: a valid cell not in ``never_joins`` (permanent water) joins the centre that
      holds a strict majority of its counted neighbours: neighbours in ``not_counted``
      (unpopulated non-land cells) count only when in a centre; cells outside the grid count
      (GHSL Data Package 2023, as flexurba's ``majority_rule_R2023A``).

    Returns the mask of urban-centre cells.
    """
    labels = centre_labels.astype(np.int32, copy=True)
    while True:
        grown = majority_pass(labels, valid_mask, rule, min_neighbours, not_counted, never_joins)
        if grown is labels:
            return labels > 0
        labels = grown


def majority_pass(
    labels: np.ndarray, valid_mask: np.ndarray, rule: str, min_neighbours: int = SMOOTHING_MIN_NEIGHBOURS,
    not_counted: np.ndarray | None = None, never_joins: np.ndarray | None = None,
) -> np.ndarray:
    """One pass of :func:`smooth_urban_centres_by_majority`: the centre labels (int32) with the
    cells that join added, or ``labels`` itself (the same object) when none joins."""
    width = labels.shape[1]
    in_centre = labels > 0
    joinable = valid_mask if never_joins is None or rule != "R2023A" else valid_mask & ~never_joins
    need = min_neighbours if rule == "R2022A" else 1
    candidates = np.flatnonzero(~in_centre & joinable & (_neighbour_count(in_centre) >= need))
    if candidates.size == 0:
        return labels
    rows, cols = np.divmod(candidates, width)
    neighbours = _neighbour_labels(labels, rows, cols)
    same = (neighbours[:, None, :] == neighbours[None, :, :]).sum(axis=1)  # per neighbour: how many share its label
    same[neighbours == 0] = 0
    best = same.argmax(axis=0)
    most = same[best, np.arange(candidates.size)]
    if rule == "R2022A":
        joins = most >= min_neighbours
    else:
        counted = neighbours > 0
        if not_counted is None:
            counted[:] = True
        else:
            counted |= ~_neighbour_labels(not_counted, rows, cols).astype(bool)
        joins = 2 * most > counted.sum(axis=0)
    if not joins.any():
        return labels
    grown = labels.copy()
    grown.ravel()[candidates[joins]] = neighbours[best[joins], np.flatnonzero(joins)]
    return grown


def r2023a_masks(population, centre_population, land_share, built_share, valid) -> tuple[np.ndarray, np.ndarray]:
    """The R2023A edge smoothing's cells (flexurba): ``not_counted`` (unpopulated, < 50 % land)
    and ``never_joins`` (permanent water by GHSL's default water rule, whatever the rules'
    [water]; unknown land share counts as none)."""
    with np.errstate(invalid="ignore"):
        not_counted = (land_share < 0.5) & (centre_population == 0)
    never_joins = water_cells(population, np.where(np.isfinite(land_share), land_share, 0.0), built_share, valid, GHSL_WATER)
    return not_counted, never_joins


def optimal_built_share(population, land_area_km2, built_share, rules: Rules) -> float:
    """GHSL's "Reduce Fragmentation Option" (Data Package 2023, footnote 30), as flexurba's
    ``DoU_get_optimal_builtup``: the mean built-up share (of the whole cell) of the cells of
    dense clusters by density alone (``dense_urban_cluster`` density, contiguity and
    population), rounded up to 2 decimals. Computed from the grid being classified."""
    density = rules.resolved("dense_urban_cluster", "density")
    contiguity = rules.resolved("dense_urban_cluster", "contiguity")
    dense = _at_least(population, land_area_km2, density)
    groups = _groups(dense, CONTIGUITY[contiguity], population)
    cells = groups.cells(groups.population_between(rules.dense_urban_cluster.population))
    return optimal_from_values(np.asarray(built_share, dtype="float64")[cells])


def optimal_from_values(values: np.ndarray) -> float:
    """The optimal built-up share from the built-up shares of the dense clusters' cells in
    row-major order (NaN: left out): their mean, rounded up to 2 decimals."""
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise GisError(
            'urban_centre.built_share = "optimal": no dense cluster (dense_urban_cluster density, contiguity and '
            "population) on this grid to compute it from; give a number"
        )
    return math.ceil(float(values.mean()) * 100) / 100


def resolve_optimal_built_share(population, land_area_km2, built_share, rules: Rules) -> tuple[Rules, float | None]:
    """Rules with every ``built_share = "optimal"`` (urban centres, dense urban clusters)
    replaced by :func:`optimal_built_share`, and that value (None when none is optimal)."""
    wanted = optimal_sections(rules, built_share is not None)
    if not wanted:
        return rules, None
    value = optimal_built_share(population, land_area_km2, built_share, rules)
    return with_optimal(rules, wanted, value), value


def optimal_sections(rules: Rules, has_built: bool) -> list[str]:
    """The sections whose ``built_share`` is ``"optimal"`` (and used); a GisError when there is
    no built-up raster to compute it from."""
    wanted = [
        section for section in ("urban_centre", "dense_urban_cluster")
        if getattr(rules, section).built_share == "optimal" and rules.resolved(section, "use_built_share")
    ]
    if wanted and not has_built:
        raise GisError(f'{wanted[0]}.built_share = "optimal" needs a built-up raster (--built)')
    return wanted


def with_optimal(rules: Rules, sections: list[str], value: float) -> Rules:
    """``rules`` with the optimal built-up share ``value`` in ``sections`` (named in the rules' name)."""
    for section in sections:
        rules = rules.with_built_share(section, value, f"optimal ({value:.2f})")
    return rules


#: Largest D of the semi-dense urban cluster rule accepted, km: the manual uses 2, GHSL 3; a
#: larger D is a typo, and a huge one (1e9) would make the neighbourhood search run for ever.
MAX_SDUC_DISTANCE_KM = 50.0


def check_sduc_distance(sduc_distance_km, cell_size_km=1.0) -> tuple[float, float]:
    """``(sduc_distance_km, cell_size_km)`` as floats, or :class:`GisError` if D is not a finite
    distance from 0 to :data:`MAX_SDUC_DISTANCE_KM` km or the cell size not a finite number > 0."""
    try:
        distance = float(sduc_distance_km)
    except (TypeError, ValueError):
        distance = float("nan")
    if not (np.isfinite(distance) and 0 <= distance <= MAX_SDUC_DISTANCE_KM):
        raise GisError(f"sduc_distance_km must be a distance from 0 to {MAX_SDUC_DISTANCE_KM:g} km, not {sduc_distance_km!r}")
    try:
        cell_size = float(cell_size_km)
    except (TypeError, ValueError):
        cell_size = float("nan")
    if not (np.isfinite(cell_size) and cell_size > 0):
        raise GisError(f"cell_size_km must be a finite number > 0, not {cell_size_km!r}")
    return distance, cell_size


def classify_grid(
    population: np.ndarray,
    land_share: np.ndarray | None = None,
    built_share: np.ndarray | None = None,
    sduc_distance_km: float | None = None,
    cell_area_km2: float | np.ndarray = 1.0,
    cell_size_km: float = 1.0,
    rules: Rules | None = None,
) -> GridClasses:
    """Stage I of the Degree of Urbanisation on a population grid.

    Parameters
    ----------
    population
        2-D array of persons per cell (float; NaN = no data), e.g. on the GHSL 1 km
        Mollweide grid (ESRI:54009). Not modified.
    land_share
        Optional permanent-land share of each cell, 0..1 (NaN = unknown: full cell area).
        Enables water (10).
    built_share
        Optional built-up share of each cell, 0..1; ≥ ``urban_centre.built_share`` (0.5) makes
        a cell dense.
    sduc_distance_km
        D of the semi-dense urban cluster rule, km edge to edge; overrides the rules'
        ``semi_dense_urban_cluster.distance_km`` (2 in the 2021 manual, 3 in GHSL's grids).
        None: the rules' value.
    cell_area_km2
        Area of a cell in km² (scalar or array of the grid's shape); 1 for the GHSL grid.
    cell_size_km
        Edge of a (square) cell in km, to turn the distance and the hole area into cells.
    rules
        :class:`gis.degurba.rules.Rules` (default: the 2021 manual's).

    Returns a :class:`GridClasses`. Rules and our choices: see the module docstring.
    """
    if sduc_distance_km is not None:
        sduc_distance_km, _ = check_sduc_distance(sduc_distance_km)
    rules = (rules or MANUAL_RULES).with_distance(sduc_distance_km)
    _, cell_size_km = check_sduc_distance(rules.semi_dense_urban_cluster.distance_km, cell_size_km)
    population = np.asarray(population, dtype="float64")
    if population.ndim != 2:
        raise ValueError(f"population must be 2-D, got shape {population.shape}")
    valid = np.isfinite(population)
    if land_share is not None:
        land_share = np.asarray(land_share, dtype="float64")
    land_area = _land_area_km2(land_share, cell_area_km2)
    rules, _ = resolve_optimal_built_share(population, land_area, built_share, rules)
    centre, cluster = rules.urban_centre, rules.urban_cluster
    # Moving means of population (urban_centre / urban_cluster .population_window > 1).
    centre_population, centre_density = population, None
    if centre.population_window > 1:
        centre_population, centre_density = moving_mean(population, land_area, centre.population_window, valid)
    cluster_population, cluster_density = population, None
    if cluster.population_window > 1:
        cluster_population, cluster_density = moving_mean(population, land_area, cluster.population_window, valid)
    dense, moderate = _dense_and_moderate(
        centre_population, land_area, built_share, valid, rules, land_share, centre_density,
        cluster_population, cluster_density,
    )
    dense_structure, cluster_structure = CONTIGUITY[centre.contiguity], CONTIGUITY[cluster.contiguity]

    # Urban centres: 4-connected dense groups >= 50 000, smoothed, holes filled.
    dense_groups = _groups(dense, dense_structure, centre_population)
    urban_centre_seed = dense_groups.cells(dense_groups.population_between(centre.population))
    urban_centre = _smoothed_centres(
        dense_groups, urban_centre_seed, valid, rules, population, centre_population, land_share, built_share
    )
    urban_centre = fill_urban_centre_holes(urban_centre, valid, max_hole_cells(rules, cell_size_km))
    if rules.independent:
        level1, level2 = _independent_classes(
            population, land_area, land_share, built_share, valid, urban_centre, moderate, cluster_population,
            rules, cell_size_km,
        )
        return GridClasses(level1, level2, float(rules.semi_dense_urban_cluster.distance_km), rules)

    # Urban clusters: 8-connected groups of moderate cells plus UC cells, >= 5 000.
    cluster_groups = _groups(moderate | urban_centre if cluster.include_centres else moderate, cluster_structure, cluster_population)
    urban_cluster = cluster_groups.cells(cluster_groups.population_between(cluster.population))

    # Rural clusters: cells outside urban clusters, 8-connected, >= 500 (our choice 7). With the
    # rural density equal to the urban-cluster density, UCL groups are whole groups of
    # (moderate | UC), so these are the other groups of that same labelling (all < 5 000).
    if rules.rural_cluster.density == cluster.density:
        rural_cluster = cluster_groups.cells(
            cluster_groups.population_between(rules.rural_cluster.population, cluster.population)
        )
    else:
        rural_groups = _groups(
            _rural_cluster_cells(population, land_area, dense, rules) & ~urban_cluster, cluster_structure, population
        )
        rural_cluster = rural_groups.cells(rural_groups.population_between(rules.rural_cluster.population))
        del rural_groups
    del cluster_groups, moderate

    # Dense urban clusters: 4-connected dense non-UC groups, 5 000 <= pop < 50 000. When
    # smoothing and hole filling took no dense cell outside the UC seeds, those groups are the
    # dense groups already labelled (the UC seeds were whole groups), so no new labelling.
    if (urban_centre & ~urban_centre_seed & dense).any():
        dense_groups = _groups(dense & ~urban_centre, dense_structure, centre_population)
    dense_urban_cluster = dense_groups.cells(
        dense_groups.population_between(rules.dense_urban_cluster.population, centre.population)
    )
    dense_urban_cluster &= urban_cluster
    del dense_groups, urban_centre_seed, dense

    # Semi-dense urban clusters: remaining UCL cells, 8-connected, >= 5 000, none within D.
    remaining_groups = _groups(urban_cluster & ~urban_centre & ~dense_urban_cluster, cluster_structure, cluster_population)
    is_semi_dense = remaining_groups.population_between(rules.semi_dense_urban_cluster.population)
    candidates = remaining_groups.members[is_semi_dense[remaining_groups.member_labels]]
    candidate_rows, candidate_cols = np.divmod(candidates, population.shape[1])
    distance_km = rules.semi_dense_urban_cluster.distance_km
    shape = rules.semi_dense_urban_cluster.distance_shape
    near = near_cells(urban_centre | dense_urban_cluster, candidate_rows, candidate_cols, distance_km / cell_size_km, shape)
    group_near = np.zeros(is_semi_dense.shape, dtype=bool)
    group_near[remaining_groups.labels.ravel()[candidates[near]]] = True
    semi_dense = remaining_groups.cells(is_semi_dense & ~group_near)
    del remaining_groups

    level2 = _rural_codes(population, land_area, land_share, valid, rules.low_density_rural.density, rules.water, built_share)
    level2[rural_cluster] = 13
    level2[urban_cluster] = 21
    level2[semi_dense] = 22
    level2[dense_urban_cluster] = 23
    level2[urban_centre] = 30
    return GridClasses(level1=level1_from_level2(level2), level2=level2, sduc_distance_km=float(distance_km), rules=rules)


def _smoothed_centres(dense_groups, seed, valid, rules: Rules, population, centre_population, land_share, built_share):
    """The urban-centre seeds with their edges smoothed by ``urban_centre.edge_smoothing``."""
    centre = rules.urban_centre
    rule = centre.edge_smoothing
    if rule == "off":
        return seed.copy()
    if rule == "manual-2021":
        return smooth_urban_centres(seed, valid, centre.smoothing_neighbours)
    labels = np.where(seed, dense_groups.labels, 0)
    not_counted = never_joins = None
    if rule == "R2023A" and land_share is not None:
        not_counted, never_joins = r2023a_masks(population, centre_population, land_share, built_share, valid)
    return smooth_urban_centres_by_majority(labels, valid, rule, centre.smoothing_neighbours, not_counted, never_joins)


def _independent_classes(
    population, land_area, land_share, built_share, valid, urban_centre, moderate, cluster_population, rules: Rules,
    cell_size_km: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Level 1 and Level 2 codes with ``level2.clusters = "independent"`` (GHSL R2023A, as
    flexurba's ``DoU_classify_grid``): each class is its own clustering of the grid by its own
    density, contiguity and population, and takes the cells no denser class has taken, in the
    order urban centre, dense, semi-dense, suburban, rural cluster, low density rural."""
    taken = urban_centre.copy()
    level2 = _rural_codes(population, land_area, land_share, valid, rules.low_density_rural.density, rules.water, built_share)

    def clusters(mask, contiguity, minimum, weights=population):
        groups = _groups(mask, CONTIGUITY[contiguity], weights)
        return groups, groups.population_between(minimum)

    masks = independent_masks(population, land_area, land_share, built_share, valid, rules)
    (duc_contiguity, duc_population), (sduc_contiguity, sduc_population), suburban_rule, rural_rule = independent_groupings(rules)

    # Dense urban clusters: dense groups (their own density and built-up share) of >= 5 000.
    groups, keep = clusters(masks["dense_urban_cluster"], duc_contiguity, duc_population)
    dense_urban_cluster = groups.cells(keep) & ~taken
    taken |= dense_urban_cluster

    # Semi-dense: groups of >= 2 500 at >= 900 per km² with no cell within D of a UC/DUC cell.
    sduc = rules.semi_dense_urban_cluster
    groups, keep = clusters(masks["semi_dense_urban_cluster"], sduc_contiguity, sduc_population)
    candidates = groups.members[keep[groups.member_labels]]
    rows, cols = np.divmod(candidates, population.shape[1])
    near = near_cells(taken, rows, cols, sduc.distance_km / cell_size_km, sduc.distance_shape)
    keep[groups.labels.ravel()[candidates[near]]] = False
    semi_dense = groups.cells(keep) & ~taken
    taken |= semi_dense

    # Suburban or peri-urban, then rural clusters: their own groups, cells not yet taken.
    groups, keep = clusters(masks["suburban"], *suburban_rule)
    suburban = groups.cells(keep) & ~taken
    taken |= suburban
    groups, keep = clusters(masks["rural_cluster"], *rural_rule)
    rural_cluster = groups.cells(keep) & ~taken

    level2[rural_cluster] = 13
    level2[suburban] = 21
    level2[semi_dense] = 22
    level2[dense_urban_cluster] = 23
    level2[urban_centre] = 30

    # Level 1: urban centres, then urban clusters by the urban-cluster rules alone.
    cluster = rules.urban_cluster
    cluster_mask = moderate | urban_centre if cluster.include_centres else moderate
    groups, keep = clusters(cluster_mask, cluster.contiguity, cluster.population, cluster_population)
    level1 = np.where(level2 == NODATA, NODATA, 1).astype(np.uint8)
    level1[groups.cells(keep)] = 2
    level1[urban_centre] = 3
    return level1, level2


#: The classes of independent Level 2 clusters, in the order they take cells.
INDEPENDENT_CLASSES = ("dense_urban_cluster", "semi_dense_urban_cluster", "suburban", "rural_cluster")


def independent_masks(population, land_area, land_share, built_share, valid, rules: Rules) -> dict[str, np.ndarray]:
    """Per class of :data:`INDEPENDENT_CLASSES`, the cells dense enough for it (its own density;
    dense urban clusters also by their built-up share)."""
    dense = _at_least(population, land_area, rules.resolved("dense_urban_cluster", "density"))
    if built_share is not None and rules.resolved("dense_urban_cluster", "use_built_share"):
        dense |= _built_up_dense(
            built_share, land_share, valid, rules.resolved("dense_urban_cluster", "built_share"),
            rules.urban_centre.built_share_of,
        )
    return {
        "dense_urban_cluster": dense,
        "semi_dense_urban_cluster": _at_least(population, land_area, rules.resolved("semi_dense_urban_cluster", "density")),
        "suburban": _at_least(population, land_area, rules.resolved("suburban", "density")),
        "rural_cluster": _at_least(population, land_area, rules.rural_cluster.density),
    }


def independent_groupings(rules: Rules) -> list[tuple[int, float]]:
    """Per class of :data:`INDEPENDENT_CLASSES`, its (contiguity, minimum population)."""
    return [
        (rules.resolved("dense_urban_cluster", "contiguity"), rules.dense_urban_cluster.population),
        (rules.resolved("semi_dense_urban_cluster", "contiguity"), rules.semi_dense_urban_cluster.population),
        (rules.resolved("suburban", "contiguity"), rules.resolved("suburban", "population")),
        (rules.resolved("rural_cluster", "contiguity"), rules.rural_cluster.population),
    ]


#: GHSL's default water rule, used by the R2023A edge smoothing whatever the rules' [water].
GHSL_WATER = type(MANUAL_RULES.water)(land_share_below=0.5, population_at_most=0.0, built_share_at_most=0.0, nodata_population="water")


def level1_from_level2(level2: np.ndarray) -> np.ndarray:
    """Level 1 codes (3/2/1, 255 nodata) of a Level 2 array (30…10, 255)."""
    lookup = np.full(256, NODATA, dtype=np.uint8)
    for code, l1 in L1_OF_L2.items():
        lookup[code] = l1
    return lookup[level2]
