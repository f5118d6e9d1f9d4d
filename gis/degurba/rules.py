"""Every rule of the Degree of Urbanisation as a parameter: rule files and presets.

A rules file is TOML with the sections and keys of :data:`SCHEMA` (densities in persons per
km² of permanent land, populations in persons per cluster, distances in km, areas in km²,
shares 0..1). A user's file may set only the keys it changes; the others come from the preset
named by its optional top-level ``based_on`` key (default ``manual-2021``, the 2021 manual).
Presets are TOML files shipped in ``gis/degurba/presets/``: ``manual-2021`` (the default) and
``ghsl-r2023a`` (GHSL's published grids; each difference and its source is in the file).

Validation follows the map specs: an unknown section or key, a value of the wrong type or out
of range is one :class:`gis.errors.GisError` line naming the file, the key and what is allowed.

Which rule each key is (Stage I on the grid, Stage II on units):

- ``urban_centre.density``: a cell is *dense* at ≥ this density (also for dense urban clusters).
- ``urban_centre.population``: dense groups of ≥ this population are urban centres; dense
  urban clusters are below it.
- ``urban_centre.contiguity``: 4 or 8; how dense cells are grouped (urban centres and dense
  urban clusters: both are groups of the same dense cells).
- ``urban_centre.smoothing_neighbours``: a valid cell with at least this many of its 8
  neighbours in an urban centre joins it (repeated until nothing changes); 9 turns smoothing off.
- ``urban_centre.max_hole_km2``: holes (4-connected non-UC regions not touching the grid
  edge) with an area smaller than this are filled; 0 turns hole filling off.
- ``urban_centre.built_share``: with a built-up raster, a cell of at least this built-up share
  is dense.
- ``urban_cluster.density`` / ``population`` / ``contiguity``: moderate cells (or dense, or UC)
  grouped with this contiguity; groups of ≥ this population are urban clusters.
- ``dense_urban_cluster.population``: dense non-UC groups of ≥ this (and < the urban-centre
  population) inside an urban cluster are dense urban clusters.
- ``semi_dense_urban_cluster.population`` / ``distance_km``: the other urban-cluster cells,
  grouped with the urban-cluster contiguity; a group of ≥ this population with no cell within
  this distance (edge to edge, inclusive) of a UC or DUC cell is semi-dense.
- ``rural_cluster.density`` / ``population``: cells outside urban clusters of ≥ this density
  (or dense), grouped with the urban-cluster contiguity; groups of ≥ this population.
- ``low_density_rural.density``: other cells of ≥ this density are low density rural (12).
- ``units.city_share`` / ``rural_share``: a unit is a city when at least this share of its
  population lives in urban centres, else rural when at least ``rural_share`` lives in rural
  grid cells.

Keys that express the flexurba R package's parameters (GHSL R2023A; the README's table maps
each flexurba parameter to its key; the preset ``flexurba-r2023a`` is flexurba's defaults).
Their defaults are the manual's behaviour, so ``manual-2021`` classifies as before:

- ``urban_centre.use_built_share`` (the built-up criterion at all), ``built_share_of`` (``cell``
  or ``land``: built-up per permanent land, rounded to 3 decimals), ``built_share = "optimal"``
  (GHSL's Reduce Fragmentation Option, computed from the grid and reported in the name),
  ``edge_smoothing`` (``manual-2021``, ``R2022A``, ``R2023A``, ``off``), ``population_window``
  (moving mean of population before centres are found; 1: none).
- ``urban_cluster.population_window``; ``include_centres`` (our choice 4: dense and centre
  cells count as moderate; flexurba: false).
- ``level2.clusters``: ``nested`` (ours: the Level 2 classes divide the urban clusters) or
  ``independent`` (GHSL R2023A: each class its own groups of its own density, contiguity and
  population, taking the cells no denser class took). Only ``independent`` uses
  :data:`INDEPENDENT_ONLY` keys: ``dense_urban_cluster.density`` / ``contiguity`` /
  ``use_built_share`` / ``built_share``, ``semi_dense_urban_cluster.density`` /
  ``contiguity``, ``suburban.*``, ``rural_cluster.contiguity`` (``"urban_centre"`` /
  ``"urban_cluster"``: that section's value).
- ``semi_dense_urban_cluster.distance_shape``: ``edge_to_edge`` (a disc) or ``square`` (GHSL's
  buffer: ``distance_km`` rings of the 8 neighbours).
- ``water.land_share_below`` (0: exactly 0), ``population_at_most``, ``built_share_at_most``
  (1: any), ``nodata_population`` (``nodata``, or ``water``: cells without population data
  are water when land and built-up say so).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from gis.errors import GisError

#: Folder of the shipped presets (package data).
PRESETS_DIR = Path(__file__).resolve().parent / "presets"
#: The preset used when no rules are named.
DEFAULT_PRESET = "manual-2021"
#: Edge smoothing rules: ``manual-2021`` (a valid cell with at least ``smoothing_neighbours`` of
#: its 8 neighbours in any urban centre joins), ``R2022A`` (at least ``smoothing_neighbours`` of
#: 8 in the same centre), ``R2023A`` (a strict majority of the neighbours that are land or
#: populated, in the same centre; permanent water never joins), ``off``.
EDGE_SMOOTHING = ("manual-2021", "R2022A", "R2023A", "off")

# section -> key -> (kind, low, high, what it is). kind "int" takes TOML integers only, "number"
# integers or floats; "choice" takes one of the listed integers. Bounds are inclusive.
SCHEMA: dict[str, dict[str, tuple]] = {
    "urban_centre": {
        "density": ("number", 0.0, 1e6, "persons per km² of land at or above which a cell is dense"),
        "population": ("number", 0.0, 1e9, "minimum population of an urban centre, persons"),
        "contiguity": ("choice", (4, 8), None, "grouping of dense cells: 4 (edges) or 8 (edges and corners)"),
        "smoothing_neighbours": ("int", 1, 9, "of 8 neighbours in an urban centre that make a cell join it (9: no smoothing)"),
        "max_hole_km2": ("number", 0.0, 1000.0, "holes smaller than this (km²) are filled (0: none)"),
        "built_share": ("number", 0.01, 1.0, 'built-up share at or above which a cell is dense (with a built-up raster), or "optimal"', ("optimal",)),
        "use_built_share": ("bool", None, None, "whether the built-up criterion applies at all (true or false)"),
        "built_share_of": ("text", ("cell", "land"), None, "built-up share of the whole cell or of its permanent land (rounded to 3 decimals, as GHSL)"),
        "edge_smoothing": ("text", EDGE_SMOOTHING, None, "majority rule that smooths urban-centre edges"),
        "population_window": ("int", 1, 15, "odd window (cells) of the moving mean of population before urban centres are found (1: none)"),
    },
    "urban_cluster": {
        "density": ("number", 0.0, 1e6, "persons per km² of land at or above which a cell is moderate"),
        "population": ("number", 0.0, 1e9, "minimum population of an urban cluster, persons"),
        "contiguity": ("choice", (4, 8), None, "grouping of urban-cluster cells: 4 or 8"),
        "population_window": ("int", 1, 15, "odd window (cells) of the moving mean of population before urban clusters are found (1: none)"),
        "include_centres": ("bool", None, None, "whether dense and urban-centre cells always count as moderate (true or false)"),
    },
    "dense_urban_cluster": {
        "population": ("number", 0.0, 1e9, "minimum population of a dense urban cluster, persons"),
        "density": ("number", 0.0, 1e6, 'persons per km² of land of its cells, or "urban_centre"', ("urban_centre",)),
        "contiguity": ("choice", (4, 8), None, 'grouping of its cells: 4 or 8, or "urban_centre"', ("urban_centre",)),
        "use_built_share": ("bool", None, None, 'whether the built-up criterion applies (true or false), or "urban_centre"', ("urban_centre",)),
        "built_share": ("number", 0.01, 1.0, 'built-up share that makes its cells dense, "optimal" or "urban_centre"', ("optimal", "urban_centre")),
    },
    "semi_dense_urban_cluster": {
        "population": ("number", 0.0, 1e9, "minimum population of a semi-dense urban cluster, persons"),
        "distance_km": ("number", 0.0, 50.0, "no cell within this distance (km) of an urban centre or dense urban cluster"),
        "distance_shape": ("text", ("edge_to_edge", "square"), None, "edge_to_edge (a disc, edge to edge) or square (rings of 8 neighbours, as GHSL's buffer)"),
        "density": ("number", 0.0, 1e6, 'persons per km² of land of its cells, or "urban_cluster" (the other urban-cluster cells)', ("urban_cluster",)),
        "contiguity": ("choice", (4, 8), None, 'grouping of its cells: 4 or 8, or "urban_cluster"', ("urban_cluster",)),
    },
    "suburban": {
        "density": ("number", 0.0, 1e6, 'persons per km² of land of suburban cells, or "urban_cluster" (the other urban-cluster cells)', ("urban_cluster",)),
        "population": ("number", 0.0, 1e9, 'minimum population of a suburban cluster, or "urban_cluster"', ("urban_cluster",)),
        "contiguity": ("choice", (4, 8), None, 'grouping of suburban cells: 4 or 8, or "urban_cluster"', ("urban_cluster",)),
    },
    "rural_cluster": {
        "density": ("number", 0.0, 1e6, "persons per km² of land of rural-cluster cells"),
        "population": ("number", 0.0, 1e9, "minimum population of a rural cluster, persons"),
        "contiguity": ("choice", (4, 8), None, 'grouping of rural-cluster cells: 4 or 8, or "urban_cluster"', ("urban_cluster",)),
    },
    "low_density_rural": {
        "density": ("number", 0.0, 1e6, "persons per km² of land of low density rural cells"),
    },
    "water": {
        "land_share_below": ("number", 0.0, 1.0, "water cells have a permanent-land share below this (0: exactly 0)"),
        "population_at_most": ("number", 0.0, 1e9, "water cells have at most this population, persons"),
        "built_share_at_most": ("number", 0.0, 1.0, "water cells have at most this built-up share (1: any)"),
        "nodata_population": ("text", ("nodata", "water"), None, "cells without population data: nodata (255), or water when land and built-up say so"),
    },
    "level2": {
        "clusters": (
            "text",
            ("nested", "independent"),
            None,
            "nested (Level 2 classes divide the urban clusters) or independent (each class its own clusters, GHSL R2023A)",
        ),
    },
    "units": {
        "city_share": ("number", 0.01, 1.0, "share of a unit's population in urban centres that makes it a city"),
        "rural_share": ("number", 0.01, 1.0, "share of a unit's population in rural grid cells that makes it rural"),
        "level2": (
            "text",
            ("largest_share", "combined_shares", "pairwise"),
            None,
            "Level 2 of towns and rural areas: largest_share (ours), combined_shares or pairwise (flexurba's two rule sets)",
        ),
        "cell_weights": (
            "text",
            ("coverage", "cell_centres"),
            None,
            "coverage (exact coverage fractions; flexurba's alternative workflow) or cell_centres (GHSL's official workflow: "
            "units rasterised at cell centres, units without a centre take the cells they touch)",
        ),
        "no_population": (
            "text",
            ("rural", "land_area"),
            None,
            "a unit without population: rural (1/11) or classified by the land area of each class (GHSL, flexurba)",
        ),
    },
}

#: Keys that only the independent Level 2 clusters use: with ``level2.clusters = "nested"`` they
#: must keep their "same as" value (the nested rules derive those classes from the urban clusters).
INDEPENDENT_ONLY = {
    "dense_urban_cluster.density": "urban_centre",
    "dense_urban_cluster.contiguity": "urban_centre",
    "dense_urban_cluster.use_built_share": "urban_centre",
    "dense_urban_cluster.built_share": "urban_centre",
    "semi_dense_urban_cluster.density": "urban_cluster",
    "semi_dense_urban_cluster.contiguity": "urban_cluster",
    "suburban.density": "urban_cluster",
    "suburban.population": "urban_cluster",
    "suburban.contiguity": "urban_cluster",
    "rural_cluster.contiguity": "urban_cluster",
}


@dataclass(frozen=True)
class UrbanCentreRules:
    """Urban centres (and what makes a cell dense). Units: persons/km² of land, persons, km²."""

    density: float = 1500.0
    population: float = 50_000.0
    contiguity: int = 4
    smoothing_neighbours: int = 5
    max_hole_km2: float = 15.0
    built_share: float | str = 0.5
    use_built_share: bool = True
    built_share_of: str = "cell"
    edge_smoothing: str = "manual-2021"
    population_window: int = 1


@dataclass(frozen=True)
class UrbanClusterRules:
    """Urban clusters. Units: persons/km² of land, persons."""

    density: float = 300.0
    population: float = 5_000.0
    contiguity: int = 8
    population_window: int = 1
    include_centres: bool = True


@dataclass(frozen=True)
class DenseUrbanClusterRules:
    """Dense urban clusters (dense cells as for urban centres unless set). Units: persons,
    persons/km² of land; ``"urban_centre"``: the urban centre's value."""

    population: float = 5_000.0
    density: float | str = "urban_centre"
    contiguity: int | str = "urban_centre"
    use_built_share: bool | str = "urban_centre"
    built_share: float | str = "urban_centre"


@dataclass(frozen=True)
class SemiDenseUrbanClusterRules:
    """Semi-dense urban clusters. Units: persons, km (edge to edge)."""

    population: float = 5_000.0
    distance_km: float = 2.0
    distance_shape: str = "edge_to_edge"
    density: float | str = "urban_cluster"
    contiguity: int | str = "urban_cluster"


@dataclass(frozen=True)
class SuburbanRules:
    """Suburban or peri-urban cells (21): with nested clusters the other urban-cluster cells;
    with independent clusters their own groups. ``"urban_cluster"``: the urban cluster's value."""

    density: float | str = "urban_cluster"
    population: float | str = "urban_cluster"
    contiguity: int | str = "urban_cluster"


@dataclass(frozen=True)
class RuralClusterRules:
    """Rural clusters. Units: persons/km² of land, persons."""

    density: float = 300.0
    population: float = 500.0
    contiguity: int | str = "urban_cluster"


@dataclass(frozen=True)
class LowDensityRuralRules:
    """Low density rural cells. Units: persons/km² of land."""

    density: float = 50.0


@dataclass(frozen=True)
class WaterRules:
    """Water cells (10). Shares 0..1, persons; ``land_share_below = 0`` means land share exactly 0."""

    land_share_below: float = 0.0
    population_at_most: float = 0.0
    built_share_at_most: float = 1.0
    nodata_population: str = "nodata"

    def land_is_water(self, land_share):
        """Cells whose land share makes them water (NaN: unknown, not water)."""
        import numpy as np

        with np.errstate(invalid="ignore"):
            if self.land_share_below == 0:
                return land_share == 0
            return land_share < self.land_share_below


@dataclass(frozen=True)
class Level2Rules:
    """How the Level 2 urban classes are found: ``nested`` or ``independent``."""

    clusters: str = "nested"


@dataclass(frozen=True)
class UnitRules:
    """Stage II shares (0..1) of a unit's population (or land area, with area weights)."""

    city_share: float = 0.5
    rural_share: float = 0.5
    level2: str = "largest_share"
    cell_weights: str = "coverage"
    no_population: str = "rural"


@dataclass(frozen=True)
class Rules:
    """All rules of the Degree of Urbanisation, by section as in a rules file.

    ``name`` says where they come from: a preset name, a file path, plus any override (e.g.
    ``"manual-2021, semi_dense_urban_cluster.distance_km = 3"``). The defaults are the 2021
    manual's (``manual-2021``).
    """

    name: str = DEFAULT_PRESET
    urban_centre: UrbanCentreRules = UrbanCentreRules()
    urban_cluster: UrbanClusterRules = UrbanClusterRules()
    dense_urban_cluster: DenseUrbanClusterRules = DenseUrbanClusterRules()
    semi_dense_urban_cluster: SemiDenseUrbanClusterRules = SemiDenseUrbanClusterRules()
    rural_cluster: RuralClusterRules = RuralClusterRules()
    low_density_rural: LowDensityRuralRules = LowDensityRuralRules()
    water: WaterRules = WaterRules()
    level2: Level2Rules = Level2Rules()
    units: UnitRules = UnitRules()
    suburban: SuburbanRules = SuburbanRules()

    def values(self) -> dict[str, float | int]:
        """Every rule as ``"section.key" -> value``, in :data:`SCHEMA` order."""
        return {
            f"{section}.{key}": getattr(getattr(self, section), key)
            for section, keys in SCHEMA.items() for key in keys
        }

    def differences(self, other: Rules | None = None) -> dict[str, tuple]:
        """``"section.key" -> (this value, other's value)`` where they differ (default other:
        the 2021 manual)."""
        theirs = (other or Rules()).values()
        return {key: (value, theirs[key]) for key, value in self.values().items() if value != theirs[key]}

    def with_distance(self, distance_km: float | None) -> Rules:
        """These rules with the semi-dense distance set (``None``: unchanged); the name says so."""
        if distance_km is None or float(distance_km) == self.semi_dense_urban_cluster.distance_km:
            return self
        _check_value("semi_dense_urban_cluster", "distance_km", distance_km, "--sduc-distance-km")
        return replace(
            self,
            name=f"{self.name}, semi_dense_urban_cluster.distance_km = {float(distance_km):.10g}",
            semi_dense_urban_cluster=replace(self.semi_dense_urban_cluster, distance_km=float(distance_km)),
        )

    def describe(self) -> str:
        """One line: the name and the rules that differ from the 2021 manual."""
        changed = self.differences()
        if not changed:
            return f"{self.name} (the 2021 manual's rules)"
        return f"{self.name}: " + ", ".join(f"{key} = {format_value(value)}" for key, (value, _) in changed.items())

    def geotiff_tags(self) -> dict[str, str]:
        """GeoTIFF dataset tags recording these rules: ``DEGURBA_RULES`` (the name) and one
        ``DEGURBA_RULE_<SECTION>_<KEY>`` per rule."""
        tags = {"DEGURBA_RULES": self.name}
        for key, value in self.values().items():
            tags["DEGURBA_RULE_" + key.replace(".", "_").upper()] = format_value(value)
        return tags

    # --- values with "same as" resolved ------------------------------------------------------

    @property
    def independent(self) -> bool:
        """Whether each Level 2 class is its own clustering (``level2.clusters = "independent"``)."""
        return self.level2.clusters == "independent"

    def resolved(self, section: str, key: str):
        """The value of ``section.key`` with ``"urban_centre"`` / ``"urban_cluster"`` replaced
        by that section's value of the same key."""
        value = getattr(getattr(self, section), key)
        if value in ("urban_centre", "urban_cluster") and section not in ("urban_centre", "urban_cluster"):
            return getattr(getattr(self, value), key)
        return value

    def with_built_share(self, section: str, value: float, note: str) -> Rules:
        """These rules with ``section.built_share`` set to ``value`` (the optimal threshold once
        computed); the name says so."""
        return replace(
            self, name=f"{self.name}, {section}.built_share = {note}",
            **{section: replace(getattr(self, section), built_share=float(value))},
        )


def format_value(value) -> str:
    """A rule's value as text: numbers with up to 10 significant digits, booleans as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"{value:.10g}"
    return str(value)


def _kind_name(kind, low, high, texts=()) -> str:
    if kind == "choice":
        allowed = " or ".join(str(c) for c in low)
    elif kind == "text":
        allowed = " or ".join(f'"{c}"' for c in low)
    elif kind == "bool":
        allowed = "true or false"
    elif kind == "int":
        allowed = f"an integer from {low} to {high}"
    else:
        allowed = f"a number from {low:g} to {high:g}"
    return allowed + "".join(f' or "{text}"' for text in texts)


def _check_value(section: str, key: str, value, where: str):
    """``value`` of ``section.key`` converted (float or int), or a GisError naming ``where``."""
    kind, low, high, meaning, *rest = SCHEMA[section][key]
    texts = rest[0] if rest else ()
    allowed = _kind_name(kind, low, high, texts)
    if isinstance(value, str) and value in texts:
        return value
    is_integer = isinstance(value, int) and not isinstance(value, bool)
    is_number = is_integer or isinstance(value, float)
    if kind == "text":
        if value not in low:
            raise GisError(f"{where}: {section}.{key} is {value!r}; allowed: {allowed} ({meaning})")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise GisError(f"{where}: {section}.{key} is {value!r}; allowed: {allowed} ({meaning})")
        return value
    if key.endswith("population_window") and is_integer and value % 2 == 0:
        raise GisError(f"{where}: {section}.{key} is {value!r}; allowed: an odd integer from {low} to {high} ({meaning})")
    if kind == "choice":
        if not is_integer or value not in low:
            raise GisError(f"{where}: {section}.{key} is {value!r}; allowed: {allowed} ({meaning})")
        return int(value)
    if kind == "int":
        if not is_integer or not low <= value <= high:
            raise GisError(f"{where}: {section}.{key} is {value!r}; allowed: {allowed} ({meaning})")
        return int(value)
    if not is_number or not math.isfinite(value) or not low <= value <= high:
        raise GisError(f"{where}: {section}.{key} is {value!r}; allowed: {allowed} ({meaning})")
    return float(value)


def preset_names() -> list[str]:
    """Names of the shipped presets (file stems in :data:`PRESETS_DIR`)."""
    return sorted(path.stem for path in PRESETS_DIR.glob("*.toml"))


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise GisError(f"{path}: not valid TOML ({error})") from None
    except OSError as error:
        raise GisError(f"{path}: cannot read the rules file ({error.strerror})") from None


def rules_from_mapping(document: dict, where: str, base: Rules | None = None, name: str | None = None) -> Rules:
    """Rules from a parsed rules file (``where`` names it in errors): the keys it sets over
    ``base`` (default: its ``based_on`` preset, else the 2021 manual)."""
    document = dict(document)
    based_on = document.pop("based_on", None)
    if based_on is not None:
        if not isinstance(based_on, str) or based_on not in preset_names():
            raise GisError(f"{where}: based_on is {based_on!r}; allowed: {', '.join(preset_names())}")
        if base is None:
            base = load_rules(based_on)
    base = base or Rules()
    sections = {}
    for section, table in document.items():
        if section not in SCHEMA:
            raise GisError(
                f"{where}: unknown section or key {section!r}; allowed: based_on, [{'], ['.join(SCHEMA)}]"
            )
        if not isinstance(table, dict):
            raise GisError(f"{where}: {section} must be a table ([{section}]), got {table!r}")
        changes = {}
        for key, value in table.items():
            if key not in SCHEMA[section]:
                raise GisError(f"{where}: unknown key {section}.{key}; allowed in [{section}]: {', '.join(SCHEMA[section])}")
            changes[key] = _check_value(section, key, value, where)
        sections[section] = replace(getattr(base, section), **changes)
    rules = replace(base, name=name or where, **sections)
    _check_consistent(rules, where)
    return rules


def _check_consistent(rules: Rules, where: str) -> None:
    """Rules that only make sense together (one line naming both keys)."""
    if rules.independent:
        return  # each class is its own clustering: any thresholds are consistent
    for name, inherited in INDEPENDENT_ONLY.items():
        section, key = name.split(".")
        if getattr(getattr(rules, section), key) != inherited:
            raise GisError(
                f'{where}: {name} can only be set with [level2] clusters = "independent" '
                f'(nested Level 2 classes take it from {inherited}); remove it or set clusters = "independent"'
            )
    if rules.urban_centre.population < rules.urban_cluster.population:
        raise GisError(
            f"{where}: urban_centre.population ({rules.urban_centre.population:g}) must be at least "
            f"urban_cluster.population ({rules.urban_cluster.population:g}): every urban centre lies in an urban cluster"
        )


def load_rules(name_or_path=None) -> Rules:
    """The rules named by ``name_or_path``: ``None`` (the 2021 manual), a preset name
    (:func:`preset_names`), or the path of a rules file (TOML; it may set only the keys it
    changes). Raises :class:`GisError` for an unknown name, a missing file or a bad key."""
    if name_or_path is None:
        name_or_path = DEFAULT_PRESET
    if isinstance(name_or_path, Rules):
        return name_or_path
    text = str(name_or_path)
    if text in preset_names():
        path = PRESETS_DIR / f"{text}.toml"
        return rules_from_mapping(_read_toml(path), str(path), base=Rules(), name=text)
    path = Path(text)
    if not path.is_file():
        raise GisError(
            f"--rules {text}: not a preset ({', '.join(preset_names())}) nor an existing rules file (.toml)"
        )
    return rules_from_mapping(_read_toml(path), str(path))


def rules_table(rules: Rules, stage_one_applies: bool = True):
    """The rules as a table (pandas DataFrame) for the GeoPackage's ``degurba_rules`` layer:
    ``rule`` (section.key), ``value``, ``manual_2021`` (the manual's value), ``applied`` (whether
    the rule shaped these results: Stage I rules do not when the official grid was used) and
    ``rules`` (the name of the rule set), one row per rule."""
    import pandas as pd

    def number(value):
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if is_number else math.nan

    manual = Rules().values()
    rows = []
    for key, value in rules.values().items():
        stage_two = key.startswith("units.")
        rows.append({
            "rule": key,
            "value": number(value),
            "manual_2021": number(manual[key]),
            "value_text": format_value(value),
            "manual_2021_text": format_value(manual[key]),
            "applied": "yes" if stage_two or stage_one_applies else "no: official JRC grid (GHS-WUP-DEGURBA) used, its own Stage I",
            "rules": rules.name,
        })
    columns = ["rule", "value", "manual_2021", "value_text", "manual_2021_text", "applied", "rules"]
    return pd.DataFrame(rows, columns=columns)


__all__ = [
    "Rules", "SCHEMA", "load_rules", "preset_names", "rules_from_mapping", "rules_table", "DEFAULT_PRESET",
]


# --- flexurba's parameters -------------------------------------------------------------------

#: flexurba's grid parameters (``DoU_get_grid_parameters()``, Level 1 and Level 2 sets) -> the
#: key of these rules (``None``: no key; see :func:`flexurba_rules` for how each is translated).
FLEXURBA_KEYS = {
    "UC_density_threshold": "urban_centre.density",
    "UC_size_threshold": "urban_centre.population",
    "UC_contiguity_rule": "urban_centre.contiguity",
    "UC_built_criterium": "urban_centre.use_built_share",
    "UC_built_threshold": "urban_centre.built_share",
    "built_optimal_data": None,
    "UC_smooth_pop": "urban_centre.population_window",
    "UC_smooth_pop_window": "urban_centre.population_window",
    "UC_gap_fill": "urban_centre.max_hole_km2",
    "UC_max_gap": "urban_centre.max_hole_km2",
    "UC_smooth_edge": "urban_centre.edge_smoothing",
    "UC_smooth_edge_fun": "urban_centre.edge_smoothing",
    "UCL_density_threshold": "urban_cluster.density",
    "UCL_size_threshold": "urban_cluster.population",
    "UCL_contiguity_rule": "urban_cluster.contiguity",
    "UCL_smooth_pop": "urban_cluster.population_window",
    "UCL_smooth_pop_window": "urban_cluster.population_window",
    "DUC_density_threshold": "dense_urban_cluster.density",
    "DUC_size_threshold": "dense_urban_cluster.population",
    "DUC_built_criterium": "dense_urban_cluster.use_built_share",
    "DUC_built_threshold": "dense_urban_cluster.built_share",
    "DUC_contiguity_rule": "dense_urban_cluster.contiguity",
    "SDUC_density_threshold": "semi_dense_urban_cluster.density",
    "SDUC_size_threshold": "semi_dense_urban_cluster.population",
    "SDUC_contiguity_rule": "semi_dense_urban_cluster.contiguity",
    "SDUC_buffer_size": "semi_dense_urban_cluster.distance_km",
    "SUrb_density_threshold": "suburban.density",
    "SUrb_size_threshold": "suburban.population",
    "SUrb_contiguity_rule": "suburban.contiguity",
    "RC_density_threshold": "rural_cluster.density",
    "RC_size_threshold": "rural_cluster.population",
    "RC_contiguity_rule": "rural_cluster.contiguity",
    "LDR_density_threshold": "low_density_rural.density",
    "water_land_threshold": "water.land_share_below",
    "water_pop_threshold": "water.population_at_most",
    "water_built_threshold": "water.built_share_at_most",
}
#: The parameters of flexurba's Level 1 set (the others are Level 2 only).
FLEXURBA_LEVEL1 = frozenset(name for name in FLEXURBA_KEYS if not name.startswith(("DUC_", "SDUC_", "SUrb_", "RC_", "LDR_")))
FLEXURBA_PRESET = "flexurba-r2023a"


def flexurba_rules(parameters: dict, level1: bool = False) -> Rules:
    """These rules for flexurba's ``DoU_classify_grid(parameters = list(...), level1 = ...)``:
    the ``flexurba-r2023a`` preset with each given parameter set on its key (:data:`FLEXURBA_KEYS`).

    Pairs become one key: ``UC_smooth_pop`` + ``UC_smooth_pop_window`` a ``population_window``
    (FALSE: 1), ``UC_gap_fill`` + ``UC_max_gap`` ``max_hole_km2`` (FALSE: 0), ``UC_smooth_edge``
    + ``UC_smooth_edge_fun`` ``edge_smoothing`` (FALSE: ``off``; ``majority_rule_R2022A``:
    ``R2022A``). As flexurba does, Level 2 ignores ``UC_smooth_pop``, and Level 1 computes an
    ``"optimal"`` built-up share from dense clusters of ``UC_density_threshold``,
    ``UCL_size_threshold`` and ``UC_contiguity_rule`` (here: the dense-urban-cluster keys,
    which Level 1 does not otherwise use). A name flexurba would refuse is a GisError.
    """
    allowed = FLEXURBA_LEVEL1 if level1 else set(FLEXURBA_KEYS)
    unknown = sorted(set(parameters) - allowed)
    if unknown:
        raise GisError(f"flexurba parameters: {', '.join(unknown)} not valid for Level {1 if level1 else 2}")
    given = dict(parameters)
    sections: dict[str, dict] = {}

    def put(key, value):
        section, name = key.split(".")
        sections.setdefault(section, {})[name] = value

    for prefix, section in (("UC", "urban_centre"), ("UCL", "urban_cluster")):
        smooth, window = given.pop(f"{prefix}_smooth_pop", None), given.pop(f"{prefix}_smooth_pop_window", 5)
        if smooth is not None and not isinstance(smooth, bool):
            raise GisError(f"flexurba parameters: {prefix}_smooth_pop is {smooth!r}; allowed: TRUE or FALSE")
        if smooth and not (level1 is False and prefix == "UC"):
            put(f"{section}.population_window", window)
    gap_fill, max_gap = given.pop("UC_gap_fill", True), given.pop("UC_max_gap", 15)
    if not isinstance(gap_fill, bool):
        raise GisError(f"flexurba parameters: UC_gap_fill is {gap_fill!r}; allowed: TRUE or FALSE")
    put("urban_centre.max_hole_km2", max_gap if gap_fill else 0)
    smooth_edge, edge_fun = given.pop("UC_smooth_edge", True), given.pop("UC_smooth_edge_fun", "majority_rule_R2023A")
    if not isinstance(smooth_edge, bool):
        raise GisError(f"flexurba parameters: UC_smooth_edge is {smooth_edge!r}; allowed: TRUE or FALSE")
    if edge_fun not in ("majority_rule_R2022A", "majority_rule_R2023A"):
        raise GisError(f"flexurba parameters: UC_smooth_edge_fun is {edge_fun!r}; allowed: majority_rule_R2022A, majority_rule_R2023A")
    put("urban_centre.edge_smoothing", edge_fun.rsplit("_", 1)[1] if smooth_edge else "off")
    given.pop("built_optimal_data", None)
    if level1:
        # Level 1's optimal built-up share: dense clusters of the urban centre's density and
        # contiguity and the urban cluster's size (DoU_classify_grid, classify_grid_level1).
        put("dense_urban_cluster.density", given.get("UC_density_threshold", 1500))
        put("dense_urban_cluster.population", given.get("UCL_size_threshold", 5000))
        put("dense_urban_cluster.contiguity", given.get("UC_contiguity_rule", 4))
        put("dense_urban_cluster.built_share", "urban_centre")
    for name, value in given.items():
        put(FLEXURBA_KEYS[name], value)
    where = "flexurba parameters"
    rules = rules_from_mapping(sections, where, base=load_rules(FLEXURBA_PRESET), name=f"{FLEXURBA_PRESET} (flexurba parameters)")
    return rules


__all__ += ["FLEXURBA_KEYS", "flexurba_rules"]
