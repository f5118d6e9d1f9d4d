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

# section -> key -> (kind, low, high, what it is). kind "int" takes TOML integers only, "number"
# integers or floats; "choice" takes one of the listed integers. Bounds are inclusive.
SCHEMA: dict[str, dict[str, tuple]] = {
    "urban_centre": {
        "density": ("number", 0.0, 1e6, "persons per km² of land at or above which a cell is dense"),
        "population": ("number", 0.0, 1e9, "minimum population of an urban centre, persons"),
        "contiguity": ("choice", (4, 8), None, "grouping of dense cells: 4 (edges) or 8 (edges and corners)"),
        "smoothing_neighbours": ("int", 1, 9, "of 8 neighbours in an urban centre that make a cell join it (9: no smoothing)"),
        "max_hole_km2": ("number", 0.0, 1000.0, "holes smaller than this (km²) are filled (0: none)"),
        "built_share": ("number", 0.01, 1.0, "built-up share at or above which a cell is dense (with a built-up raster)"),
    },
    "urban_cluster": {
        "density": ("number", 0.0, 1e6, "persons per km² of land at or above which a cell is moderate"),
        "population": ("number", 0.0, 1e9, "minimum population of an urban cluster, persons"),
        "contiguity": ("choice", (4, 8), None, "grouping of urban-cluster cells: 4 or 8"),
    },
    "dense_urban_cluster": {
        "population": ("number", 0.0, 1e9, "minimum population of a dense urban cluster, persons"),
    },
    "semi_dense_urban_cluster": {
        "population": ("number", 0.0, 1e9, "minimum population of a semi-dense urban cluster, persons"),
        "distance_km": ("number", 0.0, 50.0, "no cell within this distance (km, edge to edge) of an urban centre or dense urban cluster"),
    },
    "rural_cluster": {
        "density": ("number", 0.0, 1e6, "persons per km² of land of rural-cluster cells"),
        "population": ("number", 0.0, 1e9, "minimum population of a rural cluster, persons"),
    },
    "low_density_rural": {
        "density": ("number", 0.0, 1e6, "persons per km² of land of low density rural cells"),
    },
    "units": {
        "city_share": ("number", 0.01, 1.0, "share of a unit's population in urban centres that makes it a city"),
        "rural_share": ("number", 0.01, 1.0, "share of a unit's population in rural grid cells that makes it rural"),
    },
}


@dataclass(frozen=True)
class UrbanCentreRules:
    """Urban centres (and what makes a cell dense). Units: persons/km² of land, persons, km²."""

    density: float = 1500.0
    population: float = 50_000.0
    contiguity: int = 4
    smoothing_neighbours: int = 5
    max_hole_km2: float = 15.0
    built_share: float = 0.5


@dataclass(frozen=True)
class UrbanClusterRules:
    """Urban clusters. Units: persons/km² of land, persons."""

    density: float = 300.0
    population: float = 5_000.0
    contiguity: int = 8


@dataclass(frozen=True)
class DenseUrbanClusterRules:
    """Dense urban clusters (dense cells as for urban centres). Units: persons."""

    population: float = 5_000.0


@dataclass(frozen=True)
class SemiDenseUrbanClusterRules:
    """Semi-dense urban clusters. Units: persons, km (edge to edge)."""

    population: float = 5_000.0
    distance_km: float = 2.0


@dataclass(frozen=True)
class RuralClusterRules:
    """Rural clusters. Units: persons/km² of land, persons."""

    density: float = 300.0
    population: float = 500.0


@dataclass(frozen=True)
class LowDensityRuralRules:
    """Low density rural cells. Units: persons/km² of land."""

    density: float = 50.0


@dataclass(frozen=True)
class UnitRules:
    """Stage II shares (0..1) of a unit's population (or land area, with area weights)."""

    city_share: float = 0.5
    rural_share: float = 0.5


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
    units: UnitRules = UnitRules()

    def values(self) -> dict[str, float | int]:
        """Every rule as ``"section.key" -> value``, in :data:`SCHEMA` order."""
        return {
            f"{section}.{key}": getattr(getattr(self, section), key)
            for section, keys in SCHEMA.items() for key in keys
        }

    def differences(self, other: "Rules | None" = None) -> dict[str, tuple]:
        """``"section.key" -> (this value, other's value)`` where they differ (default other:
        the 2021 manual)."""
        theirs = (other or Rules()).values()
        return {key: (value, theirs[key]) for key, value in self.values().items() if value != theirs[key]}

    def with_distance(self, distance_km: float | None) -> "Rules":
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
        return f"{self.name}: " + ", ".join(f"{key} = {value:.10g}" for key, (value, _) in changed.items())

    def geotiff_tags(self) -> dict[str, str]:
        """GeoTIFF dataset tags recording these rules: ``DEGURBA_RULES`` (the name) and one
        ``DEGURBA_RULE_<SECTION>_<KEY>`` per rule."""
        tags = {"DEGURBA_RULES": self.name}
        for key, value in self.values().items():
            tags["DEGURBA_RULE_" + key.replace(".", "_").upper()] = f"{value:.10g}"
        return tags


def _kind_name(kind, low, high) -> str:
    if kind == "choice":
        return " or ".join(str(c) for c in low)
    if kind == "int":
        return f"an integer from {low} to {high}"
    return f"a number from {low:g} to {high:g}"


def _check_value(section: str, key: str, value, where: str):
    """``value`` of ``section.key`` converted (float or int), or a GisError naming ``where``."""
    kind, low, high, meaning = SCHEMA[section][key]
    allowed = _kind_name(kind, low, high)
    is_integer = isinstance(value, int) and not isinstance(value, bool)
    is_number = is_integer or isinstance(value, float)
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

    manual = Rules().values()
    rows = []
    for key, value in rules.values().items():
        stage_two = key.startswith("units.")
        rows.append({
            "rule": key,
            "value": float(value),
            "manual_2021": float(manual[key]),
            "applied": "yes" if stage_two or stage_one_applies else "no: official JRC grid (GHS-WUP-DEGURBA) used, its own Stage I",
            "rules": rules.name,
        })
    return pd.DataFrame(rows, columns=["rule", "value", "manual_2021", "applied", "rules"])


__all__ = [
    "Rules", "SCHEMA", "load_rules", "preset_names", "rules_from_mapping", "rules_table", "DEFAULT_PRESET",
]
