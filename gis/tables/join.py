"""Joining users' tables to units: matching rows by adcode or name, the crosswalk of renamed,
merged and split units, value checks, and the report of what was joined and what was not.

The entry point is :func:`load_user_tables`. It reads each file with :mod:`gis.tables`, finds the
unit of every row, parses and range-checks every value, refuses duplicates, derives the
urban-rural ratios and gaps, and returns long-form rows (the columns of
:func:`gis.indicators.seed_indicators`) with a :class:`JoinReport`. Nothing is dropped silently:
for every file, rows in = rows matched + rows reported, and every reported row says why.

Units are matched within the given boundaries (one province, or the whole country):

1. by ``adcode`` (6 digits; a retired code is looked up in the crosswalk),
2. by Chinese name, full (``淳安县``) or without its suffix (``淳安``; 市/县/区/旗 and
   自治县 with its ethnic names are stripped), optionally prefixed by its prefecture
   (``杭州市淳安县``) or narrowed by a ``prefecture`` column,
3. by a former name from the crosswalk (``富阳市`` → ``富阳区``).

The crosswalk (``gis/data/<province>/crosswalk.csv``) has one row per change since 2000:
``renamed`` (same territory, new name or code: mapped), ``merged`` (the unit no longer exists:
reported), ``split`` (values for years before the split cover several of today's units:
reported for those years) and ``boundary_changed`` (the unit gained or lost parts: values for
earlier years are kept with a warning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gis.errors import GisError
from gis.tables.crosswalk import UnitMatcher
from gis.tables.indicators import LONG_COLUMNS, registry
from gis.tables.names import normalise_code, normalise_name
from gis.tables.read import (
    IGNORABLE_COLUMNS,
    RawTable,
    classify_column,
    classify_id_column,
    closest_indicators,
    normalise_header,
    parse_number,
    read_table,
    resolve_indicator,
    unit_accepts,
)
from gis.tables.report import (
    DERIVATION_TOLERANCE,
    MAX_PROBLEMS_IN_MESSAGE,
    FileReport,
    JoinError,
    JoinReport,
    ReportedRow,
    ReportedValue,
)
from gis.units.boundaries import Boundaries

#: Derived indicators: name -> (operation, first input, second input). Ratios compare by
#: relative difference; gaps by difference relative to the larger input.
DERIVATIONS = {
    "income_ratio": ("ratio", "urban_income", "rural_income"),
    "income_gap": ("difference", "urban_income", "rural_income"),
    "ageing_gap_60plus": ("difference", "share_aged_60plus_rural", "share_aged_60plus_urban"),
    "ageing_gap_65plus": ("difference", "share_aged_65plus_rural", "share_aged_65plus_urban"),
}

#: A supplied derived value further than this from the recomputed one is reported (1 %).


# --------------------------------------------------------------------------------------------
# Columns of one table


@dataclass
class Layout:
    """Which column of a table plays which part."""

    id_columns: dict[str, int]
    indicator_columns: dict[int, object]  # column index -> IndicatorColumn
    ignored: list[str]
    kind: str  # wide / wide by year / long


def table_layout(table: RawTable) -> Layout:
    """Classify every column of ``table``; an unrecognised column is an error naming it and the
    closest indicator names (a column is never dropped silently)."""
    id_columns: dict[str, int] = {}
    indicators: dict[int, object] = {}
    ignored, unknown = [], []
    for index, header in enumerate(table.header):
        if header == "":
            unknown.append((index, "(empty header)"))
            continue
        role = classify_id_column(header)
        if role is not None:
            if role in id_columns:
                raise GisError(f"{table.file_name}, row {table.header_row}: two {role} columns ({table.header[id_columns[role]]!r} and {header!r})")
            id_columns[role] = index
            continue
        column = classify_column(header)
        if column is not None:
            indicators[index] = column
        elif normalise_header(header) in IGNORABLE_COLUMNS:
            ignored.append(header)
        else:
            unknown.append((index, header))
    if "name" not in id_columns and "adcode" not in id_columns and "prefecture" in id_columns:
        # A prefecture-level table headed 地市 / 设区市: that column names the units.
        id_columns["name"] = id_columns.pop("prefecture")
    long = "indicator" in id_columns or "value" in id_columns
    if long:
        if not {"indicator", "value"} <= set(id_columns):
            raise GisError(f"{table.file_name}: a long table needs both an indicator (指标) and a value (数值) column")
        if indicators:
            raise GisError(
                f"{table.file_name}: has indicator and value columns (long table) and also indicator columns "
                f"{', '.join(table.header[i] for i in indicators)}; use one layout per file"
            )
    if unknown:
        described = []
        for index, header in unknown:
            close = closest_indicators(header)
            hint = f" (closest indicators: {', '.join(close)})" if close else ""
            described.append(f"column {index + 1} {header!r}{hint}")
        raise GisError(
            f"{table.file_name}, row {table.header_row}: unknown column(s): " + "; ".join(described)
            + "; rename each to an indicator name or Chinese label from gis/data/indicators.csv (see `gis template`) or delete it"
        )
    if not long and not indicators:
        raise GisError(f"{table.file_name}: no indicator columns; headers must be indicator names or Chinese labels (see `gis template`)")
    with_year = any(c.year is not None for c in indicators.values())
    if with_year and "year" in id_columns:
        raise GisError(f"{table.file_name}: has a year column and years in column headers; use one or the other")
    kind = "long" if long else ("wide by year" if with_year else "wide")
    return Layout(id_columns, indicators, ignored, kind)


def parse_year(cell: object, where: str) -> int:
    """A year cell (2020, 2020.0, "2020年") as an int; anything else raises GisError naming
    ``where`` (file and row)."""
    text = normalise_name(cell).rstrip("年")
    if text.endswith(".0"):
        text = text[:-2]
    if not re.fullmatch(r"(19|20)\d{2}", text):
        raise GisError(f"{where}: year {cell!r} is not a year like 2020")
    return int(text)


# --------------------------------------------------------------------------------------------
# Loading


@dataclass
class _Value:
    adcode: str
    name: str
    year: int
    indicator: str
    value: float
    file: str
    row: int
    column: str


def load_user_tables(
    paths,
    boundaries: Boundaries,
    allow_unmatched: bool = False,
    default_year: int | None = None,
) -> tuple[pd.DataFrame, JoinReport]:
    """Read, validate and join users' tables to ``boundaries``; return long rows and a report.

    Parameters
    ----------
    paths
        CSV (UTF-8, UTF-8 with BOM, GBK, GB18030) or XLSX files, wide (one column per
        indicator, or per indicator and year such as ``rural_income_2020``, optionally with a
        ``year`` column) or long (unit, ``year``, ``indicator``, ``value`` [, ``unit``]).
    boundaries
        The units to match against (:func:`gis.boundaries.load_boundaries`).
    allow_unmatched
        If False (default), any reported row or value is fatal; if True they are left out and
        listed in the report.
    default_year
        Year of wide tables that have neither a year column nor years in their headers.

    Returns
    -------
    (pandas.DataFrame, JoinReport)
        Long rows with :data:`gis.indicators.LONG_COLUMNS` (``adcode``, ``name``, ``year``,
        ``indicator``, ``value`` in the registry unit, ``unit``, ``source`` =
        ``"<file>, row N"``), including derived ratios and gaps; and the report.

    Raises
    ------
    GisError
        :class:`JoinError` (a GisError, with ``.report``) for bad numbers, values outside the
        registry range, duplicates, unknown columns or units, or rows that could not be matched
        (unless ``allow_unmatched``).
    """
    report = JoinReport()
    matcher = UnitMatcher(boundaries)
    values: list[_Value] = []
    for path in [Path(p) for p in paths]:
        table = read_table(path)
        file_report = FileReport(table.file_name, table.encoding, table.sheet, skipped_rows=table.skipped_rows)
        report.files.append(file_report)
        try:
            layout = table_layout(table)
        except GisError as error:
            report.errors.append(str(error))
            continue
        file_report.layout = layout.kind
        if layout.kind != "wide by year" and "year" not in layout.id_columns and default_year is None:
            report.errors.append(
                f"{table.file_name}: no year — add a year (年份) column, name the columns like rural_income_2020, or pass --year"
            )
            continue
        file_report.ignored_columns = layout.ignored
        file_report.indicator_columns = [table.header[i] for i in layout.indicator_columns]
        values += _read_rows(table, layout, matcher, file_report, report, default_year)
    if not report.errors:
        _check_duplicates(values, report)
    long = _long_frame(values)
    if not report.errors:
        derived = _derive(long, report)
        long = pd.concat([long, derived], ignore_index=True) if not derived.empty else long
    report.values_out = len(long)
    report.units_out = long["adcode"].nunique()
    report.years_out = (int(long["year"].min()), int(long["year"].max())) if len(long) else None
    if report.errors:
        raise JoinError(_problems_message("problem(s) in the tables", report.errors), report)
    reported = [r.describe() for r in report.reported_rows] + [v.describe() for v in report.reported_values]
    if reported and not allow_unmatched:
        raise JoinError(
            _problems_message("row(s)/value(s) could not be joined", reported)
            + "; fix them or pass --allow-unmatched to leave them out",
            report,
        )
    return long.sort_values(["adcode", "year", "indicator"], ignore_index=True), report


def _problems_message(what: str, problems: list[str]) -> str:
    shown = "; ".join(problems[:MAX_PROBLEMS_IN_MESSAGE])
    more = f"; and {len(problems) - MAX_PROBLEMS_IN_MESSAGE} more" if len(problems) > MAX_PROBLEMS_IN_MESSAGE else ""
    return f"{len(problems)} {what}: {shown}{more}"


def _cell(cells: list[object], index: int | None) -> object:
    return None if index is None else cells[index]


def _row_values(table: RawTable, layout: Layout, row: int, cells: list[object], default_year: int | None):
    """(indicator, year, column header, raw cell, unit written) for every data cell of a row."""
    where = f"{table.file_name}, row {row}"
    ids = layout.id_columns
    if layout.kind == "long":
        indicator_text = str(_cell(cells, ids["indicator"]) or "").strip()
        indicator = resolve_indicator(indicator_text)
        if indicator is None:
            close = closest_indicators(indicator_text)
            hint = f" (closest: {', '.join(close)})" if close else ""
            raise GisError(f"{where}, column {table.header[ids['indicator']]!r}: unknown indicator {indicator_text!r}{hint}")
        year = _row_year(table, layout, row, cells, default_year)
        written_unit = str(_cell(cells, ids.get("unit")) or "").strip() or None
        return [(indicator, year, table.header[ids["value"]], cells[ids["value"]], written_unit)]
    out = []
    for index, column in layout.indicator_columns.items():
        year = column.year if column.year is not None else _row_year(table, layout, row, cells, default_year)
        out.append((column.indicator, year, table.header[index], cells[index], column.header_unit))
    return out


def _row_year(table: RawTable, layout: Layout, row: int, cells: list[object], default_year: int | None) -> int | None:
    where = f"{table.file_name}, row {row}"
    if "year" in layout.id_columns:
        cell = cells[layout.id_columns["year"]]
        if normalise_name(cell) == "" and default_year is None:
            return None  # an error only if the row has values (a blank template row is fine)
        return parse_year(cell, where) if normalise_name(cell) else int(default_year)
    if default_year is not None:
        return int(default_year)
    raise GisError(f"{where}: no year for this row")


def _read_rows(table, layout, matcher, file_report, report, default_year) -> list[_Value]:
    """Match and parse every row of one table, filling ``file_report`` and ``report``."""
    values: list[_Value] = []
    ids = layout.id_columns
    for row, cells in table.rows:
        file_report.rows_in += 1
        try:
            cells_of_row = _row_values(table, layout, row, cells, default_year)
        except GisError as error:
            report.errors.append(str(error))
            file_report.rows_reported += 1
            continue
        written = normalise_name(_cell(cells, ids.get("name"))) or normalise_code(_cell(cells, ids.get("adcode")))
        resolution = matcher.resolve(_cell(cells, ids.get("adcode")), _cell(cells, ids.get("name")), _cell(cells, ids.get("prefecture")))
        if resolution.unit is None:
            report.reported_rows.append(ReportedRow(table.file_name, row, written, resolution.reason, resolution.candidates))
            file_report.rows_reported += 1
            file_report.values_read += len(cells_of_row)
            file_report.values_reported += len(cells_of_row)
            continue
        unit = resolution.unit
        parsed, problems_before = [], len(report.errors)
        for indicator, year, header, raw, written_unit in cells_of_row:
            file_report.values_read += 1
            value = _parse_value(table.file_name, row, header, raw, indicator, written_unit, report)
            if value is None:
                file_report.values_missing += 1
                continue
            if year is None:
                report.errors.append(f"{table.file_name}, row {row}, column {header!r}: a value but no year (the year cell is blank)")
                continue
            parsed.append((indicator, year, header, value))
        years = sorted({year for _, year, _, _ in parsed})
        blocked = {year: matcher.period_problem(unit.adcode, year) for year in years}
        if years and all(blocked.values()):
            reason = "; ".join(dict.fromkeys(blocked.values()))
            report.reported_rows.append(ReportedRow(table.file_name, row, written, reason))
            file_report.rows_reported += 1
            file_report.values_reported += len(parsed)
            continue
        file_report.rows_matched += 1
        file_report.matched_by[resolution.how] = file_report.matched_by.get(resolution.how, 0) + 1
        if resolution.renamed_from:
            old, new = resolution.renamed_from.split(": ", 1)
            report.renamed[old] = new
        if not parsed and len(report.errors) == problems_before:
            file_report.rows_without_values += 1
        for year in years:
            for note in matcher.boundary_notes(unit.adcode, year):
                warning = f"{unit.label()} {year}: {note}; the value is kept but covers the earlier territory"
                if warning not in report.warnings:
                    report.warnings.append(warning)
        for indicator, year, header, value in parsed:
            if blocked[year]:
                report.reported_values.append(ReportedValue(table.file_name, row, header, year, blocked[year]))
                file_report.values_reported += 1
                continue
            values.append(_Value(unit.adcode, unit.name, year, indicator, value, table.file_name, row, header))
            file_report.values_kept += 1
    return values


def _parse_value(file: str, row: int, header: str, raw: object, indicator: str, written_unit: str | None, report: JoinReport) -> float | None:
    """Parse and range-check one cell; problems go to ``report.errors`` (returns None then)."""
    where = f"{file}, row {row}, column {header!r}"
    info = registry().loc[indicator]
    try:
        value, percent = parse_number(raw)
    except ValueError as error:
        report.errors.append(f"{where}: {raw!r} is {error}")
        return None
    if value is None:
        return None
    if written_unit and not unit_accepts(indicator, written_unit):
        report.errors.append(f"{where}: unit {written_unit!r}, but {indicator} is in {info['unit']}; convert the values first")
        return None
    if percent and info["unit"] != "percent":
        report.errors.append(f"{where}: {raw!r} has a % sign, but {indicator} is in {info['unit']}")
        return None
    low, high = info["min_value"], info["max_value"]
    if (pd.notna(low) and value < low) or (pd.notna(high) and value > high):
        bounds = f"{'' if pd.isna(low) else f'{low:g}'}..{'' if pd.isna(high) else f'{high:g}'}"
        report.errors.append(f"{where}: {raw!r} is outside the valid range {bounds} {info['unit']} of {indicator}")
        return None
    return value


def _check_duplicates(values: list[_Value], report: JoinReport) -> None:
    """Two values for one unit, year and indicator is an error naming both rows."""
    seen: dict[tuple, _Value] = {}
    for v in values:
        key = (v.adcode, v.year, v.indicator)
        if key in seen:
            first = seen[key]
            report.errors.append(
                f"duplicate {v.indicator} {v.year} for {v.name} ({v.adcode}): {first.file}, row {first.row} "
                f"and {v.file}, row {v.row}"
            )
        else:
            seen[key] = v


def cited_files(sources: pd.Series) -> pd.Series:
    """The file each user value cites: ``"<file>, row N"`` (as :func:`load_user_tables` writes
    ``source``) without the row, also inside derived values' sources."""
    return sources.str.replace(r", row \d+", "", regex=True)


def _long_frame(values: list[_Value]) -> pd.DataFrame:
    reg = registry()
    frame = pd.DataFrame(
        {
            "adcode": [v.adcode for v in values],
            "name": [v.name for v in values],
            "year": pd.Series([v.year for v in values], dtype="int64"),
            "indicator": [v.indicator for v in values],
            "value": pd.Series([v.value for v in values], dtype="float64"),
            "unit": [reg.loc[v.indicator, "unit"] for v in values],
            "source": [f"{v.file}, row {v.row}" for v in values],
        }
    )
    return frame[LONG_COLUMNS]


def _derive(long: pd.DataFrame, report: JoinReport) -> pd.DataFrame:
    """Ratios and gaps from urban and rural values of the same unit and year.

    A supplied derived value is kept; if it differs from the recomputed one by more than
    :data:`DERIVATION_TOLERANCE` (relative; for differences, relative to the larger input) it
    is reported as a warning.
    """
    reg = registry()
    keyed = long.set_index(["adcode", "year", "indicator"])
    rows = []
    for target, (operation, first, second) in DERIVATIONS.items():
        a = long[long["indicator"] == first].set_index(["adcode", "year"])
        b = long[long["indicator"] == second].set_index(["adcode", "year"])
        both = a.merge(b, left_index=True, right_index=True, suffixes=("_a", "_b"), how="inner")
        for (adcode, year), pair in both.iterrows():
            if operation == "ratio":
                if pair["value_b"] == 0:
                    report.warnings.append(f"{pair['name_a']} ({adcode}) {year}: {second} is 0, {target} not derived")
                    continue
                derived = pair["value_a"] / pair["value_b"]
            else:
                derived = pair["value_a"] - pair["value_b"]
            if (adcode, year, target) in keyed.index:
                supplied = float(keyed.loc[(adcode, year, target), "value"])
                scale = abs(derived) if operation == "ratio" else max(abs(pair["value_a"]), abs(pair["value_b"]))
                if scale and abs(supplied - derived) > DERIVATION_TOLERANCE * scale:
                    source = keyed.loc[(adcode, year, target), "source"]
                    report.warnings.append(
                        f"{pair['name_a']} ({adcode}) {year}: supplied {target} {supplied:g} ({source}) differs from "
                        f"{first} {'/' if operation == 'ratio' else '−'} {second} = {derived:.4g} by more than "
                        f"{DERIVATION_TOLERANCE:.0%}; the supplied value is kept"
                    )
                continue
            rows.append(
                {
                    "adcode": adcode,
                    "name": pair["name_a"],
                    "year": int(year),
                    "indicator": target,
                    "value": float(derived),
                    "unit": reg.loc[target, "unit"],
                    "source": f"derived as {first} {'/' if operation == 'ratio' else '−'} {second} "
                    f"({pair['source_a']}; {pair['source_b']})",
                }
            )
            report.derived[target] = report.derived.get(target, 0) + 1
    if not rows:
        return pd.DataFrame(columns=LONG_COLUMNS)
    frame = pd.DataFrame(rows)[LONG_COLUMNS]
    frame["year"] = frame["year"].astype("int64")
    return frame
