"""What ``gis build`` and ``gis map`` assemble before writing anything.

:func:`assemble` reads a province's boundaries, the indicator values shipped for it plus any
user tables (validated and joined, :mod:`gis.tables.join`), the Degree of Urbanisation of its
units (:mod:`gis.degurba.units`: our engine on a population raster, or the official
GHS-WUP-DEGURBA grid weighted by census totals spread over it, or by area on request), and joins
them into one table per layer source (:func:`gis.build.layers.build_layers`). Writing is left to
the commands, so the same tables feed the GeoPackage and the maps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gis.build.layers import build_layers, combine_indicators, drop_overridden
from gis.degurba.units import DegurbaResult, degurba_for_units
from gis.errors import GisError
from gis.tables.indicators import seed_indicators
from gis.tables.join import load_user_tables
from gis.tables.report import JoinError, JoinReport
from gis.units.boundaries import NATIONAL, Boundaries, load_boundaries, province_name_en


@dataclass(frozen=True)
class Assembled:
    """Inputs of one build.

    ``tables`` maps each layer source (``province``, ``prefectures``, ``counties``,
    ``degurba_grid``, ``indicators``, ``sources``) to its frame, spatial ones in EPSG:4326.
    ``degurba`` is None when it was not asked for; ``join_report`` is None without user tables.
    """

    boundaries: Boundaries
    tables: dict[str, pd.DataFrame]
    degurba: DegurbaResult | None
    join_report: JoinReport | None

    @property
    def rasters(self) -> dict[tuple[str, str], object]:
        """Class rasters behind polygon layers, keyed by (layer, column): maps draw the grid
        from the raster (one small image) rather than from its polygons."""
        if self.degurba is None:
            return {}
        return {("degurba_grid", "degurba_l2"): self.degurba.grid_l2}

    @property
    def place(self) -> tuple[str, str]:
        """Chinese and English name of the build's area (``浙江省``, ``Zhejiang``; ``全国``,
        ``China``), for map titles."""
        code = self.boundaries.code
        return ("全国" if code == NATIONAL else self.boundaries.name), province_name_en(code)


def check_weights(weights: str, population_path) -> None:
    """Raise :class:`GisError` for a Stage II weighting that cannot go with the inputs."""
    if weights not in ("census", "area"):
        raise GisError(f"--weights {weights}: expected census or area")
    if population_path is not None and weights == "area":
        raise GisError("--weights area is for the official grid; with --population the units are weighted by that population")


def assemble(
    province: str = "330000",
    data_paths=(),
    allow_unmatched: bool = False,
    year: int | None = None,
    with_degurba: bool = True,
    population_path: Path | None = None,
    population_values: str = "counts",
    sduc_distance_km: float | None = None,
    progress: Callable[[str], None] | None = None,
    rules=None,
    weights: str = "census",
    sheet: str | None = None,
) -> Assembled:
    """Boundaries, indicators (shipped + ``data_paths``) and DEGURBA joined into layer tables.

    Parameters
    ----------
    province
        6-digit province adcode or ``"all"``.
    data_paths
        Users' tables (CSV/XLSX, see :func:`gis.tables.join.load_user_tables`). A user's value
        replaces a shipped one for the same unit, year and indicator, and each replacement
        is reported; two user tables giving one value twice is an error naming both.
    allow_unmatched, year
        As for :func:`gis.tables.join.load_user_tables`. On a join problem the report is passed to
        ``progress`` line by line before :class:`gis.tables.join.JoinError` is raised.
    with_degurba
        Classify the units with the Degree of Urbanisation (adds ``degurba_*`` columns and the
        ``degurba_grid`` table).
    population_path, population_values, sduc_distance_km
        Population raster (counts or persons/km²) for our engine; None: the official grid with
        area weights. See :func:`gis.degurba.units.degurba_for_units`. ``sduc_distance_km``
        overrides the rules' distance (None: the rules').
    rules
        :class:`gis.degurba.rules.Rules`, a preset name or a rules file (None: manual-2021).
    progress
        Called with one short message per stage.
    weights
        Without a population raster: ``"census"`` (census totals, or a user table's
        ``resident_population``, spread over the official grid; the default) or ``"area"``.
    sheet
        Worksheet of the XLSX ``data_paths`` (default: ``data``, else the first).
    """
    check_weights(weights, population_path)
    say = progress or (lambda message: None)
    say(f"reading boundaries of {province}")
    boundaries = load_boundaries(province)
    shipped = seed_indicators(boundaries.code)
    user, report = None, None
    if data_paths:
        say(f"reading {len(data_paths)} table(s): {', '.join(str(p) for p in data_paths)}")
        try:
            user, report = load_user_tables(data_paths, boundaries, allow_unmatched=allow_unmatched, default_year=year, sheet=sheet)
        except JoinError as error:
            for line in error.report.summary().splitlines():
                say(line)
            raise
        for line in report.summary().splitlines():
            say(line)
        shipped, replaced = drop_overridden(shipped, user)
        for message in replaced:
            say(f"note: {message}")
    indicators = combine_indicators(shipped, user)
    degurba = None
    if with_degurba:
        degurba = degurba_for_units(
            boundaries,
            population_path=population_path,
            sduc_distance_km=sduc_distance_km,
            population_values=population_values,
            progress=say,
            rules=rules,
            weights=weights,
            user_rows=user,
        )
        for note in degurba.notes:
            say(note)
    tables = build_layers(boundaries, indicators, degurba)
    return Assembled(boundaries, tables, degurba, report)
