"""The out-of-core Stage I (gis.degurba.chunked) against the in-memory engine (gis.degurba).

Every grid is classified twice, by ``classify_grid`` and by ``classify_grid_chunked`` split into
deliberately awkward chunks, and the Level 1 and Level 2 codes must be identical cell for cell.
The hand-built grids put each rule's decisive cells across chunk borders and corners and check
that the rule really decided (so a test cannot pass by having nothing to compare).
"""

from __future__ import annotations

import math

import dask.array as da
import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from gis.degurba.chunked import classify_grid_chunked, write_class_geotiff_chunked
from gis.degurba.classify import classify_grid
from gis.degurba.rasters import write_class_geotiff
from gis.errors import GisError

# A GHSL-aligned transform (1 km cells, ESRI:54009).
TRANSFORM = Affine(1000.0, 0.0, -18_041_000.0 + 29_700_000.0, 0.0, -1000.0, 9_000_000.0 - 5_600_000.0)


def classify_both(population, chunks, **options):
    """Level 1 and Level 2 of both engines: ((l1, l2) in memory, (l1, l2) chunked)."""
    expected = classify_grid(population, **options)
    with classify_grid_chunked(population, chunks=chunks, **options) as chunked:
        level1, level2 = da.compute(chunked.level1, chunked.level2)
    return (expected.level1, expected.level2), (level1, level2)


def assert_same_classes(population, chunks, **options) -> np.ndarray:
    """Assert both engines agree; return the Level 2 codes."""
    (l1, l2), (chunked_l1, chunked_l2) = classify_both(population, chunks, **options)
    mismatched = np.argwhere(l2 != chunked_l2)
    assert mismatched.size == 0, f"{len(mismatched)} cells differ, first at {mismatched[:5].tolist()}"
    np.testing.assert_array_equal(chunked_l1, l1)
    return l2


# --- grids -----------------------------------------------------------------------------------


def settlement_field(height: int, width: int, seed: int):
    """Population, land share and built-up share of a made-up region: log-normal rural
    background, villages, towns and two cities as Gaussian blobs, a lake (land 0, nobody) and
    patches without data."""
    rng = np.random.default_rng(seed)
    population = rng.lognormal(2.5, 1.2, size=(height, width))
    seeds = np.zeros((height, width))
    for count, persons, sigma in ((2, 4.0e5, 3.0), (5, 3.0e4, 1.5), (25, 1.5e3, 0.8)):
        seeds[rng.integers(0, height, count), rng.integers(0, width, count)] += persons
        population += ndimage.gaussian_filter(seeds, sigma)
        seeds[:] = 0
    land = np.ones((height, width))
    lake = (slice(height // 2, height // 2 + 4), slice(3, 9))
    land[lake] = 0.0
    population[lake] = 0.0
    land[rng.random((height, width)) < 0.05] = 0.6
    population[rng.random((height, width)) < 0.02] = np.nan
    population[5:8, width - 9:width - 5] = np.nan
    built = np.where(population > 800, rng.random((height, width)), 0.0)
    return population, land, built


def planned_city(height: int = 48, width: int = 60) -> np.ndarray:
    """One of each class at known places (very low density background of 20 per cell)."""
    population = np.full((height, width), 20.0)
    population[4:24, 6:30] = 2000.0  # urban centre (480 000)
    population[4, 16] = population[5, 16] = 0.0  # a notch that smoothing fills
    population[12:15, 12:16] = np.nan  # a 12-cell nodata hole around one valid cell: filled
    population[13, 13] = 0.0
    population[17:20, 20:25] = np.nan  # a 15-cell nodata hole with a valid cell: not filled
    population[18, 22] = 0.0
    population[30:33, 36:39] = 1600.0  # a dense urban cluster (14 400)
    population[30:32, 41:44] = 1000.0  # moderate cluster 2 cells from the DUC: suburban (21)
    population[40:42, 50:54] = 900.0  # moderate cluster far from any UC/DUC: semi-dense (22)
    population[40:42, 6:8] = 400.0  # rural cluster (1 600)
    population[36:46, 20:30] = 60.0  # low density rural
    population[26:28, 50:58] = np.nan  # no data
    return population


GRID_CHUNKS = [
    pytest.param((7, 5), id="7x5"),
    pytest.param((13, 17), id="13x17"),
    pytest.param((1, 1000), id="one row per chunk"),
    pytest.param((1000, 3), id="three columns per chunk"),
]


@pytest.mark.parametrize("chunks", GRID_CHUNKS)
def test_planned_city_matches_in_memory(chunks):
    population = planned_city()
    level2 = assert_same_classes(population, chunks)
    assert set(np.unique(level2)) == {11, 12, 13, 21, 22, 23, 30, 255}
    assert level2[13, 13] == 30 and level2[18, 22] != 30  # the two holes
    assert level2[4, 16] == 30  # smoothing


@pytest.mark.parametrize(
    "chunks, distance_km",
    [((7, 5), 2.0), ((13, 17), 3.0), ((1, 1000), 3.0), ((1000, 3), 2.0)],
    ids=["7x5, D=2", "13x17, D=3", "one row per chunk, D=3", "three columns per chunk, D=2"],
)
def test_settlement_field_with_land_and_built_share_matches_in_memory(chunks, distance_km):
    population, land, built = settlement_field(40, 54, seed=int(distance_km))
    level2 = assert_same_classes(
        population, chunks, land_share=land, built_share=built, sduc_distance_km=distance_km
    )
    assert {10, 11, 12, 30, 255} <= set(np.unique(level2))


def test_cell_area_array_matches_in_memory():
    population, _, _ = settlement_field(30, 40, seed=5)
    cell_area = np.full(population.shape, 1.0)
    cell_area[:, 20:] = 0.5  # denser per km² on the right half
    assert_same_classes(population, (8, 9), cell_area_km2=cell_area)


# --- each rule across chunk borders ------------------------------------------------------------


def test_hole_straddling_four_chunks_is_filled():
    # Chunks of 10 x 12: the holes sit on chunk corners (20, 24) and (20, 36).
    population = np.zeros((40, 60))
    population[6:34, 6:54] = 2000.0
    small = (slice(18, 22), slice(22, 25))  # 12 cells over four chunks
    large = (slice(18, 21), slice(34, 39))  # 15 cells over four chunks
    for hole, valid_cell in ((small, (20, 23)), (large, (19, 36))):
        population[hole] = np.nan
        population[valid_cell] = 0.0  # fewer than 5 UC neighbours: smoothing leaves it
    level2 = assert_same_classes(population, (10, 12))
    assert level2[20, 23] == 30  # < 15 cells: filled
    assert level2[19, 36] == 11  # 15 cells: not a hole
    assert (level2[np.isnan(population)] == 255).all()


def test_non_uc_region_reaching_the_grid_edge_through_chunks_is_not_a_hole():
    # A 3-row corridor of nodata (with a valid cell in its middle that no smoothing reaches)
    # from inside a UC to the non-UC border of the grid, across chunk borders: one region with
    # the border, so not a hole, though the corridor alone has fewer than 15 cells.
    population = np.zeros((22, 22))
    population[2:20, 2:20] = 2000.0
    population[10:13, 2:6] = np.nan
    population[11, 4] = 0.0
    level2 = assert_same_classes(population, (4, 5))
    assert level2[11, 4] == 11
    population[10:13, 2] = 2000.0  # closed: now a 9-cell hole, filled
    level2 = assert_same_classes(population, (4, 5))
    assert level2[11, 4] == 30


def test_urban_centre_needs_an_edge_across_a_chunk_border_and_dense_clusters_are_4_connected():
    # Two 2x2 blocks of 7 000 (28 000 each) meeting at the corner of four 5x5 chunks.
    population = np.zeros((20, 20))
    population[3:5, 3:5] = 7000.0
    population[5:7, 5:7] = 7000.0
    level2 = assert_same_classes(population, (5, 5))
    assert (level2[3:5, 3:5] == 23).all() and (level2[5:7, 5:7] == 23).all()
    population[5:7, 4:6] = 7000.0  # now sharing an edge across the chunk border
    population[5:7, 6] = 0.0
    level2 = assert_same_classes(population, (5, 5))
    assert (level2[3:5, 3:5] == 30).all() and (level2[5:7, 4:6] == 30).all()


def test_urban_cluster_along_a_diagonal_through_chunk_corners():
    # Six moderate cells of 1 000 on a diagonal crossing two chunk corners: one 8-connected
    # cluster of 6 000, semi-dense (no UC/DUC anywhere).
    population = np.zeros((9, 9))
    diagonal = (np.arange(1, 7), np.arange(1, 7))
    population[diagonal] = 1000.0
    for chunks in ((3, 3), (1, 1)):
        level2 = assert_same_classes(population, chunks)
        assert (level2[diagonal] == 22).all()


@pytest.mark.parametrize(
    "centre_value, centre_code, gap_rows, gap_cols, distance_km, expected",
    [
        (1600.0, 23, -2, 2, 2.0, 21),  # 2 cells from a DUC, exactly D: within
        (1600.0, 23, -2, 3, 2.0, 22),
        (1600.0, 23, -2, 3, 3.0, 21),
        (1600.0, 23, -2, 4, 3.0, 22),
        (1600.0, 23, 2, 2, 2.0, 22),  # diagonal across a chunk corner: 2.83 km
        (1600.0, 23, 2, 2, 3.0, 21),
        (13000.0, 30, -2, 2, 2.0, 21),  # the same from an urban centre
        (13000.0, 30, -2, 3, 2.0, 22),
        (13000.0, 30, 2, 2, 3.0, 21),
    ],
)
def test_semi_dense_distance_across_a_chunk_border(centre_value, centre_code, gap_rows, gap_cols, distance_km, expected):
    # A DUC or UC (2x2 of 1 600 or 13 000) ending at row/col 7 and a moderate cluster (2x3 of
    # 1 000) starting gap cells further; chunks of 8 x 9 put a chunk border (and corner) between.
    population = np.zeros((30, 30))
    population[5:7, 5:7] = centre_value
    r0, c0 = 7 + gap_rows, 7 + gap_cols
    cluster = (slice(r0, r0 + 2), slice(c0, c0 + 3))
    population[cluster] = 1000.0
    level2 = assert_same_classes(population, (8, 9), sduc_distance_km=distance_km)
    assert (level2[5:7, 5:7] == centre_code).all()
    assert (level2[cluster] == expected).all()


def sequential_sum(values) -> float:
    """Sum in the given order, one addition at a time (what np.bincount does)."""
    total = 0.0
    for value in values:
        total += value
    return total


@pytest.mark.parametrize(
    "threshold, low, high, expected",
    [(50_000.0, 1500.0, 1620.0, 30), (5_000.0, 300.0, 330.0, 22)],
    ids=["urban centre at exactly 50 000", "urban cluster at exactly 5 000"],
)
def test_group_population_at_a_threshold_is_summed_in_the_same_order(threshold, low, high, expected):
    # A 4 x 4 group over four 3x3 chunks whose row-major sum is exactly the threshold while the
    # sum of per-chunk sums falls short: only the same additions in the same order agree.
    rng = np.random.default_rng(0)
    rows, cols = slice(1, 5), slice(1, 5)
    for _ in range(10_000):
        values = rng.uniform(low, high, size=16)
        values[-1] = threshold - sequential_sum(values[:-1])
        group = values.reshape(4, 4)
        quarters = [group[:2, :2], group[:2, 2:], group[2:, :2], group[2:, 2:]]
        if low <= values[-1] and sum(sequential_sum(q.ravel()) for q in quarters) < threshold:
            break
    else:
        pytest.fail("no grid found whose per-chunk sums differ in the last bit")
    assert sequential_sum(group.ravel()) == threshold
    population = np.zeros((7, 7))
    population[rows, cols] = group
    level2 = assert_same_classes(population, (3, 3))
    assert (level2[rows, cols] == expected).all()


# --- random grids ----------------------------------------------------------------------------

_values = st.sampled_from([0.0, 20.0, 60.0, 320.0, 900.0, 1600.0, 4000.0, 9000.0, 26000.0, math.nan])


@st.composite
def chunked_grids(draw):
    height = draw(st.integers(3, 11))
    width = draw(st.integers(3, 11))
    cells = height * width
    population = np.array(draw(st.lists(_values, min_size=cells, max_size=cells))).reshape(height, width)
    land = None
    if draw(st.booleans()):
        land = np.array(draw(st.lists(st.sampled_from([0.0, 0.3, 1.0, 1.0]), min_size=cells, max_size=cells)))
        land = land.reshape(height, width)
    built = None
    if draw(st.booleans()):
        built = np.array(draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.9]), min_size=cells, max_size=cells)))
        built = built.reshape(height, width)
    distance = draw(st.sampled_from([0.0, 1.0, 1.5, 2.0, 3.0]))
    chunks = (draw(st.integers(1, height)), draw(st.integers(1, width)))
    return population, land, built, distance, chunks


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunked_grids())
def test_random_grids_in_random_chunks_match_in_memory(case):
    population, land, built, distance, chunks = case
    assert_same_classes(population, chunks, land_share=land, built_share=built, sduc_distance_km=distance)


# --- schedulers, inputs, clean-up --------------------------------------------------------------


def test_same_classes_on_a_distributed_local_cluster():
    import dask.distributed as distributed  # a dependency: never skipped
    population, land, built = settlement_field(36, 40, seed=7)
    expected = classify_grid(population, land_share=land, built_share=built)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with classify_grid_chunked(
            population, land_share=land, built_share=built, chunks=(9, 11), scheduler=cluster.scheduler_address
        ) as chunked:
            level2 = chunked.level2.compute(scheduler="threads")
    np.testing.assert_array_equal(level2, expected.level2)


def test_dask_input_keeps_its_chunks_reports_progress_and_cleans_up(tmp_path):
    population, _, _ = settlement_field(30, 40, seed=3)
    messages = []
    lazy = da.from_array(population, chunks=(11, 13))
    result = classify_grid_chunked(lazy, progress=messages.append, workdir=tmp_path)
    assert result.level2.chunks == lazy.chunks and result.level1.dtype == np.uint8
    expected = classify_grid(population)
    np.testing.assert_array_equal(result.level2.compute(), expected.level2)
    assert result.counts() == expected.counts()
    assert any("smoothing" in m for m in messages) and messages[-1].endswith("done")
    (folder,) = tmp_path.iterdir()
    assert [p.name.split(".")[0] for p in folder.iterdir()] == ["level2"] * 12  # only the result
    result.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(population=np.zeros((2, 3, 4))), "2-D"),
        (dict(population=np.zeros((5, 5)), land_share=np.ones((5, 4))), "land_share has shape"),
        (dict(population=np.zeros((5, 5)), sduc_distance_km=-1.0), "sduc_distance_km"),
        (dict(population=np.zeros((5, 5)), scheduler=42), "scheduler"),
    ],
)
def test_bad_input_raises_gis_error(arguments, message):
    with pytest.raises(GisError, match=message):
        classify_grid_chunked(**arguments)


# --- the chunked GeoTIFF writer ----------------------------------------------------------------


def test_chunked_geotiff_is_tiled_compressed_and_styled_like_the_in_memory_one(tmp_path):
    population, land, built = settlement_field(300, 520, seed=11)
    with classify_grid_chunked(population, land_share=land, built_share=built, chunks=(100, 130)) as result:
        path = write_class_geotiff_chunked(tmp_path / "l2.tif", result.level2, TRANSFORM, level=2)
        level2 = result.level2.compute()
    reference = write_class_geotiff(tmp_path / "reference.tif", level2, TRANSFORM, level=2)
    with rasterio.open(path) as written, rasterio.open(reference) as expected:
        assert written.profile["tiled"] and written.block_shapes == [(256, 256)]
        assert written.compression.value.lower() == "deflate"
        assert written.nodata == 255 and written.crs == expected.crs and written.transform == TRANSFORM
        np.testing.assert_array_equal(written.read(1), level2)
        assert written.colormap(1) == expected.colormap(1)
        assert written.tags(1) == expected.tags(1) and written.tags() == expected.tags()
        assert written.descriptions == expected.descriptions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l2.tif", "reference.tif"]


def test_failed_chunked_write_leaves_no_file(tmp_path):
    codes = da.from_array(np.full((600, 700), 11, dtype=np.uint8), chunks=(256, 256))

    def fail_on_the_last_chunk(block, block_info=None):
        if block_info[0]["chunk-location"] == (2, 2):
            raise RuntimeError("disk full")
        return block

    failing = codes.map_blocks(fail_on_the_last_chunk, dtype=np.uint8)
    with pytest.raises(RuntimeError, match="disk full"):
        write_class_geotiff_chunked(tmp_path / "out.tif", failing, TRANSFORM)
    assert list(tmp_path.iterdir()) == []
    # A small grid (striped, not tiled) from NumPy, Level 1.
    small = np.array([[3, 2], [1, 255]], dtype=np.uint8)
    path = write_class_geotiff_chunked(tmp_path / "l1.tif", small, TRANSFORM, level=1)
    with rasterio.open(path) as written:
        np.testing.assert_array_equal(written.read(1), small)
        assert written.tags()["DEGURBA_LEVEL"] == "1"


# --- other rules: the chunked engine honours every key ------------------------------------------


RULE_VARIANTS = {  # section -> keys changed from the manual's rules
    "8-connected centres, smoothing at 3, large holes": {"urban_centre": dict(contiguity=8, smoothing_neighbours=3, max_hole_km2=40)},
    "no smoothing, no hole filling": {"urban_centre": dict(smoothing_neighbours=9, max_hole_km2=0)},
    "calibrated centres": {"urban_centre": dict(density=1000, population=30000, built_share=0.3)},
    "4-connected clusters": {"urban_cluster": dict(contiguity=4, density=500, population=3000)},
    "rural clusters of their own density": {"rural_cluster": dict(density=150, population=300)},
    "dense urban clusters from 20 000": {"dense_urban_cluster": dict(population=20000)},
    "semi-dense from 100 000": {"dense_urban_cluster": dict(population=20000), "semi_dense_urban_cluster": dict(population=100000)},
    "semi-dense at 20 km": {"dense_urban_cluster": dict(population=20000), "semi_dense_urban_cluster": dict(distance_km=20)},
    "low density at 100": {"low_density_rural": dict(density=100)},
    # Keys that express flexurba's (GHSL R2023A) parameters and run out of core.
    "no built-up criterion": {"urban_centre": dict(use_built_share=False)},
    "built-up share of the land": {"urban_centre": dict(built_share_of="land", built_share=0.3)},
    "edge smoothing off": {"urban_centre": dict(edge_smoothing="off")},
    "urban clusters of moderate cells only": {"urban_centre": dict(built_share=0.05), "urban_cluster": dict(include_centres=False)},
    "square semi-dense buffer": {"dense_urban_cluster": dict(population=20000), "semi_dense_urban_cluster": dict(distance_shape="square", distance_km=3)},
    "GHSL water, below 70 % land": {"water": dict(land_share_below=0.7, population_at_most=0.0, built_share_at_most=0.0, nodata_population="water")},
    "water up to 20 persons": {"water": dict(land_share_below=0.9, population_at_most=20.0)},
    "R2022A edge smoothing at 4 of 8": {"urban_centre": dict(edge_smoothing="R2022A", smoothing_neighbours=4)},
    "moving means of population (5 for centres, 3 for clusters)": {
        "urban_centre": dict(population_window=5), "urban_cluster": dict(population_window=3),
    },
    "moving mean for clusters only, separate rural density": {
        "urban_cluster": dict(population_window=7), "rural_cluster": dict(density=200),
    },
}


@pytest.mark.parametrize("variant", list(RULE_VARIANTS))
def test_chunked_engine_honours_other_rules(variant):
    from dataclasses import replace

    from gis.degurba.rules import Rules

    rules = replace(Rules(), name=variant, **{
        section: replace(getattr(Rules(), section), **values) for section, values in RULE_VARIANTS[variant].items()
    })
    population, land, built = settlement_field(70, 90, seed=7)
    level2 = assert_same_classes(population, (23, 31), land_share=land, built_share=built, rules=rules)
    # The rules change the result (else the variant tests nothing).
    assert (level2 != classify_grid(population, land_share=land, built_share=built).level2).any()
    with classify_grid_chunked(population, chunks=32, rules=rules) as chunked:
        assert chunked.rules is rules


@pytest.mark.parametrize("chunks", GRID_CHUNKS[:2])
def test_r2023a_edge_smoothing_across_chunks_matches_in_memory(chunks):
    from dataclasses import replace

    from gis.degurba.rules import Rules

    # Below the planned city's centre (rows 4-23, cols 6-29), unpopulated cells of 20 % land
    # (rows 24-25, cols 10-19, and cell (25, 9)): cell (24, 9) has 3 neighbours in the centre
    # and 5 counted ones, a majority for R2023A but not 5 of 8.
    population = planned_city()
    land = np.ones(population.shape)
    population[24:26, 10:20], land[24:26, 10:20] = 0.0, 0.2
    population[25, 9], land[25, 9] = 0.0, 0.2
    rules = replace(Rules(), urban_centre=replace(Rules().urban_centre, edge_smoothing="R2023A"))
    level2 = assert_same_classes(population, chunks, land_share=land, rules=rules)
    assert level2[24, 9] == 30 and classify_grid(population, land_share=land).level2[24, 9] != 30


FLEXURBA_VARIANTS = {  # flexurba-r2023a (independent Level 2 clusters) with keys changed
    "flexurba-r2023a": {},
    "R2022A, 8-connected dense clusters, square buffer of 1": {
        "urban_centre": dict(edge_smoothing="R2022A"), "dense_urban_cluster": dict(contiguity=8, population=3000),
        "semi_dense_urban_cluster": dict(distance_km=1),
    },
    "moving means (3 for centres, 5 for clusters), R2023A": {
        "urban_centre": dict(population_window=3), "urban_cluster": dict(population_window=5),
    },
    "optimal built-up share (centres and dense clusters)": {
        "urban_centre": dict(built_share="optimal"), "dense_urban_cluster": dict(built_share="optimal"),
    },
    "own thresholds everywhere": {
        "semi_dense_urban_cluster": dict(density=700, population=2000, contiguity=8, distance_shape="edge_to_edge", distance_km=3),
        "suburban": dict(density=200, population=4000, contiguity=4), "rural_cluster": dict(density=250, population=450, contiguity=4),
        "urban_cluster": dict(population=4000, contiguity=4, include_centres=True), "low_density_rural": dict(density=40),
    },
}


@pytest.mark.parametrize("variant", list(FLEXURBA_VARIANTS))
@pytest.mark.parametrize("chunks", [(23, 31), (13, 17)], ids=["23x31", "13x17"])
def test_independent_level2_clusters_match_in_memory(variant, chunks):
    from dataclasses import replace

    from gis.degurba.rules import load_rules

    base = load_rules("flexurba-r2023a")
    rules = replace(base, name=variant, **{
        section: replace(getattr(base, section), **values) for section, values in FLEXURBA_VARIANTS[variant].items()
    })
    population, land, built = settlement_field(70, 90, seed=11)
    # A semi-dense cluster of 4 000 persons (2 x 2 of 1 000) far from the rest: Level 2 22, but
    # below the urban-cluster population, so Level 1 rural (1): Level 1 is classified on its own.
    population[62:64, 2:4], land[62:64, 2:4], built[62:64, 2:4] = 1000.0, 1.0, 0.0
    level2 = assert_same_classes(population, chunks, land_share=land, built_share=built, rules=rules)
    if "optimal" in variant:
        with classify_grid_chunked(population, land_share=land, built_share=built, chunks=chunks, rules=rules) as chunked:
            in_memory = classify_grid(population, land_share=land, built_share=built, rules=rules).rules
            assert chunked.rules.urban_centre.built_share == in_memory.urban_centre.built_share != 0.2
            assert chunked.rules.name == in_memory.name and "optimal (" in chunked.rules.name
    if rules.urban_cluster.population == 5000:
        level1 = classify_grid(population, land_share=land, built_share=built, rules=rules).level1
        assert (level2[62:64, 2:4] == 22).all() and (level1[62:64, 2:4] == 1).all()
    assert (classify_grid(population, land_share=land, built_share=built, rules=rules).level2
            != classify_grid(population, land_share=land, built_share=built).level2).any()
