"""Degree of Urbanisation for a province's units, end to end (called by ``gis build``).

With a population raster: Stage I on the GHSL 1 km grid around the province (our engine,
:mod:`gis.degurba`), Stage II with population weights, and a comparison with the official
GHS-WUP-DEGURBA grid over the province's cells. Without one: the official grid
(:mod:`gis.degurba.official`) and Stage II weighted by the 2020 census totals spread over that
grid by fitted class densities (``degurba_weights = "census_dasymetric"``, an estimate, see
:mod:`gis.degurba.census_weights`), or, on request (``weights="area"``), by **area**
(``degurba_weights = "area"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.degurba.census_weights import CENSUS_WEIGHTS, METHOD, dasymetric_units
from gis.degurba.classify import NODATA, classify_grid, level1_from_level2
from gis.degurba.grid import GHSL_CRS, GhslWindow, buffer_window, snap_bounds
from gis.degurba.official import (
    ATTRIBUTION,
    Agreement,
    agreement,
    cells_touching,
    official_grid,
)
from gis.degurba.population import read_population
from gis.degurba.rasters import ClassGrid, class_polygons
from gis.degurba.rules import Rules, load_rules
from gis.degurba.zonal import degurba_units
from gis.errors import GisError

#: Population around the province also classified (km), so clusters crossing the border are
#: judged with their population outside it.
DEFAULT_MARGIN_KM = 20


@dataclass(frozen=True)
class DegurbaResult:
    """Degree of Urbanisation of a province.

    grid_l2, grid_l1
        :class:`gis.degurba.rasters.ClassGrid` (uint8 ``codes`` + GHSL ``window``/``transform``,
        ESRI:54009) covering the province's bounding box; cells not touching the province are
        255.
    grid_polygons
        GeoDataFrame (EPSG:4326) of ``grid_l2``: ``degurba_l2`` (int), ``class_name``.
    counties, prefectures
        DataFrames with an ``adcode`` column (one row per unit, same order as the boundaries)
        and the Stage II columns of :func:`gis.degurba.zonal.classify_units` (``pop_*`` or
        ``area_km2_*``, ``share_*``, ``degurba_l1``, ``degurba_l2``, names, ``degurba_weights``).
    weights
        ``"population"`` (our grid from a population raster), ``"census_dasymetric"`` (official
        grid, census totals spread by fitted class densities; ``"user_dasymetric"`` for units
        whose totals came from a user's table) or ``"area"`` (official grid, by area).
    agreement
        :class:`gis.degurba.official.Agreement` of our grid vs the official one over the province's
        cells, or None without a population raster.
    source
        Where the classes come from, with the required attribution and the rules.
    sduc_distance_km
        D used for semi-dense clusters (km; only meaningful when ``stage_one_applies``).
    rules
        :class:`gis.degurba.rules.Rules` used: all of them with a population raster; only the
        Stage II shares (``units.*``) with the official grid, whose Stage I is the JRC's.
    stage_one_applies
        True when the grid was classified here with ``rules`` (population raster given).
    class_density
        With census weights: the fitted density of every density class per province (the
        populated Level 2 classes, the urban centre by depth band; the ``degurba_class_density``
        table); else None.
    population_estimate
        With census weights: persons per 1 km cell on ``grid_l2``'s window (float32, NaN outside
        every unit), the estimate the classes were weighted with; else None.
    notes
        Lines for the build's report (e.g. a user's totals used).
    """

    grid_l2: ClassGrid
    grid_l1: ClassGrid
    grid_polygons: gpd.GeoDataFrame
    counties: pd.DataFrame
    prefectures: pd.DataFrame
    weights: str
    agreement: Agreement | None
    source: str
    sduc_distance_km: float
    class_density: pd.DataFrame | None = None
    population_estimate: np.ndarray | None = None
    notes: tuple[str, ...] = ()
    rules: Rules = Rules()
    stage_one_applies: bool = True

    @property
    def rules_note(self) -> str:
        """One line for outputs and map legends: which rules shaped these classes."""
        if self.stage_one_applies:
            return f"rules {self.rules.describe()}"
        shares = self.rules.units
        return (
            f"grid: official JRC GHS-WUP-DEGURBA (its own Stage I rules, not {self.rules.name}); "
            f"units: city share {shares.city_share:g}, rural share {shares.rural_share:g} ({self.rules.name})"
        )

    def geotiff_tags(self) -> dict[str, str]:
        """Tags recording the rules in the class GeoTIFFs (only the shares apply to an
        official grid, so then only the source is recorded)."""
        if self.stage_one_applies:
            return self.rules.geotiff_tags()
        return {"DEGURBA_RULES": "official JRC GHS-WUP-DEGURBA grid (its own Stage I rules)"}


def _crop(codes: np.ndarray, outer: GhslWindow, inner: GhslWindow) -> np.ndarray:
    r0, c0 = inner.row_off - outer.row_off, inner.col_off - outer.col_off
    return codes[r0:r0 + inner.height, c0:c0 + inner.width]


def degurba_for_units(
    boundaries,
    population_path=None,
    sduc_distance_km: float | None = None,
    progress: Callable[[str], None] | None = None,
    population_values: str = "counts",
    margin_km: int = DEFAULT_MARGIN_KM,
    rules: Rules | str | None = None,
    weights: str = "census",
    user_rows: pd.DataFrame | None = None,
) -> DegurbaResult:
    """Degree of Urbanisation of ``boundaries``' counties and prefectures.

    Parameters
    ----------
    boundaries
        :class:`gis.units.boundaries.Boundaries` (EPSG:4326 frames with ``adcode``).
    population_path
        Population raster (any CRS/resolution, counts unless ``population_values="density"``).
        None: use the official GHS-WUP-DEGURBA 2025 grid (weights as ``weights`` says).
    sduc_distance_km
        D of the semi-dense urban cluster rule (km, edge to edge), overriding the rules';
        only with a population. None: the rules' value.
    progress
        Called with a short message at each stage (e.g. ``click.echo`` to stderr).
    margin_km
        Population this far (km) around the province's bounding box is classified too.
    rules
        :class:`gis.degurba.rules.Rules`, a preset name or a rules file (default: the 2021
        manual). Without a population raster only its Stage II shares apply.
    weights
        Without a population raster: ``"census"`` (default; census totals spread over the
        official grid, :mod:`gis.degurba.census_weights`) or ``"area"``.
    user_rows
        Users' long indicator rows; their ``resident_population`` replaces the census figure
        of the same units in the census weights.
    """
    if weights not in ("census", "area"):
        raise GisError(f"weights {weights!r}: expected 'census' or 'area'")
    say = progress or (lambda message: None)
    rules = load_rules(rules).with_distance(sduc_distance_km)
    province_54009 = boundaries.province.to_crs(GHSL_CRS)
    window = snap_bounds(tuple(province_54009.total_bounds))
    province_cells = cells_touching(province_54009.geometry.values, window)
    codes_l1 = None

    if population_path is None:
        say("sampling the official GHS-WUP-DEGURBA 2025 grid over the province")
        grid_l2 = official_grid(window, province_cells, progress=say)
        population, report = None, None
        if weights == "area":
            source = (f"{ATTRIBUTION}; Stage II weighted by area (no population raster), shares of rules {rules.name} "
                      f"(its Stage I rules do not apply to the official grid)")
        else:
            # Short enough for a map's credit line; the method is in the class density table
            # (column method), the estimate GeoTIFF's tags and the README.
            source = (f"{ATTRIBUTION}; Stage II weighted by 2020 census resident population (gis/data/census/, "
                      "or your table's) spread over the grid by fitted class densities: an estimate")
    else:
        outer = buffer_window(window, int(margin_km))
        say(f"reading {population_path} onto the GHSL 1 km grid")
        population_layer = read_population(population_path, outer, values=population_values)
        say(f"classifying {outer.height} x {outer.width} cells ({rules.describe()})")
        classes = classify_grid(population_layer.values, rules=rules)
        rules = classes.rules  # with an "optimal" built-up share, the value computed
        codes = _crop(classes.level2, outer, window).copy()
        codes[~province_cells] = NODATA
        grid_l2 = ClassGrid(codes, window)
        # Level 1 as classified: with independent Level 2 clusters it is not a lookup of Level 2.
        codes_l1 = _crop(classes.level1, outer, window).copy()
        codes_l1[~province_cells] = NODATA
        population = _crop(population_layer.values, outer, window)
        say("sampling the official grid for comparison")
        official = official_grid(window, province_cells, progress=say)
        report = agreement(grid_l2.codes, official.codes, province_cells)
        say(f"agreement with the official grid: {report.percent_same:.1f}% of {report.cells_compared} cells")
        weights = "population"  # the raster's own population; --weights does not apply
        source = (
            f"Degree of Urbanisation (gis-urban-rural) from {Path(population_path).name} on the GHSL 1 km grid, "
            f"rules {rules.describe()}; compared with {ATTRIBUTION}"
        )

    class_density, estimate, notes = None, None, ()
    if population_path is None and weights == "census":
        say("Stage II weighted by census totals spread over the grid (estimate)")
        fitted = dasymetric_units(boundaries, grid_l2.codes, window, user_rows=user_rows, progress=say, rules=rules)
        counties, prefectures = fitted.counties, fitted.prefectures
        class_density, estimate, notes = fitted.class_density, fitted.population, tuple(fitted.notes)
        class_density["method"] = METHOD
        class_density["source"] = source
        weights = CENSUS_WEIGHTS
    else:
        say("Stage II: counties and prefectures (exact coverage fractions)")
        counties = degurba_units(boundaries.counties, grid_l2.codes, window, population, rules=rules)
        prefectures = degurba_units(boundaries.prefectures, grid_l2.codes, window, population, rules=rules)
    say("polygonising the class grid")
    polygons = class_polygons(grid_l2.codes, window.transform)
    result = DegurbaResult(
        grid_l2=grid_l2,
        grid_l1=ClassGrid(level1_from_level2(grid_l2.codes) if codes_l1 is None else codes_l1, window),
        grid_polygons=polygons,
        counties=counties,
        prefectures=prefectures,
        weights=weights,
        agreement=report,
        source=source,
        sduc_distance_km=rules.semi_dense_urban_cluster.distance_km,
        rules=rules,
        stage_one_applies=population_path is not None,
        class_density=class_density,
        population_estimate=estimate,
        notes=notes,
    )
    # The rules travel with every unit (the maps' legend note reads this column).
    for frame in (counties, prefectures):
        frame["degurba_rules"] = result.rules_note
    return result
