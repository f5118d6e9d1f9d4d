"""The dasymetric estimator (gis.degurba.dasymetric) on grids small enough to work by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gis.degurba.dasymetric import (
    POPULATED_CODES,
    SLOT_OF_CODE,
    class_areas,
    density_bounds,
    fit_class_densities,
    level1_stable,
    prior_densities,
    spread_totals,
    unit_class_population,
)

SLOT = {code: int(SLOT_OF_CODE[code]) for code in (*POPULATED_CODES, 10, 255)}


def test_slots_and_bounds_follow_the_class_definitions():
    assert SLOT[30] == 0 and SLOT[11] == 6 and SLOT[10] == -1 and SLOT[255] == -1
    lower, upper = density_bounds()
    assert lower.tolist() == [1500, 1500, 300, 300, 300, 50, 0]
    assert upper.tolist() == [30000, 30000, 1500, 1500, 1500, 300, 50]
    assert prior_densities(lower, upper)[2] == pytest.approx(np.sqrt(300 * 1500))
    with pytest.raises(ValueError, match="at least 1500"):
        density_bounds(1000)


def test_exact_totals_give_back_the_densities():
    # Seven rows with independent class areas; totals made from known densities inside the bands.
    truth = np.array([6000.0, 2500.0, 900.0, 400.0, 700.0, 120.0, 20.0])
    rng = np.random.default_rng(1)
    areas = rng.uniform(1, 50, size=(12, 7))
    fit = fit_class_densities(areas, areas @ truth, prior_weight=0.0)
    assert np.allclose(fit.densities, truth, rtol=1e-6)
    assert np.allclose(fit.relative_residuals, 0, atol=1e-6) and fit.used.all()


def test_bounds_hold_and_residuals_are_relative():
    # Row A: 1 km² of urban centre holding 1 000 people -> 1 000/km², below the band: 1 500.
    # Row B: 10 km² of very low density holding 1 000 -> 100/km², above the band: 50.
    # Fitted totals 1 500 and 500: relative residuals +0.5 and -0.5. The other classes have no
    # area and sit at their prior (the log-middle of their band).
    areas = np.zeros((2, 7))
    areas[0, SLOT[30]] = 1.0
    areas[1, SLOT[11]] = 10.0
    fit = fit_class_densities(areas, np.array([1000.0, 1000.0]))
    assert fit.densities[SLOT[30]] == pytest.approx(1500.0)
    assert fit.densities[SLOT[11]] == pytest.approx(50.0)
    assert fit.relative_residuals == pytest.approx([0.5, -0.5])
    assert fit.rms_relative_residual == pytest.approx(0.5)
    assert fit.densities[SLOT[22]] == pytest.approx(np.sqrt(300 * 1500), rel=1e-6)


def test_relative_weighting_gives_a_small_unit_the_same_say_as_a_large_one():
    # Two rows of pure class 12 (band 50..300): 1 km² with 100 people and 100 km² with 20 000.
    areas = np.zeros((2, 7))
    areas[0, SLOT[12]] = 1.0
    areas[1, SLOT[12]] = 100.0
    fit = fit_class_densities(areas, np.array([100.0, 20_000.0]), prior_weight=0.0)
    # d/100 - 1 and d/200 - 1: the minimum of (d/100-1)² + (d/200-1)² is at
    # d (1/100² + 1/200²) = 1/100 + 1/200  ->  d = 0.015 / 0.000125 = 120.
    assert fit.densities[SLOT[12]] == pytest.approx(120.0, rel=1e-9)
    # In absolute terms the big row would have decided alone (d ≈ 200).


def test_spread_is_volume_preserving_and_proportional_to_density_times_area():
    # 2 x 2 cells of one unit: urban centre, low density, very low density, water; 10 000 people;
    # densities 5 000, 100, 20: weights 5 000, 100, 20, 0 (sum 5 120).
    densities = np.array([5000.0, 2000.0, 800.0, 400.0, 600.0, 100.0, 20.0])
    row = np.zeros(4, dtype=np.int64)
    slot = np.array([SLOT[30], SLOT[12], SLOT[11], SLOT[10]])
    area = np.ones(4)
    persons = spread_totals(row, slot, area, np.array([10_000.0]), densities)
    assert persons == pytest.approx([10_000 * 5000 / 5120, 10_000 * 100 / 5120, 10_000 * 20 / 5120, 0.0])
    assert persons.sum() == pytest.approx(10_000.0)
    # Half of the urban-centre cell inside the unit: it weighs half as much.
    persons = spread_totals(row, slot, np.array([0.5, 1, 1, 1]), np.array([10_000.0]), densities)
    assert persons[0] == pytest.approx(10_000 * 2500 / 2620)


def test_a_unit_made_of_two_rows_adds_up_their_totals():
    densities = np.array([5000.0, 2000.0, 800.0, 400.0, 600.0, 100.0, 20.0])
    row = np.array([0, 0, 1])
    slot = np.array([SLOT[30], SLOT[11], SLOT[12]])
    people = unit_class_population(np.array([0, 0, 0]), row, slot, np.ones(3), np.array([1000.0, 300.0]), densities, 1)
    assert people.sum() == pytest.approx(1300.0)
    assert people[0, SLOT[12]] == pytest.approx(300.0)
    assert class_areas(row, slot, np.ones(3), 2)[0, SLOT[30]] == 1.0


@pytest.mark.parametrize(
    ("cells", "stable"),
    [
        # 1 km² urban centre + 9 km² very low density: UC share ≥ 1500/(1500 + 9·50) = 0.77 anywhere.
        ({30: 1.0, 11: 9.0}, True),
        # 1 km² urban centre + 99 km² low density: 1500/(1500 + 99·300) = 0.05 .. 30000/(30000 + 99·50) = 0.86.
        ({30: 1.0, 12: 99.0}, False),
        # Only rural cells: rural whatever the densities.
        ({12: 5.0, 11: 50.0}, True),
        # Suburban + low density, no urban centre: rural share 4·50/(1·1500 + 4·50) = 0.12 .. 4·300/(300 + 4·300) = 0.8.
        ({21: 1.0, 12: 4.0}, False),
        # Suburban + very low density: rural share ≤ 1·50/(300 + 50) = 0.14 < ½ always: town.
        ({21: 1.0, 11: 1.0}, True),
        # Water only: nobody lives there, 1/11 for any density.
        ({10: 3.0}, True),
    ],
)
def test_level1_stability_at_the_box_vertices(cells, stable):
    slot = np.array([SLOT[c] for c in cells])
    area = np.array(list(cells.values()))
    zeros = np.zeros(len(cells), dtype=np.int64)
    result = level1_stable(zeros, zeros, slot, area, np.array([1000.0]), 1)
    assert result.tolist() == [stable]


def test_stability_agrees_with_a_dense_sweep_of_the_box():
    # Random units; classify Level 1 at many random density vectors inside the bounds: a unit
    # the vertex test calls stable never changes class; one it calls unstable changes at a vertex.
    rng = np.random.default_rng(7)
    n_units = 40
    unit = np.repeat(np.arange(n_units), 7)
    slot = np.tile(np.arange(7), n_units)
    area = rng.exponential(1.0, size=unit.size) * (rng.random(unit.size) < 0.6)
    totals = np.full(n_units, 1000.0)
    lower, upper = density_bounds()
    stable = level1_stable(unit, unit, slot, area, totals, n_units, lower, upper)

    def level1(d):
        people = unit_class_population(unit, unit, slot, area, totals, d, n_units)
        total = people.sum(axis=1)
        city = 2 * people[:, 0] >= total
        rural = 2 * people[:, 4:].sum(axis=1) >= total
        return np.where(city, 3, np.where(rural, 1, 2))

    samples = [lower + rng.random(7) * (upper - lower) for _ in range(300)]
    samples += [np.where(rng.random(7) < 0.5, lower, upper) for _ in range(300)]
    classes = np.array([level1(d) for d in samples])
    varies = (classes != classes[0]).any(axis=0)
    assert not (varies & stable).any()
    assert varies[~stable].mean() > 0.9 and (~stable).sum() > 3 and stable.sum() > 3
