"""Joining users' tables to units: matching rows by adcode or name, the crosswalk of renamed,
merged and split units, value checks, and the report of what was joined and what was not.

The entry point is :func:`load_user_tables`. It reads each file with :mod:`gis.tables.read`, finds the
unit of every row, parses and range-checks every value, refuses duplicates, derives the
urban-rural ratios and gaps, and returns long-form rows (the columns of
:func:`gis.tables.indicators.seed_indicators`) with a :class:`JoinReport`. Nothing is dropped silently:
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
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gis.errors import GisError
from gis.tables.crosswalk import UnitMatcher
from gis.tables.indicators import LONG_COLUMNS, registry
from gis.tables.names import normalise_code, normalise_name
from gis.tables.read import (
    IGNORABLE_COLUMNS,
    PLAIN_NUMBER,
    PercentCell,
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


def table_layout(table: RawTable, attribute_columns=()) -> Layout:
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
        elif normalise_header(header) in IGNORABLE_COLUMNS or normalise_header(header) in attribute_columns:
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
        # Only the first few are described (the closest-name search is slow, and a pasted row of
        # 100 000 headers must not become a megabyte of message); the count says how many.
        described = []
        for index, header in unknown[:MAX_PROBLEMS_IN_MESSAGE]:
            shown = header if len(header) <= 60 else header[:60] + "…"
            close = closest_indicators(shown)
            hint = f" (closest indicators: {', '.join(close)})" if close else ""
            described.append(f"column {index + 1} {shown!r}{hint}")
        if len(unknown) > MAX_PROBLEMS_IN_MESSAGE:
            described.append(f"and {len(unknown) - MAX_PROBLEMS_IN_MESSAGE} more ({len(unknown)} in all)")
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
    # Not normalise_name: it strips trailing digits (footnote marks), which turned "2020.0" into
    # "2020." and refused it. A whole year written with any number of zero decimals is a year.
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", "" if cell is None else str(cell))).rstrip("年")
    match = re.fullmatch(r"((?:19|20)\d{2})(?:\.0*)?", text)
    if match is None or isinstance(cell, bool):
        raise GisError(f"{where}: year {cell!r} is not a year like 2020")
    return int(match.group(1))


# --------------------------------------------------------------------------------------------
# Loading


def load_user_tables(
    paths,
    boundaries: Boundaries,
    allow_unmatched: bool = False,
    default_year: int | None = None,
    attribute_columns=(),
    sheet: str | None = None,
) -> tuple[pd.DataFrame, JoinReport]:
    """Read, validate and join users' tables to ``boundaries``; return long rows and a report.

    Parameters
    ----------
    paths
        CSV (UTF-8, UTF-8 with BOM, GBK, GB18030) or XLSX files, wide (one column per
        indicator, or per indicator and year such as ``rural_income_2020``, optionally with a
        ``year`` column) or long (unit, ``year``, ``indicator``, ``value`` [, ``unit``]).
    boundaries
        The units to match against (:func:`gis.units.boundaries.load_boundaries`).
    allow_unmatched
        If False (default), any reported row or value is fatal; if True they are left out and
        listed in the report.
    default_year
        Year of wide tables that have neither a year column nor years in their headers.
    attribute_columns
        Headers of text columns the caller reads itself (a ``region`` column used as groups,
        :mod:`gis.tables.groups`): listed as ignored here, not unknown.
    sheet
        Worksheet to read from each XLSX file (default: ``data``, else the first); the report
        names the sheet read and lists the others. Excel cells formatted as a percentage are
        read as shown (0.253 formatted ``0.0%`` is 25.3) and counted in the report.

    Returns
    -------
    (pandas.DataFrame, JoinReport)
        Long rows with :data:`gis.tables.indicators.LONG_COLUMNS` (``adcode``, ``name``, ``year``,
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
    values: list[pd.DataFrame] = []
    for path in [Path(p) for p in paths]:
        table = read_table(path, sheet)
        file_report = FileReport(table.file_name, table.encoding, table.sheet, skipped_rows=table.skipped_rows,
                                 other_sheets=table.other_sheets)
        report.files.append(file_report)
        try:
            layout = table_layout(table, {normalise_header(c) for c in attribute_columns})
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
        values.append(_read_rows(table, layout, matcher, file_report, report, default_year))
    values = pd.concat(values, ignore_index=True) if values else _empty_values()
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


def _short(cell: object, limit: int = 40) -> str:
    """``repr`` of a cell for a message, cut to ``limit`` characters (a 100 000-digit cell)."""
    text = repr(cell)
    return text if len(text) <= limit else f"{text[: limit - 1]}…' ({len(str(cell))} characters)"


@dataclass
class _Cells:
    """The value cells of the rows of one table that were matched to a unit, one entry per
    cell in reading order (row by row, left to right). Arrays of equal length."""

    row: np.ndarray  # index into the table's rows
    raw: np.ndarray  # object: the cell as read
    indicator: np.ndarray  # object: registry name
    year: np.ndarray  # float: NaN = no year
    header: np.ndarray  # object: column header
    written_unit: np.ndarray  # object: unit written in the header or unit column, or None


def _id_cells(table: RawTable, layout: Layout, role: str) -> np.ndarray:
    """The cells of the ``role`` column (object array), all None if the table has none."""
    index = layout.id_columns.get(role)
    return np.full(len(table), None, dtype=object) if index is None else table.columns[index]


def _is_text(cells: np.ndarray) -> bool:
    """True if every cell is a ``str`` (so pandas' string methods treat them as Python would)."""
    return pd.api.types.infer_dtype(cells, skipna=False) == "string"


def _is_absent(cells: np.ndarray) -> bool:
    """True if every cell is None (the column a table does not have, see :func:`_id_cells`)."""
    return len(cells) > 0 and cells[0] is None and all(c is None for c in cells)


def _distinct(cells: np.ndarray) -> tuple[np.ndarray, list[object]]:
    """(code per cell, distinct cells in order of first appearance), so each distinct cell is
    parsed or looked up once. Cells are told apart as a dict would (1 == 1.0); ``None`` is a
    cell like any other."""
    if _is_absent(cells):
        return np.zeros(len(cells), dtype=np.int64), [None]
    if _is_text(cells):
        codes, uniques = pd.factorize(cells, use_na_sentinel=False)
        return codes, list(uniques)
    seen: dict[object, int] = {}
    codes = np.array([seen.setdefault(c, len(seen)) for c in cells], dtype=np.int64)
    return codes, list(seen)


def _stripped(cells: np.ndarray) -> np.ndarray:
    """``str(cell or "").strip()`` of every cell (object array); each distinct cell once."""
    codes, uniques = _distinct_typed(cells)
    return np.array([str(c or "").strip() for c in uniques] + [None], dtype=object)[:-1][codes]


def _parse_years(cells: np.ndarray, where, default_year: int | None) -> tuple[np.ndarray, dict[int, str]]:
    """Years of a year column (NaN where blank without a default) and the errors by row index
    (``where(i)`` names row ``i``); each distinct cell is parsed once."""
    parsed: list[object] = []
    codes, uniques = _distinct_typed(cells)
    for cell in uniques:
        text = normalise_name(cell)
        if text == "":
            parsed.append(np.nan if default_year is None else float(default_year))
            continue
        try:
            parsed.append(float(parse_year(cell, "{where}")))
        except GisError as error:
            parsed.append(str(error))
    failed = np.array([isinstance(p, str) for p in parsed], dtype=bool)
    numbers = np.array([np.nan if isinstance(p, str) else p for p in parsed] + [np.nan], dtype=float)[:-1]
    years = numbers[codes] if len(codes) else np.full(0, np.nan)
    errors = {int(i): parsed[codes[i]].replace("{where}", where(i)) for i in np.flatnonzero(failed[codes])} if len(codes) else {}
    return years, errors


def _distinct_typed(cells: np.ndarray) -> tuple[np.ndarray, list[object]]:
    """Like :func:`_distinct` but 2020 (int) and 2020.0 (float) stay apart: a year cell's
    message quotes it as written."""
    if _is_absent(cells) or _is_text(cells):
        return _distinct(cells)
    seen: dict[tuple[type, object], int] = {}
    codes = np.array([seen.setdefault((type(c), c), len(seen)) for c in cells], dtype=np.int64)
    return codes, [c for _, c in seen]


def _value_cells(table: RawTable, layout: Layout, default_year: int | None) -> tuple[_Cells, dict[int, str], int]:
    """Every value cell of ``table`` with its indicator, year and unit; errors of whole rows (an
    unknown indicator, a bad year) by row index; and the number of value cells per row."""
    ids = layout.id_columns
    n = len(table)

    def where(i: int) -> str:
        return f"{table.file_name}, row {table.row_numbers[i]}"

    row_errors: dict[int, str] = {}
    columns = list(layout.indicator_columns.items())
    needs_row_year = layout.kind == "long" or any(c.year is None for _, c in columns)
    if not needs_row_year:
        row_years = np.full(n, np.nan)
    elif "year" in ids:
        row_years, row_errors = _parse_years(_id_cells(table, layout, "year"), where, default_year)
    elif default_year is not None:
        row_years = np.full(n, float(default_year))
    else:
        row_years = np.full(n, np.nan)
        row_errors = {i: f"{where(i)}: no year for this row" for i in range(n)}
    if layout.kind == "long":
        codes, texts = _distinct(_stripped(_id_cells(table, layout, "indicator")))
        known = np.array([resolve_indicator(text) for text in texts] + [None], dtype=object)[:-1]
        indicators = known[codes]
        for i in np.flatnonzero(pd.isna(indicators)):
            text = texts[codes[i]]
            close = closest_indicators(text)
            hint = f" (closest: {', '.join(close)})" if close else ""
            row_errors[int(i)] = f"{where(i)}, column {table.header[ids['indicator']]!r}: unknown indicator {text!r}{hint}"
        units_written = _stripped(_id_cells(table, layout, "unit"))
        units_written = np.where(units_written == "", None, units_written)
        cells = _Cells(
            row=np.arange(n), raw=_id_cells(table, layout, "value"),
            indicator=indicators, year=row_years, header=np.full(n, table.header[ids["value"]], dtype=object),
            written_unit=units_written,
        )
        return cells, row_errors, 1
    width = len(columns)
    grid = np.empty((n, width), dtype=object)
    for j, (index, _) in enumerate(columns):
        grid[:, j] = table.columns[index]
    column_years = np.array([np.nan if c.year is None else c.year for _, c in columns], dtype=float)
    years = np.where(np.isnan(column_years)[None, :], row_years[:, None], column_years[None, :])
    cells = _Cells(
        row=np.repeat(np.arange(n), width), raw=grid.ravel(),
        indicator=np.tile(np.array([c.indicator for _, c in columns], dtype=object), n),
        year=years.ravel(),
        header=np.tile(np.array([table.header[i] for i, _ in columns], dtype=object), n),
        written_unit=np.tile(np.array([c.header_unit for _, c in columns], dtype=object), n),
    )
    return cells, row_errors, width


def _parse_values(file: str, row_numbers: np.ndarray, cells: _Cells, all_text: bool = False) -> tuple[np.ndarray, dict[int, str]]:
    """Parse and check every cell at once: (values, NaN = missing or error; error by cell index).

    Plain numbers (``21000``, ``-3.5``, ``1e3``, numeric Excel cells) are converted in one go;
    the rest (``21,000``, ``５%``, ``—``, formulas, text) cell by cell with :func:`parse_number`.
    Then the unit written, a ``%`` sign on a non-percent indicator and the registry range are
    checked with array operations. Errors name file, row, column and the cell (``row_numbers``:
    the spreadsheet row of each table row). ``all_text``: every cell is a ``str`` (CSV).
    """
    reg = registry()
    raw = pd.Series(cells.raw, dtype=object)
    count = len(raw)
    values = np.full(count, np.nan)
    percent = np.zeros(count, dtype=bool)
    errors: dict[int, str] = {}
    if count == 0:
        return values, errors
    is_text = np.ones(count, dtype=bool) if all_text else raw.map(type).eq(str).to_numpy(dtype=bool)
    plain = np.zeros(count, dtype=bool)
    if all_text:
        plain = _plain_numbers(cells.raw)
    elif is_text.any():
        plain[is_text] = raw[is_text].str.fullmatch(PLAIN_NUMBER).to_numpy(dtype=bool)
    is_number = np.zeros(count, dtype=bool) if all_text else (
        raw.map(lambda c: isinstance(c, (int, float)) and not isinstance(c, bool)).to_numpy(dtype=bool))
    fast = plain | is_number
    if fast.any():
        with np.errstate(over="ignore"):
            values[fast] = pd.to_numeric(raw[fast], errors="coerce").to_numpy(dtype=float)
    # Excel cells formatted as a percentage hold 0.253 for the 25.3 % they show: parsed one by
    # one (parse_number scales them), like a typed "25.3%".
    formatted = np.zeros(count, dtype=bool) if all_text else raw.map(lambda c: type(c) is PercentCell).to_numpy(dtype=bool)
    fast &= ~formatted
    # NaN and infinities among them (1e400, a 400-digit cell, NaN from Excel) go the slow way,
    # which says what they are; so does everything that is not a plain number.
    slow = (~fast | ~np.isfinite(values)) & raw.notna().to_numpy(dtype=bool)
    values[slow] = np.nan
    def place(i: int) -> str:
        return f"{file}, row {row_numbers[cells.row[i]]}, column {cells.header[i]!r}"

    for i in np.flatnonzero(slow):
        try:
            value, had_percent = parse_number(cells.raw[i])
        except ValueError as error:
            errors[int(i)] = f"{place(i)}: {_short(cells.raw[i])} is {error}"
            continue
        if value is not None:
            values[i], percent[i] = value, had_percent
    has_value = ~np.isnan(values)
    registry_unit = reg["unit"].reindex(cells.indicator).to_numpy()
    written = pd.notna(cells.written_unit) & has_value
    if written.any():
        accepted = {pair: unit_accepts(*pair) for pair in dict.fromkeys(zip(cells.indicator[written], cells.written_unit[written]))}
        for i in np.flatnonzero(written):
            if not accepted[(cells.indicator[i], cells.written_unit[i])]:
                errors[int(i)] = f"{place(i)}: unit {cells.written_unit[i]!r}, but {cells.indicator[i]} is in {registry_unit[i]}; convert the values first"
    for i in np.flatnonzero(percent & (registry_unit != "percent") & has_value):
        if i not in errors:
            shown = f"{float(cells.raw[i]):g} (formatted as {values[i]:g} % in Excel)" if formatted[i] else f"{_short(cells.raw[i])} has a % sign"
            errors[int(i)] = f"{place(i)}: {shown}, but {cells.indicator[i]} is in {registry_unit[i]}"
    low = reg["min_value"].reindex(cells.indicator).to_numpy(dtype=float)
    high = reg["max_value"].reindex(cells.indicator).to_numpy(dtype=float)
    outside = has_value & ((values < np.where(np.isnan(low), -np.inf, low)) | (values > np.where(np.isnan(high), np.inf, high)))
    for i in np.flatnonzero(outside):
        if i not in errors:
            bounds = f"{'' if np.isnan(low[i]) else f'{low[i]:g}'}..{'' if np.isnan(high[i]) else f'{high[i]:g}'}"
            errors[int(i)] = f"{place(i)}: {_short(cells.raw[i])} is outside the valid range {bounds} {registry_unit[i]} of {cells.indicator[i]}"
    for i in np.flatnonzero(has_value & np.isnan(cells.year)):
        if i not in errors:
            errors[int(i)] = f"{place(i)}: a value but no year (the year cell is blank)"
    values[list(errors)] = np.nan
    return values, errors


def _plain_numbers(texts: np.ndarray) -> np.ndarray:
    """Which cells (object array of ``str``) are plain numbers (:data:`PLAIN_NUMBER`, whole cell).

    One regular-expression pass over all cells joined by line breaks, in C: plain cells are
    deleted, so the lines left non-empty are the cells that are not plain. Falls back to one
    match per cell if a cell itself holds a line break.
    """
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:
        return pd.Series(texts, dtype=object).str.fullmatch(PLAIN_NUMBER).to_numpy(dtype=bool)
    left = _PLAIN_LINE.sub("", joined)
    if len(left) == len(texts) - 1:  # only the line breaks are left: every cell is plain
        return np.ones(len(texts), dtype=bool)
    return np.array(left.split("\n"), dtype=object) == ""


#: A whole line that is a plain number (used on cells joined by line breaks).
_PLAIN_LINE = re.compile(f"(?m)^(?:{PLAIN_NUMBER})$")


def _read_rows(table, layout, matcher, file_report, report, default_year) -> pd.DataFrame:
    """Match and parse every row of one table, filling ``file_report`` and ``report``; return
    the kept values (columns adcode, name, year, indicator, value, file, row, column).

    Vectorised: each distinct (adcode, name, prefecture) is matched once, each distinct unit
    and year is looked up in the crosswalk once, cells are parsed as arrays and rows are
    counted with array operations; Python loops run only over the rows and cells that are
    reported. So a table of a million rows takes seconds. Every row ends up matched or
    reported, and every value cell kept, missing, reported or an error (the counts add up).
    """
    n = len(table)
    file_report.rows_in += n
    if n == 0:
        return _empty_values()
    cells, row_errors, per_row = _value_cells(table, layout, default_year)
    roles = ("adcode", "name", "prefecture")
    id_cells = [_id_cells(table, layout, role) for role in roles]
    # Each distinct (adcode, name, prefecture) is matched once: key[i] numbers row i's, in
    # order of first appearance (renumbered after each column, so it stays below n).
    key = np.zeros(n, dtype=np.int64)
    for role, column in zip(roles, id_cells):
        if role in layout.id_columns:
            codes, uniques = _distinct(column)
            key = pd.factorize(key * len(uniques) + codes)[0]
    _, first_row = np.unique(key, return_index=True)
    resolutions = [matcher.resolve(*(column[r] for column in id_cells)) for r in first_row]
    unit_of = [r.unit for r in resolutions]
    matched = np.array([u is not None for u in unit_of], dtype=bool)[key]
    row_failed = np.zeros(n, dtype=bool)
    row_failed[list(row_errors)] = True
    # Cells of rows that failed as a whole or matched no unit are not parsed.
    take = (matched & ~row_failed)[cells.row]
    kept_cells = _Cells(*(getattr(cells, f)[take] for f in ("row", "raw", "indicator", "year", "header", "written_unit")))
    values, errors = _parse_values(table.file_name, table.row_numbers, kept_cells, table.all_text)
    has_error = np.zeros(len(values), dtype=bool)
    has_error[list(errors)] = True
    has_value = ~np.isnan(values)
    adcodes = np.array([u.adcode if u is not None else "" for u in unit_of] + [None], dtype=object)[:-1][key]
    cell_adcode = adcodes[kept_cells.row]
    # The crosswalk, asked once per distinct unit and year of the few units split since: a
    # split after the year blocks it.
    problem = np.full(len(values), None, dtype=object)
    at_split = has_value & np.isin(cell_adcode, list(matcher.splits_by_old))
    if at_split.any():
        asked: dict[tuple[str, int], str | None] = {}
        for i in np.flatnonzero(at_split):
            pair = (cell_adcode[i], int(kept_cells.year[i]))
            if pair not in asked:
                asked[pair] = matcher.period_problem(*pair)
            problem[i] = asked[pair]

    # Rows: errors (in reading order), reported rows, matched rows.
    errors_by_row: dict[int, list[str]] = {i: [e] for i, e in row_errors.items()}
    for i in np.flatnonzero(has_error):
        errors_by_row.setdefault(int(kept_cells.row[i]), []).append(errors[int(i)])
    for i in sorted(errors_by_row):
        report.errors += errors_by_row[i]
    has_problem = pd.notna(problem)
    values_per_row = np.bincount(kept_cells.row[has_value], minlength=n)
    blocked_per_row = np.bincount(kept_cells.row[has_value & has_problem], minlength=n)
    errors_per_row = np.bincount(kept_cells.row[has_error], minlength=n)
    fully_blocked = (values_per_row > 0) & (blocked_per_row == values_per_row)
    value_rows = kept_cells.row
    unmatched = ~matched & ~row_failed
    good = matched & ~row_failed & ~fully_blocked  # fully_blocked rows are matched and not failed
    failed_count, unmatched_count = int(row_failed.sum()), int(unmatched.sum())
    file_report.rows_reported += failed_count + unmatched_count + int(fully_blocked.sum())
    file_report.values_read += per_row * (failed_count + unmatched_count)
    file_report.values_errors += per_row * failed_count
    file_report.values_reported += per_row * unmatched_count
    for i in np.flatnonzero(unmatched | fully_blocked):  # reported rows, in reading order
        written = normalise_name(id_cells[1][i]) or normalise_code(id_cells[0][i])
        row_number = int(table.row_numbers[i])
        if unmatched[i]:
            resolution = resolutions[key[i]]
            report.reported_rows.append(ReportedRow(table.file_name, row_number, written, resolution.reason, resolution.candidates))
            continue
        own = (value_rows == i) & has_value  # few such rows (years before a split)
        reason = "; ".join(dict.fromkeys(problem[own][np.argsort(kept_cells.year[own], kind="stable")]))
        report.reported_rows.append(ReportedRow(table.file_name, row_number, written, reason))
    file_report.rows_matched += int(good.sum())
    good_keys = key[good]
    how_codes, hows = pd.factorize(np.array([r.how for r in resolutions], dtype=object)[good_keys])
    for how, count in zip(hows, np.bincount(how_codes, minlength=len(hows))):  # in order of first appearance
        file_report.matched_by[how] = file_report.matched_by.get(how, 0) + int(count)
    renamed = [k for k in pd.unique(good_keys) if resolutions[k].renamed_from]
    for k in renamed:  # pd.unique keeps the order in which the rows come
        old, new = resolutions[k].renamed_from.split(": ", 1)
        report.renamed[old] = new
    file_report.rows_without_values += int((good & (values_per_row == 0) & (errors_per_row == 0)).sum())
    in_blocked_row = fully_blocked[value_rows]
    file_report.values_read += len(values)
    file_report.values_errors += int(has_error.sum())
    file_report.values_missing += int((~has_value & ~has_error).sum())
    file_report.values_reported += int((has_value & in_blocked_row).sum())
    partly = has_value & ~in_blocked_row & has_problem
    for i in np.flatnonzero(partly):
        report.reported_values.append(
            ReportedValue(table.file_name, int(table.row_numbers[value_rows[i]]), kept_cells.header[i], int(kept_cells.year[i]), problem[i])
        )
    file_report.values_reported += int(partly.sum())
    keep = has_value & ~in_blocked_row & ~has_problem
    file_report.values_kept += int(keep.sum())
    # Boundary changes after a year: kept with one warning per unit and year (reading order).
    noted = has_value & ~in_blocked_row
    candidates = pd.DataFrame({"row": value_rows[noted], "adcode": cell_adcode[noted], "year": kept_cells.year[noted].astype(int)})
    candidates = candidates[candidates["adcode"].isin(list(matcher.boundary_changes_by_new))]
    for adcode, year in candidates.sort_values(["row", "year"], kind="stable")[["adcode", "year"]].drop_duplicates().itertuples(index=False):
        for note in matcher.boundary_notes(adcode, int(year)):
            warning = f"{matcher.units[adcode].label()} {year}: {note}; the value is kept but covers the earlier territory"
            if warning not in report.warnings:
                report.warnings.append(warning)
    if not table.all_text:
        scaled = keep & np.array([type(c) is PercentCell for c in kept_cells.raw] + [False], dtype=bool)[:-1]
        file_report.percent_cells += int(scaled.sum())
    _warn_fractions(table.file_name, kept_cells.indicator[keep], values[keep], report)
    names = np.array([u.name if u is not None else "" for u in unit_of] + [None], dtype=object)[:-1][key]
    return pd.DataFrame({
        "adcode": cell_adcode[keep], "name": names[value_rows[keep]], "year": kept_cells.year[keep].astype("int64"),
        "indicator": kept_cells.indicator[keep], "value": values[keep], "file": table.file_name,
        "row": table.row_numbers[value_rows[keep]], "column": kept_cells.header[keep],
    })


def _warn_fractions(file: str, indicators: np.ndarray, values: np.ndarray, report: JoinReport) -> None:
    """Warn about a percent indicator whose values of one file all lie in [0, 1] (not all 0):
    most likely shares written as fractions (0.253 for 25.3 %), which would be read 100× too small."""
    if len(values) == 0:
        return
    frame = pd.DataFrame({"indicator": indicators, "value": values})
    frame = frame[registry()["unit"].reindex(frame["indicator"]).to_numpy() == "percent"]
    for indicator, group in frame.groupby("indicator", sort=False)["value"]:
        if group.min() >= 0 and 0 < group.max() <= 1:
            report.warnings.append(
                f"{file}: every {indicator} value ({len(group)}, {group.min():g}–{group.max():g}) lies in 0–1, but it is "
                f"in percent (25.3 for 25.3 %); if these are fractions, multiply them by 100"
            )


def _empty_values() -> pd.DataFrame:
    return pd.DataFrame({"adcode": [], "name": [], "year": pd.Series([], dtype="int64"), "indicator": [],
                         "value": pd.Series([], dtype="float64"), "file": [], "row": pd.Series([], dtype="int64"), "column": []})


def _check_duplicates(values: pd.DataFrame, report: JoinReport) -> None:
    """Two values for one unit, year and indicator is an error naming both rows."""
    key = ["adcode", "year", "indicator"]
    later = values.duplicated(key, keep="first")
    if not later.any():
        return
    first = values[~later].set_index(key)
    for v in values[later].itertuples(index=False):
        f = first.loc[(v.adcode, v.year, v.indicator)]
        report.errors.append(
            f"duplicate {v.indicator} {v.year} for {v.name} ({v.adcode}): {f['file']}, row {f['row']} "
            f"and {v.file}, row {v.row}"
        )


def cited_files(sources: pd.Series) -> pd.Series:
    """The file each user value cites: ``"<file>, row N"`` (as :func:`load_user_tables` writes
    ``source``) without the row, also inside derived values' sources."""
    return sources.str.replace(r", row \d+", "", regex=True)


def _long_frame(values: pd.DataFrame) -> pd.DataFrame:
    reg = registry()
    frame = pd.DataFrame(
        {
            "adcode": values["adcode"].astype(object),
            "name": values["name"].astype(object),
            "year": values["year"].astype("int64"),
            "indicator": values["indicator"].astype(object),
            "value": values["value"].astype("float64"),
            "unit": values["indicator"].map(reg["unit"]).astype(object),
            "source": values["file"].astype(str) + ", row " + values["row"].astype("int64").astype(str),
        }
    )
    return frame[LONG_COLUMNS].reset_index(drop=True)


def _derive(long: pd.DataFrame, report: JoinReport) -> pd.DataFrame:
    """Ratios and gaps from urban and rural values of the same unit and year.

    A supplied derived value is kept; if it differs from the recomputed one by more than
    :data:`DERIVATION_TOLERANCE` (relative; for differences, relative to the larger input) it
    is reported as a warning. Computed for all units and years at once (array operations).
    """
    reg = registry()
    frames = []
    # Rows of each indicator, found once (not one string comparison over all rows per use).
    codes, names = pd.factorize(long["indicator"].to_numpy(dtype=object))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    rows_of = {name: order[bounds[k]:bounds[k + 1]] for k, name in enumerate(names)}
    none = np.zeros(0, dtype=np.int64)

    def of(indicator: str) -> pd.DataFrame:
        return long.iloc[rows_of.get(indicator, none)]

    for target, (operation, first, second) in DERIVATIONS.items():
        a = of(first).set_index(["adcode", "year"])
        b = of(second).set_index(["adcode", "year"])
        both = a.merge(b, left_index=True, right_index=True, suffixes=("_a", "_b"), how="inner")
        if both.empty:
            continue
        value_a, value_b = both["value_a"].to_numpy(), both["value_b"].to_numpy()
        adcodes = both.index.get_level_values("adcode").to_numpy()
        years = both.index.get_level_values("year").to_numpy()
        sign = "/" if operation == "ratio" else "−"
        if operation == "ratio":
            zero = value_b == 0
            with np.errstate(divide="ignore", invalid="ignore"):
                derived = value_a / value_b
            scale = np.abs(derived)
        else:
            zero = np.zeros(len(both), dtype=bool)
            derived = value_a - value_b
            scale = np.maximum(np.abs(value_a), np.abs(value_b))
        supplied = of(target).set_index(["adcode", "year"])[["value", "source"]]
        aligned = supplied.reindex(both.index)  # the supplied value of each pair, NaN if none
        given = aligned["source"].notna().to_numpy()
        supplied_value = aligned["value"].to_numpy()
        with np.errstate(invalid="ignore"):
            differs = given & (scale > 0) & (np.abs(supplied_value - derived) > DERIVATION_TOLERANCE * scale)
        for i in np.flatnonzero(zero | differs):  # few: warnings name each
            name = both["name_a"].iat[i]
            if zero[i]:
                report.warnings.append(f"{name} ({adcodes[i]}) {years[i]}: {second} is 0, {target} not derived")
                continue
            value, source = supplied_value[i], aligned["source"].iat[i]
            report.warnings.append(
                f"{name} ({adcodes[i]}) {years[i]}: supplied {target} {value:g} ({source}) differs from "
                f"{first} {sign} {second} = {derived[i]:.4g} by more than {DERIVATION_TOLERANCE:.0%}; the supplied value is kept"
            )
        new = ~(zero | given)
        if not new.any():
            continue
        frames.append(pd.DataFrame({
            "adcode": adcodes[new], "name": both["name_a"].to_numpy()[new], "year": years[new].astype("int64"),
            "indicator": target, "value": derived[new].astype(float), "unit": reg.loc[target, "unit"],
            "source": (f"derived as {first} {sign} {second} (" + both["source_a"].to_numpy()[new].astype(object)
                       + "; " + both["source_b"].to_numpy()[new].astype(object) + ")"),
        }))
        report.derived[target] = report.derived.get(target, 0) + int(new.sum())
    if not frames:
        return pd.DataFrame(columns=LONG_COLUMNS)
    frame = pd.concat(frames, ignore_index=True)[LONG_COLUMNS]
    frame["year"] = frame["year"].astype("int64")
    return frame
