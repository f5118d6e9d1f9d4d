"""Options shared by several commands, declared once (as ``rio``'s ``options.py``).

Numbers are checked here, at the boundary, with the range they may take: a year, a distance or
a count outside it is one line naming the option and the range, before any work starts.
"""

from __future__ import annotations

import math
from pathlib import Path

import click

#: Years a statistical table can speak of.
YEARS = click.IntRange(1949, 2100)


class FiniteFloat(click.ParamType):
    """A finite float within ``[low, high]`` (NaN and infinities refused, unlike click.FloatRange)."""

    name = "number"

    def __init__(self, low: float, high: float):
        self.low, self.high = low, high

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            self.fail(f"{value!r} is outside {self.low:g} to {self.high:g}", param, ctx)
        return number

    def get_metavar(self, param, ctx=None):
        return f"[{self.low:g}-{self.high:g}]"


class LazyChoice(click.Choice):
    """A Choice whose values come from the library on first use, so declaring it imports nothing."""

    def __init__(self, load):
        self._load = load
        self.case_sensitive = True

    @property
    def choices(self):
        return self._load()


def _basemaps():
    from gis.maps.spec import BASEMAPS

    return BASEMAPS


def province(allow_all: bool = True):
    return click.option(
        "--province", default="330000", show_default=True,
        help="6-digit province adcode" + (", or 'all' for the whole country." if allow_all else "."),
    )


def data(name: str = "data_paths"):
    """``--data`` (the tables) and ``--sheet`` (parameter ``sheet``: which sheet of a workbook)."""
    return _together(
        click.option(
            "--data", name, multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Your indicator table (.csv or .xlsx, see 'gis template'); repeat for several.",
        ),
        click.option(
            "--sheet", default=None, metavar="NAME",
            help="Sheet of the --data workbooks to read (default: the sheet named 'data', else the first).",
        ),
    )


allow_unmatched = click.option(
    "--allow-unmatched", is_flag=True, help="Leave out table rows that match no unit (they are still reported).")
year = click.option(
    "--year", type=YEARS, default=None,
    help="Year of --data tables that have no year column or years in their headers.")
overwrite = click.option("--overwrite", is_flag=True, help="Replace existing outputs.")
population = click.option(
    "--population", "population_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Population raster (any CRS and resolution: GHS-POP, WorldPop).")
population_values = click.option(
    "--population-values", "values_kind", type=click.Choice(["counts", "density"]), default="counts",
    show_default=True, help="The population raster holds persons per cell or persons per km².")
sduc_distance = click.option(
    "--sduc-distance-km", type=FiniteFloat(0, 50), default=None,
    help="Shortcut: D of the semi-dense urban cluster rule, km edge to edge; overrides the rules' "
         "semi_dense_urban_cluster.distance_km (manual-2021: 2, ghsl-r2023a: 3).")
rules = click.option(
    "--rules", "rules_name", default="manual-2021", show_default=True, metavar="NAME|FILE",
    help="Degree of Urbanisation rules: a preset (manual-2021, flexurba-r2023a, ghsl-r2023a) or a rules file (.toml) "
         "setting only the keys it changes (see gis/degurba/rules.py).")
weights = click.option(
    "--weights", type=click.Choice(["census", "area"]), default="census", show_default=True,
    help="Without --population: weight the units by census totals spread over the official grid (an estimate; "
         "a --data table's resident_population replaces the census), or by area.")


def _together(*decorators):
    """One decorator applying ``decorators`` in the order written (top first, as stacked)."""
    def apply(function):
        for decorator in reversed(decorators):
            function = decorator(function)
        return function
    return apply


#: What ``gis build`` and ``gis map`` both assemble from: users' tables, and the Degree of
#: Urbanisation's inputs (parameters data_paths, allow_unmatched, year; population_path,
#: values_kind, rules_name, sduc_distance_km, weights).
tables = _together(data(), allow_unmatched, year)
degurba_inputs = _together(population, population_values, rules, sduc_distance, weights)

basemap = click.option(
    "--basemap", type=LazyChoice(_basemaps), default=None,
    help="Background tiles of the maps; overrides the specs ('none' needs no network; tianditu needs env TIANDITU_KEY).")


class IslandsChoice(click.ParamType):
    """``exclude`` or ``knn:K`` (K from 1 to 10): what LISA does with units without a neighbour."""

    name = "exclude|knn:K"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple) or value == "exclude":
            return value
        text = str(value)
        if text.startswith("knn:") and text[4:].isdigit() and 1 <= int(text[4:]) <= 10:
            return ("knn", int(text[4:]))
        self.fail(f"{value!r}: expected 'exclude' or 'knn:K' with K from 1 to 10", param, ctx)

#: Users' polygon files (``gis.units.user_units.read_user_units``): which layer, and whether
#: features without a geometry are left out (reported) rather than refused.
units_layer = click.option("--layer", "units_layer", default=None, metavar="NAME",
                           help="Layer of the --units file to read (required when it has several).")
skip_invalid = click.option("--skip-invalid", is_flag=True, default=False,
                            help="Leave out (and list) --units features with a null or empty geometry instead of stopping.")
