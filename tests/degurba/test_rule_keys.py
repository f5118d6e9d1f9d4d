"""Every key of a Degree of Urbanisation rules file decides something (gis.degurba.rules).

Each grid below is classified twice, with the 2021 manual's rules and with exactly one key
changed; the cell (or unit) the key governs changes class and nothing else differs in the rules.
Rules files are validated like the map specs: one line naming the file, the key and what is
allowed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from gis.degurba.classify import classify_grid
from gis.degurba.rules import SCHEMA, Rules, load_rules, preset_names, rules_table
from gis.degurba.zonal import CLASS_COLUMNS, classify_units
from gis.errors import GisError


def changed(section: str, **values) -> Rules:
    """The manual's rules with keys of one section changed."""
    base = Rules()
    return replace(base, name="changed", **{section: replace(getattr(base, section), **values)})


def grid(size=14, value=100.0):
    return np.full((size, size), float(value))


def block(population, top, left, height, width, value):
    population[top:top + height, left:left + width] = value
    return (slice(top, top + height), slice(left, left + width))


def classes(population, rules=None, **options):
    return classify_grid(population, rules=rules, **options).level2


def notch_grid():
    """A 3 x 4 block of 6 000 with the middle of its top edge cut out: that notch cell has 5
    of its 8 neighbours in the urban centre."""
    population = grid()
    block(population, 5, 5, 3, 4, 6000)
    population[5, 6] = 100
    return population, (5, 6)


def ring_grid():
    """A 6 x 6 ring of 6 000 (20 cells, 120 000) around a 4 x 4 hole (16 km²): 12 cells
    without data (never smoothed: no data) around 2 x 2 cells of 0 persons (no UC
    neighbour: not smoothed either), so only hole filling can make the 2 x 2 urban centre.
    Returns the grid and the 2 x 2 cells."""
    population = grid()
    block(population, 4, 4, 6, 6, 6000)
    block(population, 5, 5, 4, 4, np.nan)
    inner = block(population, 6, 6, 2, 2, 0)
    return population, inner


# (key, grid builder -> (population, cell index, options), manual class, changed rules, new class)
def _uc_density():
    population = grid()
    cells = block(population, 4, 4, 6, 6, 1400)  # 50 400: moderate, not dense
    return population, cells, {}


def _uc_population():
    population = grid()
    return population, block(population, 5, 5, 3, 3, 6000), {}  # 54 000


def _uc_contiguity():
    population = grid()
    block(population, 4, 4, 2, 2, 7000)
    cells = block(population, 6, 6, 2, 2, 7000)  # touches the first only at a corner
    return population, cells, {}


def _smoothing():
    population, notch = notch_grid()
    return population, notch, {}


def _hole():
    population, hole = ring_grid()
    return population, hole, {}


def _built():
    population = grid()
    built = np.zeros(population.shape)
    cells = block(population, 5, 5, 3, 3, 1000)  # 9 000, moderate
    built[cells] = 0.4
    return population, cells, {"built_share": built}


def _ucl_block():
    population = grid()
    return population, block(population, 5, 5, 3, 3, 800), {}  # 7 200, moderate


def _ucl_contiguity():
    population = grid()
    diagonal = (np.arange(4, 10), np.arange(4, 10))
    population[diagonal] = 1000  # 6 000 if 8-connected, six groups of 1 000 if 4-connected
    return population, diagonal, {}


def _duc():
    population = grid()
    return population, block(population, 5, 5, 3, 3, 5000), {}  # 45 000, dense


def _sduc_distance():
    population = grid(size=20)
    block(population, 2, 2, 3, 3, 5000)  # a dense urban cluster
    cells = block(population, 2, 8, 3, 3, 800)  # 3 km away edge to edge
    return population, cells, {}


def _rural_density():
    population = grid()
    return population, block(population, 5, 5, 2, 2, 250), {}  # 1 000, below 300


def _rural_population():
    population = grid()
    return population, block(population, 5, 5, 2, 2, 400), {}  # 1 600


def _low_density():
    population = grid()
    return population, (0, 0), {}


CASES = [
    ("urban_centre.density", _uc_density, 22, changed("urban_centre", density=1400), 30),
    ("urban_centre.population", _uc_population, 30, changed("urban_centre", population=60000), 23),
    ("urban_centre.contiguity", _uc_contiguity, 23, changed("urban_centre", contiguity=8), 30),
    ("urban_centre.smoothing_neighbours", _smoothing, 30, changed("urban_centre", smoothing_neighbours=6), 12),
    ("urban_centre.smoothing_neighbours=9 (off)", _smoothing, 30, changed("urban_centre", smoothing_neighbours=9), 12),
    ("urban_centre.max_hole_km2", _hole, 11, changed("urban_centre", max_hole_km2=17), 30),
    ("urban_centre.built_share", _built, 22, changed("urban_centre", built_share=0.4), 23),
    ("urban_cluster.density", _ucl_block, 22, changed("urban_cluster", density=1000), 13),
    ("urban_cluster.population", _ucl_block, 22, changed("urban_cluster", population=8000), 13),
    ("urban_cluster.contiguity", _ucl_contiguity, 22, changed("urban_cluster", contiguity=4), 13),
    ("dense_urban_cluster.population", _duc, 23, changed("dense_urban_cluster", population=46000), 22),
    ("semi_dense_urban_cluster.population", _ucl_block, 22, changed("semi_dense_urban_cluster", population=8000), 21),
    ("semi_dense_urban_cluster.distance_km", _sduc_distance, 22, changed("semi_dense_urban_cluster", distance_km=3), 21),
    ("rural_cluster.density", _rural_density, 12, changed("rural_cluster", density=200), 13),
    ("rural_cluster.population", _rural_population, 13, changed("rural_cluster", population=2000), 12),
    ("low_density_rural.density", _low_density, 12, changed("low_density_rural", density=150), 11),
]


@pytest.mark.parametrize("key, build, manual_class, rules, new_class", CASES, ids=[c[0] for c in CASES])
def test_each_stage_one_key_decides_its_cells(key, build, manual_class, rules, new_class):
    population, cells, options = build()
    assert (classes(population, **options)[cells] == manual_class).all()
    assert (classes(population, rules, **options)[cells] == new_class).all()
    # Exactly this key differs from the manual.
    assert list(rules.differences()) == [key.split("=")[0].split(" ")[0]]


def test_every_stage_one_key_has_a_deciding_case():
    tested = {case[0].split("=")[0].split(" ")[0] for case in CASES + FLEXURBA_CASES}
    stage_one = {f"{s}.{k}" for s, keys in SCHEMA.items() if s != "units" for k in keys}
    assert tested == stage_one


def test_hole_size_is_exclusive():
    population, hole = ring_grid()  # a 16 km² hole (2 x 2 valid cells)
    assert (classes(population, changed("urban_centre", max_hole_km2=16))[hole] == 11).all()
    assert (classes(population, changed("urban_centre", max_hole_km2=16.5))[hole] == 30).all()
    # With 0.5 km cells the same 16 cells are 4 km²: 4.5 km² fills them, 4 does not.
    kept = classify_grid(population, cell_size_km=0.5, cell_area_km2=0.25, rules=changed("urban_centre", max_hole_km2=4))
    assert (kept.level2[hole] != 30).all()
    filled = classify_grid(population, cell_size_km=0.5, cell_area_km2=0.25, rules=changed("urban_centre", max_hole_km2=4.5))
    assert (filled.level2[hole] == 30).all()


def test_sduc_distance_argument_overrides_the_rules():
    population, cells, _ = _sduc_distance()
    result = classify_grid(population, sduc_distance_km=3.0, rules=load_rules("manual-2021"))
    assert (result.level2[cells] == 21).all()
    assert result.rules.semi_dense_urban_cluster.distance_km == 3.0
    assert "distance_km = 3" in result.rules.name


def _unit_totals(**populations) -> pd.DataFrame:
    row = {f"pop_{name}": 0.0 for name in CLASS_COLUMNS.values()}
    row.update({f"pop_{name}": value for name, value in populations.items()})
    return pd.DataFrame([row])


def test_units_city_share_decides_a_city():
    totals = _unit_totals(urban_centre=40.0, suburban=60.0)
    assert classify_units(totals)["degurba_l1"].item() == 2
    assert classify_units(totals, changed("units", city_share=0.4))["degurba_l1"].item() == 3
    assert classify_units(totals, changed("units", city_share=0.41))["degurba_l1"].item() == 2


def test_units_rural_share_decides_a_rural_area():
    totals = _unit_totals(low_density_rural=45.0, suburban=55.0)
    assert classify_units(totals)["degurba_l1"].item() == 2
    assert classify_units(totals, changed("units", rural_share=0.45))["degurba_l1"].item() == 1


# --- rules files -----------------------------------------------------------------------------


def test_presets_load_and_the_default_is_the_manual():
    assert {"manual-2021", "ghsl-r2023a"} <= set(preset_names())
    manual = load_rules()
    assert manual == Rules() and manual.name == "manual-2021"
    ghsl = load_rules("ghsl-r2023a")
    assert ghsl.semi_dense_urban_cluster.distance_km == 3.0
    assert set(ghsl.differences()) == {"semi_dense_urban_cluster.distance_km", "urban_centre.built_share"}


def test_a_user_file_sets_only_what_it_changes(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[urban_centre]\npopulation = 30000\n", encoding="utf-8")
    rules = load_rules(path)
    assert rules.urban_centre.population == 30000.0 and rules.name == str(path)
    assert rules.differences() == {"urban_centre.population": (30000.0, 50000.0)}
    path.write_text('based_on = "ghsl-r2023a"\n[units]\ncity_share = 0.6\n', encoding="utf-8")
    rules = load_rules(path)
    assert rules.semi_dense_urban_cluster.distance_km == 3.0 and rules.units.city_share == 0.6


@pytest.mark.parametrize(
    "text, message",
    [
        ("[urban_centre]\ndensty = 1000\n", r"unknown key urban_centre\.densty; allowed in \[urban_centre\]: density"),
        ("[urban_center]\ndensity = 1000\n", r"unknown section or key 'urban_center'"),
        ("[urban_centre]\ndensity = '1500'\n", r"urban_centre\.density is '1500'; allowed: a number from 0 to 1e\+06"),
        ("[urban_centre]\ndensity = true\n", r"urban_centre\.density is True"),
        ("[urban_centre]\ncontiguity = 6\n", r"urban_centre\.contiguity is 6; allowed: 4 or 8"),
        ("[urban_centre]\ncontiguity = 4.0\n", r"urban_centre\.contiguity is 4\.0; allowed: 4 or 8"),
        ("[urban_centre]\nsmoothing_neighbours = 0\n", r"smoothing_neighbours is 0; allowed: an integer from 1 to 9"),
        ("[units]\ncity_share = 1.5\n", r"units\.city_share is 1\.5; allowed: a number from 0\.01 to 1"),
        ("[semi_dense_urban_cluster]\ndistance_km = -1\n", r"distance_km is -1; allowed: a number from 0 to 50"),
        ("[urban_centre]\npopulation = 4000\n", r"urban_centre\.population \(4000\) must be at least urban_cluster\.population \(5000\)"),
        ("based_on = 'ghsl'\n", r"based_on is 'ghsl'; allowed: flexurba-r2023a, ghsl-r2023a, manual-2021"),
        ("urban_centre = 3\n", r"urban_centre must be a table"),
        ("[urban_centre\n", r"not valid TOML"),
    ],
)
def test_bad_rules_files_are_one_line_naming_file_and_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GisError, match=message) as error:
        load_rules(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_unknown_rules_name_lists_the_presets():
    with pytest.raises(GisError, match=r"--rules nope: not a preset \(flexurba-r2023a, ghsl-r2023a, manual-2021\)"):
        load_rules("nope")


def test_rules_are_recorded_as_tags_and_a_table():
    rules = load_rules("ghsl-r2023a")
    tags = rules.geotiff_tags()
    assert tags["DEGURBA_RULES"] == "ghsl-r2023a"
    assert tags["DEGURBA_RULE_SEMI_DENSE_URBAN_CLUSTER_DISTANCE_KM"] == "3"
    assert tags["DEGURBA_RULE_URBAN_CENTRE_POPULATION"] == "50000"
    table = rules_table(rules, stage_one_applies=False)
    assert len(table) == sum(len(keys) for keys in SCHEMA.values())
    row = table.set_index("rule").loc["semi_dense_urban_cluster.distance_km"]
    assert row["value"] == 3.0 and row["manual_2021"] == 2.0 and row["applied"].startswith("no: official")
    assert table.set_index("rule").loc["units.city_share", "applied"] == "yes"


# --- the keys that express flexurba's (GHSL R2023A) parameters ------------------------------------
#
# Each case is hand-worked on a small grid (background 100 persons per cell unless said) and
# changes exactly one key, from the manual's rules ("M") or from the flexurba-r2023a preset
# ("F", independent Level 2 clusters).


def flexurba_base() -> Rules:
    return load_rules("flexurba-r2023a")


def changed_from(base: Rules, section: str, **values) -> Rules:
    return replace(base, name="changed", **{section: replace(getattr(base, section), **values)})


def _built_only(share=0.6, value=1000.0):
    population = grid()
    built = np.zeros(population.shape)
    cells = block(population, 5, 5, 3, 3, value)  # 9 000 at 1 000 per km²: moderate, not dense
    built[cells] = share
    return population, cells, {"built_share": built, "land_share": np.ones(population.shape)}


def _built_per_land():
    # 3 x 3 of 600 on half land (1 200 per km² of land: moderate; 5 400 persons), built-up 0.3
    # of the cell = 0.6 of the land.
    population = grid()
    land, built = np.ones(population.shape), np.zeros(population.shape)
    cells = block(population, 5, 5, 3, 3, 600)
    land[cells], built[cells] = 0.5, 0.3
    return population, cells, {"built_share": built, "land_share": land}


def _checkerboard():
    # 8 x 8 of alternating 2 500 and 700: no two dense cells share an edge (no urban centre);
    # a 3 x 3 moving mean is >= 1 500 everywhere inside (102 400 persons): an urban centre.
    population = grid(size=16)
    rows, cols = np.indices((8, 8))
    population[4:12, 4:12] = np.where((rows + cols) % 2 == 0, 2500, 700)
    return population, (7, 7), {}


def _moderate_on_empty():
    # 2 x 2 of 1 250 on 0 persons: 5 000, an urban cluster; a 3 x 3 moving mean spreads it to
    # 556 per cell inside and 278 (below 300) beside it: 2 222 persons, a rural cluster.
    population = grid(value=0)
    return population, block(population, 5, 5, 2, 2, 1250), {}


def _two_blocks_at_a_corner(value, width=2):
    population = grid()
    block(population, 4, 4, 1, width, value)
    cells = block(population, 5, 4 + width, 1, width, value)  # touches the first only at a corner
    return population, cells, {}


def _sduc_two_km():
    population = grid(size=20)
    block(population, 2, 2, 3, 3, 5000)  # a dense urban cluster (45 000)
    cells = block(population, 2, 7, 3, 3, 800)  # 2 km away edge to edge, 3 rings of 8 neighbours
    return population, cells, {}


def _block_of(value, size=3):
    def build():
        population = grid()
        return population, block(population, 5, 5, size, size, value), {}
    return build


def _diagonal(value, n=6):
    def build():
        population = grid()
        cells = (np.arange(4, 4 + n), np.arange(4, 4 + n))
        population[cells] = value
        return population, cells, {}
    return build


def _water_cell(population_value=0.0, land_value=0.0, built_value=None):
    def build():
        population, land = grid(), np.ones((14, 14))
        population[3, 3], land[3, 3] = population_value, land_value
        options = {"land_share": land}
        if built_value is not None:
            built = np.zeros((14, 14))
            built[3, 3] = built_value
            options["built_share"] = built
        return population, (3, 3), options
    return build


def _two_centres_around_a_cell():
    # Centre A (rows 2-12, cols 2-6) and centre B (rows 6-7, cols 8-12, 60 000): cell (7, 7)
    # has 3 neighbours in A and 2 in B, 5 in some centre but at most 3 in the same one.
    population = grid()
    block(population, 2, 2, 11, 5, 6000)
    block(population, 6, 8, 2, 5, 6000)
    return population, (7, 7), {}


M, F = Rules(), flexurba_base()
FLEXURBA_CASES = [
    # (key, grid builder, base rules, class with base, changed rules, class with them)
    ("urban_centre.use_built_share", _built_only, M, 23, changed_from(M, "urban_centre", use_built_share=False), 22),
    ("urban_centre.built_share_of", _built_per_land, M, 22, changed_from(M, "urban_centre", built_share_of="land"), 23),
    ("urban_centre.edge_smoothing", _two_centres_around_a_cell, M, 30, changed_from(M, "urban_centre", edge_smoothing="R2022A"), 12),
    ("urban_centre.population_window", _checkerboard, M, 22, changed_from(M, "urban_centre", population_window=3), 30),
    ("urban_cluster.population_window", _moderate_on_empty, M, 22, changed_from(M, "urban_cluster", population_window=3), 13),
    ("urban_cluster.include_centres", lambda: _built_only(0.6, 200), M, 13, changed_from(M, "urban_cluster", include_centres=False), 12),
    ("dense_urban_cluster.density", _block_of(1300), F, 22, changed_from(F, "dense_urban_cluster", density=1200), 23),
    ("dense_urban_cluster.contiguity", lambda: _two_blocks_at_a_corner(2000), F, 22, changed_from(F, "dense_urban_cluster", contiguity=8), 23),
    ("dense_urban_cluster.use_built_share", lambda: _built_only(0.3), F, 23, changed_from(F, "dense_urban_cluster", use_built_share=False), 22),
    ("dense_urban_cluster.built_share", lambda: _built_only(0.3), F, 23, changed_from(F, "dense_urban_cluster", built_share=0.35), 22),
    ("semi_dense_urban_cluster.distance_shape", _sduc_two_km, M, 21, changed_from(M, "semi_dense_urban_cluster", distance_shape="square"), 22),
    ("semi_dense_urban_cluster.density", _block_of(800), F, 21, changed_from(F, "semi_dense_urban_cluster", density=700), 22),
    ("semi_dense_urban_cluster.contiguity", lambda: _two_blocks_at_a_corner(1000), F, 13, changed_from(F, "semi_dense_urban_cluster", contiguity=8), 22),
    ("suburban.density", _block_of(600), F, 21, changed_from(F, "suburban", density=700), 13),
    ("suburban.population", _block_of(600), F, 21, changed_from(F, "suburban", population=6000), 13),
    ("suburban.contiguity", _diagonal(1000), F, 21, changed_from(F, "suburban", contiguity=4), 13),
    ("rural_cluster.contiguity", _diagonal(400, n=2), F, 13, changed_from(F, "rural_cluster", contiguity=4), 12),
    ("water.land_share_below", _water_cell(land_value=0.3), M, 11, changed_from(M, "water", land_share_below=0.5), 10),
    ("water.population_at_most", _water_cell(population_value=1), M, 11, changed_from(M, "water", population_at_most=2), 10),
    ("water.built_share_at_most", _water_cell(built_value=0.1), M, 10, changed_from(M, "water", built_share_at_most=0), 11),
    ("water.nodata_population", _water_cell(population_value=np.nan), M, 255, changed_from(M, "water", nodata_population="water"), 10),
    ("level2.clusters", lambda: _built_only(0.6, 200), M, 13, changed_from(M, "level2", clusters="independent"), 12),
]


@pytest.mark.parametrize("key, build, base, base_class, rules, new_class", FLEXURBA_CASES, ids=[c[0] for c in FLEXURBA_CASES])
def test_each_flexurba_key_decides_its_cells(key, build, base, base_class, rules, new_class):
    population, cells, options = build()
    assert (classes(population, base, **options)[cells] == base_class).all()
    assert (classes(population, rules, **options)[cells] == new_class).all()
    assert list(rules.differences(base)) == [key]


def test_r2023a_majority_counts_only_land_or_populated_neighbours():
    # Cell (6, 7) has 4 of its 8 neighbours in the centre and 2 that are unpopulated and
    # mostly land-less (not counted): 4 of 6 counted neighbours is a strict majority.
    population, land = grid(), np.ones((14, 14))
    block(population, 2, 2, 4, 10, 6000)   # centre: rows 2-5 (240 000)
    population[6, 6] = 6000                # a fourth neighbour of (6, 7) in the centre
    population[7, 6:9] = 0                 # below (6, 7): unpopulated ...
    land[7, 7:9] = 0.2                     # ... and two of them mostly water
    rules = changed("urban_centre", edge_smoothing="R2023A")
    # Neighbours of (6, 7): (5, 6), (5, 7), (5, 8), (6, 6) centre; (6, 8) not; (7, 6) land;
    # (7, 7), (7, 8) not counted: 4 of 6 counted -> joins. The manual's rule needs 5 of 8.
    assert classes(population, None, land_share=land)[6, 7] != 30
    assert classes(population, rules, land_share=land)[6, 7] == 30
    # Permanent water (no people, no built-up, < 50 % land) never joins, whatever its neighbours.
    population[6, 7], land[6, 7] = 0, 0.1
    assert classes(population, rules, land_share=land)[6, 7] != 30


def test_optimal_built_share_is_the_mean_built_up_share_of_dense_clusters_rounded_up():
    population, built = grid(size=20), np.zeros((20, 20))
    built[block(population, 2, 2, 3, 3, 2000)] = 0.3    # dense cluster of 18 000, built-up 0.3
    built[block(population, 2, 10, 2, 2, 2000)] = 0.41  # dense cluster of 8 000, built-up 0.41
    c = block(population, 12, 12, 3, 3, 200)           # not dense by density (1 800 persons)
    built[c] = 0.34
    # (9 × 0.3 + 4 × 0.41) / 13 = 0.3338... -> 0.34: block c (built-up 0.34) is dense (13: a
    # rural cluster of dense cells), with 0.35 it would not be.
    rules = changed("urban_centre", built_share="optimal")
    result = classify_grid(population, built_share=built, rules=rules)
    assert result.rules.urban_centre.built_share == 0.34
    assert "urban_centre.built_share = optimal (0.34)" in result.rules.name
    assert (result.level2[c] == 13).all()
    built[c] = 0.339
    assert (classify_grid(population, built_share=built, rules=rules).level2[c] == 12).all()
    with pytest.raises(GisError, match=r'urban_centre\.built_share = "optimal" needs a built-up raster'):
        classify_grid(population, rules=rules)


def test_flexurba_r2023a_semi_dense_clusters_have_their_own_thresholds():
    # The cell: a 3 x 3 block of 1 000 (9 000 persons): the manual's rules make it
    # semi-dense only as part of an urban cluster of >= 5 000; flexurba's defaults from 900
    # per km² and 2 500 persons. A 2 x 2 block of 1 000 (4 000) is semi-dense only for flexurba.
    population = grid(size=20)
    big = block(population, 2, 2, 3, 3, 1000)
    small = block(population, 12, 12, 2, 2, 1000)
    manual, flexurba = classes(population), classes(population, flexurba_base())
    assert (manual[big] == 22).all() and (manual[small] == 13).all()
    assert (flexurba[big] == 22).all() and (flexurba[small] == 22).all()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[urban_cluster]\ncontiguity = 5\n", r"urban_cluster\.contiguity is 5; allowed: 4 or 8"),
        ("[semi_dense_urban_cluster]\ndistance_km = 'error'\n", r"semi_dense_urban_cluster\.distance_km is 'error'; allowed: a number"),
        ("[urban_centre]\nbuilt_share = 'best'\n", r"urban_centre\.built_share is 'best'; allowed: a number from 0.01 to 1 or \"optimal\""),
        ("[urban_centre]\nedge_smoothing = 'R2024A'\n", r"edge_smoothing is 'R2024A'; allowed: \"manual-2021\" or \"R2022A\""),
        ("[urban_centre]\npopulation_window = 4\n", r"population_window is 4; allowed: an odd integer"),
        ("[urban_centre]\nuse_built_share = 5\n", r"use_built_share is 5; allowed: true or false"),
        ("[semi_dense_urban_cluster]\ndensity = 900\n", r'semi_dense_urban_cluster\.density can only be set with \[level2\] clusters = "independent"'),
    ],
)
def test_bad_flexurba_style_keys_are_one_line_naming_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GisError, match=message) as error:
        load_rules(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_flexurba_parameters_translate_and_refuse_what_flexurba_refuses():
    from gis.degurba.rules import flexurba_rules

    assert flexurba_rules({}).values() == flexurba_base().values()
    rules = flexurba_rules({"UC_gap_fill": False, "UC_smooth_edge_fun": "majority_rule_R2022A", "SDUC_buffer_size": 3})
    assert rules.urban_centre.max_hole_km2 == 0 and rules.urban_centre.edge_smoothing == "R2022A"
    assert rules.semi_dense_urban_cluster.distance_km == 3
    for bad, message in [
        ({"UCL_contiguity_rule": 5}, r"urban_cluster\.contiguity is 5"),
        ({"UC_density_threshold": "error"}, r"urban_centre\.density is 'error'"),
        ({"UC_gap_fill": 5}, r"UC_gap_fill is 5"),
        ({"wrongvalue": True}, r"wrongvalue not valid"),
    ]:
        with pytest.raises(GisError, match=message):
            flexurba_rules(bad)
    with pytest.raises(GisError, match=r"DUC_size_threshold not valid for Level 1"):
        flexurba_rules({"DUC_size_threshold": 6000}, level1=True)
