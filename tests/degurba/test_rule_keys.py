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
    tested = {case[0].split("=")[0].split(" ")[0] for case in CASES}
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
        ("based_on = 'ghsl'\n", r"based_on is 'ghsl'; allowed: ghsl-r2023a, manual-2021"),
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
    with pytest.raises(GisError, match=r"--rules nope: not a preset \(ghsl-r2023a, manual-2021\)"):
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
