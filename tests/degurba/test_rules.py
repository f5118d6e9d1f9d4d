"""Stage I rules of the Degree of Urbanisation on hand-built grids (gis.degurba).

Every grid here is small and built so that exactly one rule decides the outcome; the last
test compares the engine with a deliberately simple pure-Python implementation of the same
rules on random grids.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gis.degurba.classify import (
    classify_grid,
    edge_distance_rectangles,
    fill_urban_centre_holes,
    smooth_urban_centres,
    within_edge_distance,
)
from gis.degurba.rules import (
    DenseUrbanClusterRules,
    LowDensityRuralRules,
    Rules,
    RuralClusterRules,
    SemiDenseUrbanClusterRules,
    UrbanCentreRules,
    UrbanClusterRules,
)


def background(height=21, width=21, value=0.0):
    return np.full((height, width), float(value))


# --- the worked checks of DEGURBA.md -------------------------------------------------------


@pytest.mark.parametrize(
    "block_value, block_size, block_code",
    [(6000, 3, 30), (5000, 3, 23), (400, 2, 13)],
    ids=["3x3 of 6000: urban centre", "3x3 of 5000: dense urban cluster", "2x2 of 400: rural cluster"],
)
def test_worked_checks(block_value, block_size, block_code):
    population = background(value=100)
    start = 10 - block_size // 2
    block = (slice(start, start + block_size), slice(start, start + block_size))
    population[block] = block_value
    classes = classify_grid(population)
    expected = np.full(population.shape, 12, dtype=np.uint8)
    expected[block] = block_code
    np.testing.assert_array_equal(classes.level2, expected)
    expected_l1 = np.where(expected == 30, 3, np.where(expected == 23, 2, 1))
    np.testing.assert_array_equal(classes.level1, expected_l1)


# --- connectivity ----------------------------------------------------------------------------


def test_urban_centre_needs_edge_contact_but_dense_clusters_alone_are_4_connected():
    # Two 2x2 blocks of 7 000 (28 000 each, 56 000 together).
    population = background()
    population[5:7, 5:7] = 7000
    population[7:9, 7:9] = 7000  # touches the first block only at a corner
    corner = classify_grid(population).level2
    assert (corner[5:7, 5:7] == 23).all() and (corner[7:9, 7:9] == 23).all()

    population = background()
    population[5:7, 5:7] = 7000
    population[7:9, 6:8] = 7000  # shares an edge with the first block
    edge = classify_grid(population).level2
    assert (edge[5:7, 5:7] == 30).all() and (edge[7:9, 6:8] == 30).all()


def test_urban_clusters_are_8_connected():
    # Six moderate cells of 1 000 on a diagonal: one 8-connected cluster of 6 000 (no UC/DUC
    # anywhere, so semi-dense); 4-connected they would be six rural clusters of 1 000.
    population = background()
    diagonal = (np.arange(5, 11), np.arange(5, 11))
    population[diagonal] = 1000
    level2 = classify_grid(population).level2
    assert (level2[diagonal] == 22).all()
    population[5, 5] = 0  # 5 000 left: still a cluster
    assert (classify_grid(population).level2[diagonal][1:] == 22).all()
    population[6, 6] = 0  # two separate groups (1 000 and 4 000): rural clusters
    level2 = classify_grid(population).level2
    assert (level2[diagonal][2:] == 13).all()


# --- smoothing and holes ---------------------------------------------------------------------


def test_smoothing_adds_cells_with_five_uc_neighbours_repeatedly():
    population = background(15, 15)
    population[4:9, 4:9] = 6000  # 5x5 block, 150 000 persons
    population[4, 6] = 0  # two-cell notch in the middle of the top edge
    population[5, 6] = 0
    population[8, 4] = 0  # a corner cell: only 3 UC neighbours
    level2 = classify_grid(population).level2
    # (5,6) has 7 UC neighbours -> added in pass 1; (4,6) has 4 before and 5 after -> pass 2.
    assert level2[5, 6] == 30 and level2[4, 6] == 30
    assert level2[8, 4] != 30

    urban_centre = population >= 1500
    valid = np.ones_like(urban_centre)
    smoothed = smooth_urban_centres(urban_centre, valid)
    assert smoothed[4, 6] and smoothed[5, 6] and not smoothed[8, 4]
    assert not smoothed[3, 6]  # above the notch: only 3 UC neighbours


def _ring_with_hole(hole_rows: int, hole_cols: int, size: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """A UC mask that is all True except a hole_rows x hole_cols hole at (3, 3) and a
    1-cell-wide non-UC border (so the exterior touches the grid edge)."""
    urban_centre = np.zeros((size + 8, size + 8), dtype=bool)
    urban_centre[1:-1, 1:-1] = True
    urban_centre[3:3 + hole_rows, 3:3 + hole_cols] = False
    return urban_centre, (slice(3, 3 + hole_rows), slice(3, 3 + hole_cols))


def test_holes_smaller_than_15_cells_are_filled_15_are_not():
    valid = np.ones((20, 20), dtype=bool)
    urban_centre, hole = _ring_with_hole(2, 7)  # 14 cells
    assert fill_urban_centre_holes(urban_centre, valid)[hole].all()
    urban_centre, hole = _ring_with_hole(3, 5)  # 15 cells
    filled = fill_urban_centre_holes(urban_centre, valid)
    assert not filled[hole].any()
    assert not filled[0, :].any()  # the exterior touching the edge is never a hole


def test_hole_touching_grid_edge_is_not_filled():
    urban_centre = np.ones((10, 10), dtype=bool)
    urban_centre[0:2, 4] = False  # 2 cells, touching the top edge
    urban_centre[5, 5] = False  # 1 cell inside
    filled = fill_urban_centre_holes(urban_centre, np.ones_like(urban_centre))
    assert not filled[0:2, 4].any()
    assert filled[5, 5]


@pytest.mark.parametrize(
    "hole, valid_cell, filled",
    [
        ((slice(5, 7), slice(5, 12)), (5, 8), True),  # 2x7 = 14 cells; the valid cell has 3 UC neighbours
        ((slice(5, 8), slice(5, 10)), (6, 7), False),  # 3x5 = 15 cells; the valid cell has none
    ],
)
def test_hole_filling_in_the_full_classification(hole, valid_cell, filled):
    # Smoothing never adds nodata cells, so a hole of nodata cells around one valid cell with
    # fewer than 5 UC neighbours survives smoothing; hole filling then decides by region size.
    population = background(20, 20)
    population[2:18, 2:18] = 6000
    population[hole] = np.nan
    population[valid_cell] = 0.0
    level2 = classify_grid(population).level2
    assert bool(level2[valid_cell] == 30) == filled
    assert (level2[hole][np.isnan(population[hole])] == 255).all()


# --- the SDUC distance rule ------------------------------------------------------------------


def _duc_and_moderate_cluster(gap_rows: int, gap_cols: int) -> tuple[np.ndarray, tuple]:
    """A DUC (2x2 of 1 600 = 6 400) and a moderate cluster (2x3 of 1 000 = 6 000) whose
    nearest cells are ``gap_rows`` / ``gap_cols`` empty cells apart."""
    population = background(30, 30)
    population[5:7, 5:7] = 1600
    r0, c0 = 7 + gap_rows, 7 + gap_cols
    cluster = (slice(r0, r0 + 2), slice(c0, c0 + 3))
    population[cluster] = 1000
    return population, cluster


@pytest.mark.parametrize(
    "gap_rows, gap_cols, distance_km, expected",
    [
        (-2, 2, 2.0, 21),  # same rows, 2 cells apart: exactly D edge to edge -> within
        (-2, 3, 2.0, 22),  # 3 cells apart: beyond D
        (-2, 3, 3.0, 21),  # ... but within D = 3 km (GHSL's published grids)
        (-2, 4, 3.0, 22),
        (2, 2, 2.0, 22),  # diagonal: sqrt(2² + 2²) = 2.83 km > 2
        (2, 2, 3.0, 21),  # 2.83 <= 3
        (1, 1, 1.5, 21),  # sqrt(2) = 1.41 <= 1.5
        (1, 1, 1.4, 22),  # 1.41 > 1.4
    ],
)
def test_semi_dense_distance_is_edge_to_edge_and_inclusive(gap_rows, gap_cols, distance_km, expected):
    population, cluster = _duc_and_moderate_cluster(gap_rows, gap_cols)
    level2 = classify_grid(population, sduc_distance_km=distance_km).level2
    assert (level2[5:7, 5:7] == 23).all()
    assert (level2[cluster] == expected).all()


def test_within_edge_distance_matches_brute_force():
    rng = np.random.default_rng(3)
    features = rng.random((25, 25)) < 0.02
    rows, cols = np.nonzero(features)
    grid_rows, grid_cols = np.indices(features.shape)
    for distance in (0.0, 1.0, 1.5, 2.0, math.sqrt(5), 3.0):
        gap_r = np.maximum(np.abs(grid_rows[..., None] - rows) - 1, 0)
        gap_c = np.maximum(np.abs(grid_cols[..., None] - cols) - 1, 0)
        expected = ((gap_r**2 + gap_c**2) <= distance**2 + 1e-9).any(axis=-1)
        np.testing.assert_array_equal(within_edge_distance(features, distance), expected, err_msg=str(distance))


@pytest.mark.parametrize("n_cells", [5, 20000], ids=["few cells: neighbourhood look-up", "many: summed-area table"])
def test_near_cells_agrees_with_the_dilation(n_cells):
    from gis.degurba.classify import near_cells

    rng = np.random.default_rng(5)
    features = rng.random((80, 90)) < 0.01
    rows, cols = rng.integers(0, 80, n_cells), rng.integers(0, 90, n_cells)
    for distance in (0.0, 1.0, 2.0, 2.5, 3.0):
        expected = within_edge_distance(features, distance)[rows, cols]
        np.testing.assert_array_equal(near_cells(features, rows, cols, distance), expected)


def test_edge_distance_rectangles_at_exactly_two_cells():
    # offsets (i, j) with (|i|-1)+² + (|j|-1)+² <= 4: |i|<=1 -> |j|<=3; |i|=2 -> |j|<=2 (1+1<=4);
    # |i|=3 -> |j|<=1 (4+0<=4)
    assert edge_distance_rectangles(2.0) == [(0, 3), (1, 3), (2, 2), (3, 1)]


# --- population and density thresholds -------------------------------------------------------


def test_urban_centre_threshold_is_50000_inclusive():
    population = background()
    population[8:10, 5:10] = 5000  # 10 cells, 50 000
    assert (classify_grid(population).level2[8:10, 5:10] == 30).all()
    population[8, 5] = 4999.99
    assert (classify_grid(population).level2[8:10, 5:10] == 23).all()


def test_urban_cluster_threshold_is_5000_inclusive():
    population = background()
    population[10, 5:10] = 1000  # 5 000 in moderate cells
    assert (classify_grid(population).level2[10, 5:10] == 22).all()
    population[10, 5] = 999.99
    level2 = classify_grid(population).level2
    assert (level2[10, 5:10] == 13).all()
    assert (classify_grid(population).level1[10, 5:10] == 1).all()


def test_dense_urban_cluster_threshold_is_5000_inclusive():
    population = background()
    population[10, 5:9] = 1500  # 4 dense cells, 6 000; density 1 500 counts as dense
    assert (classify_grid(population).level2[10, 5:9] == 23).all()
    population[10, 5:9] = 1499.99  # moderate only: a (semi-dense) urban cluster
    assert (classify_grid(population).level2[10, 5:9] == 22).all()
    population = background()
    population[10, 5:9] = 1250  # 4 dense cells? no: moderate, 5 000 -> urban cluster
    assert (classify_grid(population).level2[10, 5:9] == 22).all()


def test_rural_cluster_threshold_is_500_inclusive_and_low_density_is_50():
    population = background()
    population[3, 3] = 500
    population[3, 10] = 499.99
    population[10, 3] = 50
    population[10, 10] = 49.99
    level2 = classify_grid(population).level2
    assert level2[3, 3] == 13
    assert level2[3, 10] == 12
    assert level2[10, 3] == 12
    assert level2[10, 10] == 11


def test_density_uses_land_share_and_water_needs_a_land_raster():
    population = background(value=0)
    land = np.ones_like(population)
    population[5, 5:9] = 750
    land[5, 5:9] = 0.5  # 750 / 0.5 km² = 1 500 per km²: dense
    population[5, 9] = 3000  # full land: dense; the group holds 6 000 -> DUC
    land[12:15, 12:15] = 0.0  # water: no land, nobody
    population[13, 13] = 0.0
    land[2, 2] = 0.0  # no land but people: full cell area used
    population[2, 2] = 60
    level2 = classify_grid(population, land_share=land).level2
    assert (level2[5, 5:10] == 23).all()
    assert (level2[12:15, 12:15] == 10).all()
    assert level2[2, 2] == 12
    assert (classify_grid(population).level2[12:15, 12:15] == 11).all()  # no land raster


def test_built_up_share_makes_cells_dense():
    population = background()
    population[10, 5:10] = 1000  # moderate, 5 000
    built = np.zeros_like(population)
    assert (classify_grid(population, built_share=built).level2[10, 5:10] == 22).all()
    built[10, 5:10] = 0.5
    assert (classify_grid(population, built_share=built).level2[10, 5:10] == 23).all()


def test_nodata_cells_stay_nodata_and_do_not_bridge_clusters():
    population = background(value=100)
    population[10, 5:8] = 1000
    population[10, 8] = np.nan
    population[10, 9:12] = 1000  # 3 000 + 3 000, separated by a nodata cell
    classes = classify_grid(population)
    assert classes.level2[10, 8] == 255 and classes.level1[10, 8] == 255
    # 8-connectivity around the nodata cell is broken too: rows 9 and 11 are background
    assert (classes.level2[10, 5:8] == 13).all() and (classes.level2[10, 9:12] == 13).all()


def test_input_is_not_modified_and_cell_area_scales_density():
    population = background(value=100)
    population[9:12, 9:12] = 6000
    copy = population.copy()
    classify_grid(population)
    np.testing.assert_array_equal(population, copy)
    # With 4 km² cells the same counts are a quarter as dense: 1 500 per km² -> 6 000 is dense,
    # 100 per cell is 25 per km² -> very low density.
    level2 = classify_grid(population, cell_area_km2=4.0).level2
    assert (level2[9:12, 9:12] == 30).all() and level2[0, 0] == 11


# --- the fast engine against a simple reference ----------------------------------------------


def _groups(mask, neighbours):
    """Connected groups of True cells by breadth-first search: list of lists of (r, c)."""
    height, width = len(mask), len(mask[0])
    seen = [[False] * width for _ in range(height)]
    groups = []
    for r in range(height):
        for c in range(width):
            if mask[r][c] and not seen[r][c]:
                queue, group = deque([(r, c)]), []
                seen[r][c] = True
                while queue:
                    cr, cc = queue.popleft()
                    group.append((cr, cc))
                    for dr, dc in neighbours:
                        nr, nc = cr + dr, cc + dc
                        if 0 <= nr < height and 0 <= nc < width and mask[nr][nc] and not seen[nr][nc]:
                            seen[nr][nc] = True
                            queue.append((nr, nc))
                groups.append(group)
    return groups


N4 = [(-1, 0), (1, 0), (0, -1), (0, 1)]
N8 = N4 + [(-1, -1), (-1, 1), (1, -1), (1, 1)]


def reference_classify(population, land_share, distance_cells, built_share=None, rules=None):
    """The rules of DEGURBA.md written as plainly as possible (slow), with every threshold,
    contiguity and share from ``rules`` (default: the 2021 manual's); ``distance_cells``
    is the semi-dense distance in cells (1 km cells)."""
    rules = rules or Rules()
    uc_rules, ucl_rules = rules.urban_centre, rules.urban_cluster
    neighbours_of = {4: N4, 8: N8}
    height, width = len(population), len(population[0])
    cells = [(r, c) for r in range(height) for c in range(width)]
    valid = {(r, c): not math.isnan(population[r][c]) for r, c in cells}
    pop = {(r, c): 0.0 if not valid[(r, c)] else population[r][c] for r, c in cells}

    def area(r, c):
        if land_share is None or not (land_share[r][c] > 0):
            return 1.0
        return land_share[r][c]

    def at_least(r, c, threshold):
        return valid[(r, c)] and pop[(r, c)] >= threshold * area(r, c)

    def dense(r, c):
        built = built_share is not None and valid[(r, c)] and built_share[r][c] >= uc_rules.built_share
        return at_least(r, c, uc_rules.density) or built

    def moderate(r, c):
        return at_least(r, c, ucl_rules.density) or dense(r, c)

    def mask_of(predicate):
        return [[predicate(r, c) for c in range(width)] for r in range(height)]

    def keep_groups(mask, neighbours, low, high=math.inf):
        kept = set()
        for group in _groups(mask, neighbours):
            total = sum(pop[cell] for cell in group)
            if low <= total < high:
                kept.update(group)
        return kept

    uc = keep_groups(mask_of(dense), neighbours_of[uc_rules.contiguity], uc_rules.population)
    while uc_rules.smoothing_neighbours <= 8:
        added = set()
        for r, c in cells:
            if (r, c) in uc or not valid[(r, c)]:
                continue
            if sum((r + dr, c + dc) in uc for dr, dc in N8) >= uc_rules.smoothing_neighbours:
                added.add((r, c))
        if not added:
            break
        uc |= added
    for group in _groups(mask_of(lambda r, c: (r, c) not in uc), N4):
        touches = any(r in (0, height - 1) or c in (0, width - 1) for r, c in group)
        if not touches and len(group) < uc_rules.max_hole_km2:  # 1 km² cells
            uc.update(cell for cell in group if valid[cell])
    cluster_neighbours = neighbours_of[ucl_rules.contiguity]
    ucl = keep_groups(mask_of(lambda r, c: moderate(r, c) or (r, c) in uc), cluster_neighbours, ucl_rules.population)
    duc = keep_groups(
        mask_of(lambda r, c: dense(r, c) and (r, c) not in uc), neighbours_of[uc_rules.contiguity],
        rules.dense_urban_cluster.population, uc_rules.population,
    )
    duc &= ucl
    dense_cells = uc | duc
    sduc = set()
    for group in _groups(mask_of(lambda r, c: (r, c) in ucl and (r, c) not in dense_cells), cluster_neighbours):
        if sum(pop[cell] for cell in group) < rules.semi_dense_urban_cluster.population:
            continue
        near = any(
            max(abs(r - dr) - 1, 0) ** 2 + max(abs(c - dc) - 1, 0) ** 2 <= distance_cells**2 + 1e-9
            for r, c in group
            for dr, dc in dense_cells
        )
        if not near:
            sduc.update(group)
    rural = keep_groups(
        mask_of(lambda r, c: (at_least(r, c, rules.rural_cluster.density) or dense(r, c)) and (r, c) not in ucl),
        cluster_neighbours, rules.rural_cluster.population,
    )
    out = np.full((height, width), 255, dtype=np.uint8)
    for r, c in cells:
        if not valid[(r, c)]:
            continue
        cell = (r, c)
        if cell in uc:
            out[r, c] = 30
        elif cell in duc:
            out[r, c] = 23
        elif cell in sduc:
            out[r, c] = 22
        elif cell in ucl:
            out[r, c] = 21
        elif cell in rural:
            out[r, c] = 13
        elif land_share is not None and land_share[r][c] == 0 and pop[cell] == 0:
            out[r, c] = 10
        elif at_least(r, c, rules.low_density_rural.density):
            out[r, c] = 12
        else:
            out[r, c] = 11
    return out


_values = st.sampled_from([0.0, 20.0, 60.0, 320.0, 900.0, 1600.0, 4000.0, 9000.0, 26000.0, math.nan])


@st.composite
def grids(draw):
    height = draw(st.integers(3, 11))
    width = draw(st.integers(3, 11))
    population = np.array(draw(st.lists(_values, min_size=height * width, max_size=height * width)))
    population = population.reshape(height, width)
    land = None
    if draw(st.booleans()):
        shares = st.sampled_from([0.0, 0.3, 1.0, 1.0])
        land = np.array(draw(st.lists(shares, min_size=height * width, max_size=height * width)))
        land = land.reshape(height, width)
    built = None
    if draw(st.booleans()):
        built = np.array(draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.9]), min_size=height * width, max_size=height * width)))
        built = built.reshape(height, width)
    distance = draw(st.sampled_from([0.0, 1.0, 1.5, 2.0, 3.0]))
    return population, land, built, distance


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids())
def test_engine_matches_simple_reference(case):
    population, land, built, distance = case
    fast = classify_grid(population, land_share=land, built_share=built, sduc_distance_km=distance).level2
    slow = reference_classify(
        population.tolist(), None if land is None else land.tolist(), distance,
        None if built is None else built.tolist(),
    )
    np.testing.assert_array_equal(fast, slow)


@st.composite
def random_rules(draw):
    """Rules drawn from values that the grids of :func:`grids` straddle (urban-centre
    population at least the urban-cluster population, as validation requires)."""
    cluster_population = draw(st.sampled_from([1000.0, 5000.0, 20000.0]))
    return Rules(
        name="random",
        urban_centre=UrbanCentreRules(
            density=draw(st.sampled_from([900.0, 1500.0, 4000.0])),
            population=draw(st.sampled_from([20000.0, 50000.0])),
            contiguity=draw(st.sampled_from([4, 8])),
            smoothing_neighbours=draw(st.sampled_from([3, 5, 8, 9])),
            max_hole_km2=draw(st.sampled_from([0.0, 4.0, 15.0, 30.0])),
            built_share=draw(st.sampled_from([0.2, 0.5, 0.9])),
        ),
        urban_cluster=UrbanClusterRules(
            density=draw(st.sampled_from([60.0, 300.0, 900.0])),
            population=cluster_population,
            contiguity=draw(st.sampled_from([4, 8])),
        ),
        dense_urban_cluster=DenseUrbanClusterRules(population=draw(st.sampled_from([1000.0, 5000.0, 30000.0]))),
        semi_dense_urban_cluster=SemiDenseUrbanClusterRules(
            population=draw(st.sampled_from([1000.0, 5000.0, 10000.0])),
            distance_km=draw(st.sampled_from([0.0, 1.0, 2.0, 3.0])),
        ),
        rural_cluster=RuralClusterRules(
            density=draw(st.sampled_from([60.0, 300.0, 900.0])),
            population=draw(st.sampled_from([100.0, 500.0, 4000.0])),
        ),
        low_density_rural=LowDensityRuralRules(density=draw(st.sampled_from([20.0, 50.0, 1000.0]))),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grids(), random_rules())
def test_engine_matches_simple_reference_with_random_rules(case, rules):
    population, land, built, _ = case
    if rules.urban_centre.population < rules.urban_cluster.population:
        return
    fast = classify_grid(population, land_share=land, built_share=built, rules=rules)
    slow = reference_classify(
        population.tolist(), None if land is None else land.tolist(), rules.semi_dense_urban_cluster.distance_km,
        None if built is None else built.tolist(), rules=rules,
    )
    np.testing.assert_array_equal(fast.level2, slow)
    assert fast.rules is rules and fast.sduc_distance_km == rules.semi_dense_urban_cluster.distance_km
