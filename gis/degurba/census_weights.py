"""Stage II weighted by census population spread over a class grid (``census_dasymetric``).

Glue between the units, their census totals and the estimator of :mod:`gis.degurba.dasymetric`:

1. **Totals** (:func:`unit_totals`): the shipped 2020 census (:mod:`gis.tables.census`) per
   province, prefecture and county, each replaced by a user's ``resident_population`` where a
   ``--data`` table gives one (reported).
2. **Fit rows** (:func:`fit_rows`), on the finest level that has totals: a county with its own
   figure is a row; the counties of a prefecture without figures form one row holding the
   prefecture's total minus its counties that have one (its "remainder"), and likewise up to the
   province. A county without a figure is thus fitted from its parent, never given an invented
   number. A negative remainder (children adding up to more than the parent) is an error.
3. **Fit and spread** (:func:`dasymetric_units`): exact coverage of the grid's cells by the
   counties (exactextract, ESRI:54009, km²); one density per density class (a Level 2 class,
   the urban centre's per depth band, :mod:`gis.degurba.dasymetric`) fitted per province (the
   country's densities differ too much for one vector), depth measured within the province;
   each row's total spread over its cells;
   Stage II (:func:`gis.degurba.zonal.classify_units`) on the counties' class populations, and
   on the prefectures' as sums of their counties' (prefectures are unions of counties in the
   boundary data, so a prefecture's estimate adds up to its census total too);
   ``degurba_l1_stable`` from :func:`gis.degurba.dasymetric.level1_stable`.
4. **The population grid**: persons per 1 km cell (float32; NaN outside every unit), the
   estimate itself, for ``<slug>_population_estimate.tif``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from gis.degurba.classify import L2_NAMES, MANUAL_RULES, NODATA
from gis.degurba.dasymetric import (
    DENSITY_CLASSES,
    N_DENSITY_CLASSES,
    SLOT_OF_CODE,
    class_areas,
    density_class_bounds,
    density_class_labels,
    depth_label,
    fit_class_densities,
    level1_stable,
    piece_density_classes,
    spread_totals,
    unit_class_population,
    unplaced_rows,
)
from gis.degurba.grid import GHSL_CRS, GhslWindow
from gis.degurba.zonal import CLASS_COLUMNS, MAX_NODATA_SHARE, classify_units, drop_classes, unclassified_area, unit_cell_coverage
from gis.errors import GisError
from gis.tables.census import CENSUS_YEAR, census_population

#: ``degurba_weights`` values: totals from the shipped census, or from a user's table.
CENSUS_WEIGHTS = "census_dasymetric"
USER_WEIGHTS = "user_dasymetric"
METHOD = (
    "population estimated by volume-preserving dasymetric mapping: one density per Level 2 grid class, "
    "the urban centre's per band of depth (km to its edge: 1, 2, 3-4, 5-8, >= 9; deeper at least as dense), "
    "fitted per province by bounded least squares on relative residuals (bounds from the class "
    "definitions: 30/23 >= 1500 (<= 30000 ours), 22/21/13 300-1500, 12 50-300, 11 < 50 persons/km2), "
    "each unit's total spread over its cells by fitted density x exact covered area (gis.degurba.dasymetric)"
)


@dataclass(frozen=True)
class DasymetricUnits:
    """Result of :func:`dasymetric_units`.

    counties, prefectures
        Stage II frames (``adcode`` first, one row per unit in the boundaries' order):
        ``pop_*``, ``share_*``, ``degurba_l1``/``_l2`` and names, ``degurba_weights``
        (``census_dasymetric`` / ``user_dasymetric``), ``population_<year>`` (persons),
        ``density_<year>`` (persons/km² of the unit's area), ``population_basis``,
        ``fit_relative_residual`` and ``degurba_l1_stable``.
    class_density
        One row per fit region (province) and density class (the populated Level 2 classes,
        the urban centre's five depth bands each, ``depth_km``): fitted density, bounds, area,
        population, residuals (the ``degurba_class_density`` table).
    population
        Persons per cell on the class grid's window (float32, NaN outside every unit).
    year
        Year of the totals (2020 for the census; a user table's year when it gives them).
    notes
        Plain-language lines for the build's report (users' totals used, unplaced totals).
    """

    counties: pd.DataFrame
    prefectures: pd.DataFrame
    class_density: pd.DataFrame
    population: np.ndarray
    year: int
    notes: list[str] = field(default_factory=list)


def unit_totals(boundaries, user_rows: pd.DataFrame | None = None) -> tuple[pd.DataFrame, int, list[str]]:
    """Totals per ``(adcode, level)`` for ``boundaries``' units; a user's figures replace the census.

    ``user_rows``: long-form rows (``adcode``, ``year``, ``indicator``, ``value``, ``source``)
    from users' tables; those with ``indicator == "resident_population"`` of their latest year
    replace the census figure of the unit at every level its code stands for. Returns the
    totals (``adcode, level, name, year, value, source, origin`` with ``origin`` ``census`` or
    ``user``), the year of the user's figures (2020 without) and notes.
    """
    census = census_population().assign(origin="census")
    levels = {"province": boundaries.province, "prefecture": boundaries.prefectures, "county": boundaries.counties}
    keep = pd.concat([frame[["adcode"]].assign(level=level) for level, frame in levels.items()], ignore_index=True)
    totals = census.merge(keep, on=["adcode", "level"], how="inner")
    notes: list[str] = []
    year = CENSUS_YEAR
    if user_rows is not None and not user_rows.empty:
        mine = user_rows[user_rows["indicator"] == "resident_population"]
        if not mine.empty:
            year = int(mine["year"].max())
            older = mine[mine["year"] < year]
            mine = mine[mine["year"] == year]
            if len(older):
                notes.append(f"note: your resident_population of {year} is used; {len(older)} value(s) of earlier years are not")
            replacing = keep[keep["adcode"].isin(set(mine["adcode"]))].merge(
                mine[["adcode", "name", "year", "value", "source"]], on="adcode"
            ).assign(origin="user")
            totals = pd.concat(
                [totals[~totals.set_index(["adcode", "level"]).index.isin(replacing.set_index(["adcode", "level"]).index)],
                 replacing], ignore_index=True,
            )
            notes.append(
                f"note: Degree of Urbanisation refitted on your resident_population {year} for {mine['adcode'].nunique()} unit(s)"
                + (f"; the other units keep the {CENSUS_YEAR} census" if year != CENSUS_YEAR else "; the other units keep the census")
            )
    return totals[["adcode", "level", "name", "year", "value", "source", "origin"]], year, notes


def fit_rows(boundaries, totals: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The fit rows of ``boundaries``' counties (see the module docstring).

    Returns ``rows`` (one per fit row: ``total`` persons, ``group`` = province adcode,
    ``kind`` ``county`` / ``prefecture remainder`` / ``province remainder``, ``parent``
    adcode, ``origin`` ``census``/``user``) and, per county (boundaries' order), the index of
    its row (−1: no total anywhere above it, so no estimate).
    """
    value = {(a, lv): (v, o) for a, lv, v, o in zip(totals["adcode"], totals["level"], totals["value"], totals["origin"])}
    counties = boundaries.counties
    prefectures = boundaries.prefectures
    names = {**dict(zip(boundaries.province["adcode"], boundaries.province["name"])),
             **dict(zip(prefectures["adcode"], prefectures["name"]))}
    own = [value.get((a, "county")) for a in counties["adcode"]]
    known_by_prefecture: dict[str, float] = {}
    origins_by_prefecture: dict[str, set] = {}
    for entry, prefecture in zip(own, counties["prefecture_adcode"]):
        if entry is not None:
            known_by_prefecture[prefecture] = known_by_prefecture.get(prefecture, 0.0) + entry[0]
            origins_by_prefecture.setdefault(prefecture, set()).add(entry[1])
    known_by_province: dict[str, float] = {}
    origins_by_province: dict[str, set] = {}
    for prefecture, province in zip(prefectures["adcode"], prefectures["province_adcode"]):
        entry = value.get((prefecture, "prefecture"))
        part, origins = (entry[0], {entry[1]}) if entry else (known_by_prefecture.get(prefecture, 0.0), origins_by_prefecture.get(prefecture, set()))
        known_by_province[province] = known_by_province.get(province, 0.0) + part
        origins_by_province.setdefault(province, set()).update(origins)

    rows: list[dict] = []
    row_of_key: dict[tuple, int] = {}
    county_row = np.full(len(counties), -1, dtype=np.int64)
    for i, (code, prefecture, province) in enumerate(zip(counties["adcode"], counties["prefecture_adcode"], counties["province_adcode"])):
        if own[i] is not None:
            key = ("county", code)
            row = {"total": own[i][0], "group": province, "kind": "county", "parent": code, "origin": own[i][1]}
        else:
            # The nearest ancestor with a total: its remainder once the units inside it that
            # have their own figure are taken out.
            level, parent = next(((lv, a) for lv, a in (("prefecture", prefecture), ("province", province))
                                  if (a, lv) in value), (None, None))
            if level is None:
                continue
            known, origins = (known_by_prefecture, origins_by_prefecture) if level == "prefecture" else (known_by_province, origins_by_province)
            parent_total, parent_origin = value[(parent, level)]
            key = (level, parent)
            row = {"total": parent_total - known.get(parent, 0.0), "group": province, "kind": f"{level} remainder",
                   "parent": parent, "origin": "user" if "user" in origins.get(parent, set()) | {parent_origin} else "census"}
        if key not in row_of_key:
            if row["total"] < -0.5:
                parent = row["parent"]
                raise GisError(
                    f"resident population of {names.get(parent, parent)} {parent} is {parent_total:,.0f}, but the units "
                    f"inside it that have a figure add up to {parent_total - row['total']:,.0f}; expected at most the parent's total "
                    "(check the resident_population of your table)"
                )
            row["total"] = max(row["total"], 0.0)
            row_of_key[key] = len(rows)
            rows.append(row)
        county_row[i] = row_of_key[key]
    return pd.DataFrame(rows, columns=["total", "group", "kind", "parent", "origin"]), county_row


def dasymetric_units(
    boundaries,
    class_codes: np.ndarray,
    window: GhslWindow,
    user_rows: pd.DataFrame | None = None,
    progress=None,
    rules=None,
) -> DasymetricUnits:
    """Census-dasymetric Stage II of ``boundaries``' counties and prefectures on a Level 2 grid.

    ``class_codes`` (uint8, 255 = no data) lie on ``window`` of the GHSL 1 km grid
    (ESRI:54009). ``user_rows``: users' long indicator rows (see :func:`unit_totals`).
    ``rules``: :class:`gis.degurba.rules.Rules` whose Stage II shares classify the units
    (default: the 2021 manual's).
    """
    shares = (rules or MANUAL_RULES).units
    say = progress or (lambda message: None)
    totals, year, notes = unit_totals(boundaries, user_rows)
    rows, county_row = fit_rows(boundaries, totals)
    counties, prefectures = boundaries.counties, boundaries.prefectures

    say("census weights: exact coverage of the grid by the counties")
    county_index, cells, fractions = unit_cell_coverage(counties[["adcode", counties.geometry.name]], window)
    # ~10 M pieces on a national build: compact dtypes, and no copy where every piece is kept.
    county_index = county_index.astype(np.int32)
    codes = class_codes.ravel()[cells]
    row = county_row.astype(np.int32)[county_index]
    fitted_piece = row >= 0
    n_rows = len(rows)
    groups = rows["group"].to_numpy()
    group_codes, group_of_row = np.unique(groups, return_inverse=True)
    group_of_row = group_of_row.astype(np.int32)
    # Density classes, urban-centre depth measured within each province (fit region).
    dclass = piece_density_classes(class_codes, cells, np.where(fitted_piece, group_of_row[np.maximum(row, 0)], -1))
    p_row, p_class, p_area, p_cells = _kept(fitted_piece, row, dclass, fractions, cells)

    # One fit per province: densities per row are those of its province.
    lower, upper = density_class_bounds()
    areas = class_areas(p_row, p_class, p_area, n_rows)
    row_totals = rows["total"].to_numpy(dtype="float64")
    densities_by_row = np.zeros((n_rows, N_DENSITY_CLASSES))
    fitted = np.full(n_rows, np.nan)
    relative = np.full(n_rows, np.nan)
    density_rows = []
    group_names = dict(zip(boundaries.province["adcode"], boundaries.province["name"]))
    labels = density_class_labels()
    for group in pd.unique(groups):
        members = np.flatnonzero(groups == group)
        fit = fit_class_densities(areas[members], row_totals[members], lower, upper)
        densities_by_row[members] = fit.densities
        fitted[members] = fit.fitted
        relative[members] = fit.relative_residuals
        residuals = fit.relative_residuals[fit.used]
        kinds = rows["kind"].to_numpy()[members]
        for k, (code, band) in enumerate(DENSITY_CLASSES):
            density_rows.append({
                "region_adcode": group, "region_name": group_names.get(group, group),
                "degurba_l2": code, "class_name": L2_NAMES[code], "depth_km": depth_label(band),
                "density_class": labels[k],
                "density_fitted": fit.densities[k], "density_lower": lower[k], "density_upper": upper[k],
                "at_bound": bool(np.isclose(fit.densities[k], lower[k]) or np.isclose(fit.densities[k], upper[k])),
                "area_km2": float(areas[members, k].sum()),
                "rows_county": int((kinds == "county").sum()), "rows_parent": int((kinds != "county").sum()),
                "rms_relative_residual": fit.rms_relative_residual,
                "max_abs_relative_residual": float(np.abs(residuals).max()) if residuals.size else np.nan,
            })

    unplaced = unplaced_rows(p_row, p_class, p_area, row_totals)
    if unplaced.any():
        parents = rows.loc[unplaced, "parent"]
        notes.append(f"note: {int(unplaced.sum())} unit(s) have a population but no populated grid cell, "
                     f"so it is not placed: {', '.join(parents)}")

    say("census weights: spreading the totals over the grid and Stage II")
    persons = spread_totals(p_row, p_class, p_area, row_totals, densities_by_row)
    grid = np.bincount(p_cells, weights=persons, minlength=window.height * window.width).astype("float32")
    covered = np.zeros(grid.size, dtype=bool)
    covered[p_cells] = True
    grid[~covered] = np.nan
    grid = grid.reshape(window.shape)
    del covered, p_cells

    # Stage II needs only each county's area per density class (every piece of a county is in
    # its one fit row): the same populations from ~30 000 sums as from ~10 M pieces, so the
    # four vertices of the stability test cost next to nothing.
    n_classes = N_DENSITY_CLASSES
    populated = fitted_piece & (dclass >= 0)
    county_class_area = np.bincount(county_index[populated] * n_classes + dclass[populated],
                                    weights=fractions[populated], minlength=len(counties) * n_classes)
    del populated
    c_county, c_class = np.divmod(np.flatnonzero(county_class_area > 0), n_classes)
    c_area, c_row = county_class_area[c_county * n_classes + c_class], county_row[c_county]

    prefecture_of_county = pd.Index(prefectures["adcode"]).get_indexer(counties["prefecture_adcode"])
    levels = {}
    for level, frame, unit_of_county in (
        ("counties", counties, np.arange(len(counties))),
        ("prefectures", prefectures, prefecture_of_county),
    ):
        n_units = len(frame)
        piece_unit = unit_of_county.astype(np.int32)[county_index]
        unit, u_row, u_class, u_area = _kept(unit_of_county[c_county] >= 0, unit_of_county[c_county], c_row, c_class, c_area)
        people = unit_class_population(unit, u_row, u_class, u_area, row_totals, densities_by_row, n_units)
        stable = level1_stable(unit, u_row, u_class, u_area, row_totals, n_units, lower, upper,
                               shares.city_share, shares.rural_share)
        # The window covers the province, so a unit's pieces are all of its area.
        in_unit = piece_unit >= 0
        area = np.bincount(piece_unit[in_unit], weights=fractions[in_unit], minlength=n_units)
        nodata, _ = unclassified_area(piece_unit[in_unit], fractions[in_unit], codes[in_unit], area)
        has_row = np.bincount(unit_of_county[(county_row >= 0) & (unit_of_county >= 0)], minlength=n_units) > 0
        levels[level] = _stage_two(frame, people, nodata, area, stable, has_row, year, rules)
    county_frame, prefecture_frame = levels["counties"], levels["prefectures"]

    # Where each unit's population comes from, and how well its fit row was fitted.
    value = {(a, lv): o for a, lv, o in zip(totals["adcode"], totals["level"], totals["origin"])}
    kinds = rows["kind"].to_numpy()
    origin_by_row = rows["origin"].to_numpy()
    names = names_of(boundaries)
    county_basis, county_weights = [], []
    for r in county_row:
        if r < 0:
            county_basis.append(None)
            county_weights.append(None)
        elif kinds[r] == "county":
            county_basis.append(f"{'your table' if origin_by_row[r] == 'user' else 'census'} {year}")
            county_weights.append(USER_WEIGHTS if origin_by_row[r] == "user" else CENSUS_WEIGHTS)
        else:
            parent = rows["parent"].iloc[r]
            county_basis.append(f"estimate: share of the remainder of {names.get(parent, parent)} {parent}")
            county_weights.append(USER_WEIGHTS if origin_by_row[r] == "user" else CENSUS_WEIGHTS)
    county_frame["population_basis"] = county_basis
    county_frame["degurba_weights"] = county_weights
    county_frame["fit_relative_residual"] = np.where(county_row >= 0, relative[np.maximum(county_row, 0)], np.nan)

    # A prefecture is the sum of its counties; that equals its own figure unless a user's county
    # figures replace census ones without the prefecture's (then said, and the sum is used).
    prefecture_weights, prefecture_basis = [], []
    figures = {a: v for a, lv, v in zip(totals["adcode"], totals["level"], totals["value"]) if lv == "prefecture"}
    weights_by_prefecture = pd.Series(county_weights, dtype="object").groupby(counties["prefecture_adcode"].to_numpy()).agg(set)
    for code, estimate in zip(prefectures["adcode"], levels["prefectures"]["population_" + str(year)]):
        members = weights_by_prefecture.get(code, set())
        if np.isnan(estimate):
            prefecture_weights.append(None)
            prefecture_basis.append(None)
            continue
        prefecture_weights.append(USER_WEIGHTS if USER_WEIGHTS in members else CENSUS_WEIGHTS)
        origin = value.get((code, "prefecture"))
        if origin is not None and abs(estimate - figures[code]) <= 0.5:
            prefecture_basis.append(f"{'your table' if origin == 'user' else 'census'} {year}")
        else:
            prefecture_basis.append("sum of its counties")
            if origin is not None:
                notes.append(f"note: {names.get(code, code)} {code}: its counties add up to {estimate:,.0f}, its "
                             f"{'figure in your table' if origin == 'user' else 'census total'} is {figures[code]:,.0f}; "
                             "the counties' sum is used")
    prefecture_frame["population_basis"] = prefecture_basis
    prefecture_frame["degurba_weights"] = prefecture_weights
    # A prefecture's residual: of the rows whose counties all lie in it.
    row_prefecture = pd.Series(prefecture_of_county[county_row >= 0]).groupby(county_row[county_row >= 0]).agg(
        lambda s: s.iloc[0] if s.nunique() == 1 else -1)
    whole = row_prefecture[row_prefecture >= 0]
    sums = pd.DataFrame({"prefecture": whole.to_numpy(), "fitted": fitted[whole.index], "total": row_totals[whole.index]})
    sums = sums[np.isfinite(sums["fitted"])].groupby("prefecture")[["fitted", "total"]].sum()
    residual = np.full(len(prefectures), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        residual[sums.index.to_numpy()] = ((sums["fitted"] - sums["total"]) / sums["total"]).to_numpy()
    prefecture_frame["fit_relative_residual"] = residual

    density = pd.DataFrame(density_rows)
    density["population"] = np.nan
    populated = p_class >= 0
    k = N_DENSITY_CLASSES
    per_class = np.bincount(group_of_row[p_row[populated]] * k + p_class[populated], weights=persons[populated],
                            minlength=len(group_codes) * k).reshape(-1, k)
    for g, group in enumerate(group_codes):
        density.loc[density["region_adcode"] == group, "population"] = per_class[g]
    return DasymetricUnits(county_frame, prefecture_frame, density, grid, year, notes)


def names_of(boundaries) -> dict[str, str]:
    """Name of every province and prefecture by adcode."""
    return {**dict(zip(boundaries.province["adcode"], boundaries.province["name"])),
            **dict(zip(boundaries.prefectures["adcode"], boundaries.prefectures["name"]))}


def _kept(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The pieces of ``arrays`` where ``mask`` holds; the arrays themselves when it holds everywhere."""
    if mask.all():
        return arrays
    return tuple(array[mask] for array in arrays)


def _stage_two(frame: pd.DataFrame, people: np.ndarray, nodata_km2: np.ndarray, area_km2: np.ndarray,
               stable: np.ndarray, has_row: np.ndarray, year: int, rules=None) -> pd.DataFrame:
    """Stage II columns of units from their class populations (persons, ``(n, 7)``); units
    without any total (``has_row`` False) get no population and no class (missing, not 0), and
    so do units more than half of whose area (``area_km2``, on the equal-area grid) has no
    class (``nodata_km2``)."""
    columns = {}
    for code, name in CLASS_COLUMNS.items():
        columns["pop_" + name] = people[:, SLOT_OF_CODE[code]] if SLOT_OF_CODE[code] >= 0 else np.zeros(len(frame))
    totals = pd.DataFrame(columns)
    totals["nodata_km2"] = nodata_km2
    with np.errstate(invalid="ignore", divide="ignore"):
        totals["nodata_share"] = np.where(area_km2 > 0, nodata_km2 / area_km2, 1.0)
    result = classify_units(totals, rules=rules)
    result.insert(0, "adcode", frame["adcode"].to_numpy())
    population = people.sum(axis=1)
    result[f"population_{year}"] = np.where(has_row, population, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        result[f"density_{year}"] = np.where(has_row, population / frame["area_km2"].to_numpy(), np.nan)
    result["degurba_l1_stable"] = stable
    missing = ~has_row
    if "nodata_share" in result.columns:
        missing |= result["nodata_share"].to_numpy() > MAX_NODATA_SHARE
    if missing.any():
        for column in [c for c in result.columns if c.startswith("pop_")]:
            result.loc[~has_row, column] = np.nan
        drop_classes(result, missing)
        result["degurba_l1_stable"] = result["degurba_l1_stable"].astype("boolean")
        result.loc[missing, "degurba_l1_stable"] = pd.NA
    return result


def unit_population_column(units: pd.DataFrame, column: str, where: str) -> np.ndarray:
    """The population column of ``units`` as floats (persons; NaN where missing), checked.

    Raises :class:`GisError` (naming ``where``, the column and the first bad row) for a column
    that is absent, holds text or negative numbers, or is missing for every unit.
    """
    if column not in units.columns:
        others = ", ".join(c for c in units.columns if c != units.geometry.name) or "none"
        raise GisError(f"{where}: no column {column!r} (columns: {others}); expected the units' resident population")
    raw = units[column]
    if pd.api.types.is_bool_dtype(raw) or raw.map(lambda v: isinstance(v, (bool, np.bool_))).any():
        raise GisError(f"{where}: column {column!r} holds true/false values, not numbers; expected the units' resident population (persons)")
    values = pd.to_numeric(raw, errors="coerce")
    text = raw.notna() & values.isna()
    if text.any():
        first = int(np.flatnonzero(text.to_numpy())[0])
        raise GisError(f"{where}: column {column!r}, feature {first + 1}: {raw.iloc[first]!r} is not a number; expected persons (≥ 0)")
    values = values.to_numpy(dtype="float64")
    bad = ~np.isfinite(values) & ~np.isnan(values) | (values < 0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise GisError(f"{where}: column {column!r}, feature {first + 1}: {values[first]:g} is not a population; expected persons (≥ 0)")
    if np.isnan(values).all():
        raise GisError(f"{where}: column {column!r} is empty for all {len(values)} units; expected their resident population")
    return values


#: A unit total this many times below the least (or above the most) population its cells'
#: classes allow is not that unit's population: a column in 万人, households, or a wrong join.
IMPLAUSIBLE_FACTOR = 10.0


def implausible_totals(areas: np.ndarray, totals: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Rows whose ``totals`` (persons) lie a factor :data:`IMPLAUSIBLE_FACTOR` or more outside
    what their class areas (``areas``, km² per density class) allow within the density bounds
    (persons/km²): below ``areas @ lower / 10`` or above ``areas @ upper × 10``."""
    least, most = areas @ lower, areas @ upper
    return (totals * IMPLAUSIBLE_FACTOR < least) | (totals > most * IMPLAUSIBLE_FACTOR)


def _unit_labels(units) -> pd.Series:
    """What messages call each unit: its ``name``, else ``feature N`` (from 1)."""
    if "name" in units.columns:
        return units["name"]
    return pd.Series(np.arange(1, len(units) + 1), index=units.index).map("feature {}".format)


def _refuse_implausible_totals(units, has_total, areas, row_totals, bad, lower, upper, where) -> None:
    """One line when most units' totals cannot be their populations (``bad``, of
    :func:`implausible_totals`; e.g. 1 person a unit, or figures in 万人): a fit to them would
    only report absurd residuals."""
    if bad.sum() * 2 <= len(row_totals):
        return
    label = _unit_labels(units)
    rows = np.flatnonzero(has_total)[np.flatnonzero(bad)]
    least = areas @ lower
    shown = "; ".join(f"{label.iloc[r]}: {row_totals[i]:,.6g} (its cells' classes hold {least[i]:,.0f} to "
                      f"{(areas @ upper)[i]:,.0f})" for r, i in zip(rows[:3], np.flatnonzero(bad)[:3]))
    raise GisError(f"{where}: {int(bad.sum())} of {len(row_totals)} unit totals are {IMPLAUSIBLE_FACTOR:g}x or more "
                   f"outside what their grid cells can hold, e.g. {shown}; expected resident population in persons "
                   "(not 万人, households or shares)")


def dasymetric_polygons(
    units: pd.DataFrame, totals: np.ndarray, class_codes: np.ndarray, window: GhslWindow, where: str = "units",
    rules=None,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Census-dasymetric Stage II of any polygons with a population each (``gis degurba units
    --unit-population``): every unit with a total is a fit row, one density vector for all.

    ``units``: GeoDataFrame in any declared CRS; ``totals``: persons per unit (NaN: no
    estimate and no class for that unit). Returns the Stage II frame (as
    :func:`dasymetric_units`' counties, without ``adcode``; ``degurba_weights`` =
    ``user_dasymetric``), the class density table and the population grid. A unit that does
    not overlap a classified cell of the grid is an error naming it.
    """
    unit_index, cells, fractions = unit_cell_coverage(units[[units.geometry.name]], window)
    codes = class_codes.ravel()[cells]
    classified = np.bincount(unit_index, weights=fractions * (codes != NODATA), minlength=len(units))
    outside = np.flatnonzero(classified <= 0)
    if outside.size:
        label = _unit_labels(units)
        shown = ", ".join(str(label.iloc[i]) for i in outside[:5]) + (" …" if outside.size > 5 else "")
        raise GisError(f"{where}: {outside.size} unit(s) do not overlap any classified cell of the grid ({shown}); "
                       "expected units inside the class grid")
    has_total = ~np.isnan(totals)
    row_of_unit = np.where(has_total, np.cumsum(has_total) - 1, -1)
    row_totals = totals[has_total]
    row = row_of_unit[unit_index]
    ok = row >= 0
    # One fit region: urban-centre depth measured within the cells of the units with a total.
    dclass = piece_density_classes(class_codes, cells, np.where(ok, 0, -1))
    lower, upper = density_class_bounds()
    areas = class_areas(row[ok], dclass[ok], fractions[ok], len(row_totals))
    implausible = implausible_totals(areas, row_totals, lower, upper)
    _refuse_implausible_totals(units, has_total, areas, row_totals, implausible, lower, upper, where)
    try:
        fit = fit_class_densities(areas, row_totals, lower, upper)
    except ValueError as error:  # numerically hopeless totals the check above did not catch
        raise GisError(f"{where}: the unit populations cannot be fitted to the grid ({error}); "
                       "expected resident population in persons") from None
    persons = spread_totals(row[ok], dclass[ok], fractions[ok], row_totals, fit.densities)
    size = window.height * window.width
    grid = np.bincount(cells[ok], weights=persons, minlength=size)
    grid = np.where(np.bincount(cells[ok], minlength=size) > 0, grid, np.nan).astype("float32").reshape(window.shape)
    unit = unit_index[ok]
    people = unit_class_population(unit, row[ok], dclass[ok], fractions[ok], row_totals, fit.densities, len(units))
    shares = (rules or MANUAL_RULES).units
    stable = level1_stable(unit, row[ok], dclass[ok], fractions[ok], row_totals, len(units), lower, upper,
                           shares.city_share, shares.rural_share)
    # Units may reach beyond the grid: their whole area, on the equal-area grid, counts.
    area_km2 = shapely.area(units.geometry.to_crs(GHSL_CRS).to_numpy()) / 1e6
    nodata, _ = unclassified_area(unit_index, fractions, codes, area_km2)
    frame = _stage_two(pd.DataFrame({"adcode": np.arange(len(units)), "area_km2": area_km2}), people, nodata, area_km2,
                       stable, has_total, CENSUS_YEAR, rules)
    frame = frame.drop(columns=["adcode"]).rename(columns={f"population_{CENSUS_YEAR}": "population", f"density_{CENSUS_YEAR}": "density_km2"})
    frame["degurba_weights"] = np.where(has_total, USER_WEIGHTS, None)
    frame["fit_relative_residual"] = np.where(has_total, fit.relative_residuals[np.maximum(row_of_unit, 0)], np.nan)
    # Units whose total their cells cannot hold (10x off the density bounds): named by the CLI.
    frame["population_implausible"] = pd.array(np.where(has_total, implausible[np.maximum(row_of_unit, 0)], False), dtype="boolean")
    frame.loc[~has_total, "population_implausible"] = pd.NA
    density = pd.DataFrame({
        "degurba_l2": [code for code, _ in DENSITY_CLASSES], "class_name": [L2_NAMES[c] for c, _ in DENSITY_CLASSES],
        "depth_km": [depth_label(band) for _, band in DENSITY_CLASSES], "density_class": density_class_labels(),
        "density_fitted": fit.densities, "density_lower": lower, "density_upper": upper,
        "area_km2": areas.sum(axis=0), "rms_relative_residual": fit.rms_relative_residual,
    })
    return frame, density, grid
