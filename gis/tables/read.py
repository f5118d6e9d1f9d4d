"""Reading users' own tables: CSV in any of the usual Chinese encodings, XLSX, and the numbers in them.

Users bring tables from statistical yearbooks, census reports and their own spreadsheets. This
module turns one file into a :class:`RawTable` (header + rows, each row with the row number the
user sees in the spreadsheet) and knows how Chinese tables write numbers
(:func:`parse_number`) and how their columns are headed (:func:`classify_column`). Matching rows
to units and checking values lives in :mod:`gis.tables.join`.

Encodings (CSV): UTF-8, UTF-8 with BOM (what Excel writes for "CSV UTF-8"), GBK and GB18030
(what Excel writes for "CSV" on a Chinese Windows). :func:`detect_encoding` says which was used.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from gis.errors import GisError
from gis.tables.indicators import registry, units

#: Encodings tried, in this order, for CSV files without a byte-order mark. GBK is tried before
#: GB18030 because it is the narrower one (GB18030 decodes every GBK file), so the report names
#: the encoding Excel most likely used.
CSV_ENCODINGS = ("utf-8", "gbk", "gb18030")

#: Cells that mean "no value" in Chinese statistical tables: blank, dashes (— is 空缺/不适用),
#: ellipses (… is 数据不足/不详), and the ASCII spellings of those.
MISSING_MARKERS = frozenset(
    {"", "—", "——", "–", "-", "--", "－", "…", "……", "...", "..", "·", "×", "x", "X", "/", "NA", "N/A", "n/a", "nan", "NaN"}
)

#: Header names (normalised by :func:`normalise_header`) of the columns that identify units or
#: describe long rows, by role.
ID_COLUMN_ALIASES = {
    "adcode": {"adcode", "code", "区划代码", "行政区划代码", "代码", "地区代码", "区划编码"},
    "name": {"name", "地区", "名称", "地区名称", "区县", "县市区", "县(市、区)", "县(市,区)", "县(市区)", "县级单位", "单位名称", "county"},
    "prefecture": {"prefecture", "prefecture_name", "所属地市", "所属设区市", "所属市", "地级市", "地市", "设区市"},
    "year": {"year", "年份", "年度", "年"},
    "indicator": {"indicator", "指标", "指标名称", "indicator_name"},
    "value": {"value", "数值", "值", "指标值"},
    "unit": {"unit", "计量单位", "单位"},
}

#: Columns users often keep in their sheets that carry no data for us; they are listed in the
#: report as ignored, never silently dropped.
IGNORABLE_COLUMNS = frozenset({"备注", "note", "notes", "remark", "remarks", "序号", "no", "no.", "#", "说明", "source", "来源", "资料来源", "数据来源"})

#: First cells that mark a footnote row (注：…, 资料来源：…) rather than a data row.
NOTE_ROW_PREFIXES = ("注", "说明", "资料来源", "数据来源", "#", "备注")

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
#: A number as Python writes it (no separators, no %): the cells the join converts in bulk.
PLAIN_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_PLAIN = re.compile(f"^{PLAIN_NUMBER}$")
_YEAR = re.compile(r"^(19|20)\d{2}$")


@dataclass
class RawTable:
    """One user file as read: header, data rows and where each row is in the spreadsheet.

    Stored by column (a million-row table is a few arrays, not a million lists):
    ``row_numbers[i]`` is the spreadsheet row of data row ``i`` (the first line of a CSV file is
    row 1) and ``columns[j][i]`` its cell under ``header[j]``. Cells are strings (CSV; a row
    shorter than the header is padded with ``""``) or the values openpyxl returns (XLSX: str,
    int, float, datetime or None). :attr:`rows` gives the same data row by row.
    """

    path: Path
    encoding: str  # "utf-8", "utf-8-sig", "gbk", "gb18030" or "xlsx"
    sheet: str | None
    header: list[str]
    header_row: int
    row_numbers: np.ndarray  # int64, one per data row
    columns: list[np.ndarray]  # object arrays, one per header column, each len(row_numbers) long
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, why) for blank/note/title rows
    all_text: bool = False  # every cell is a plain str (CSV): lets callers use vectorised string operations
    other_sheets: list[str] = field(default_factory=list)  # XLSX: the workbook's sheets not read

    @property
    def file_name(self) -> str:
        """The file name as the user knows it (no directories), used in sources and messages."""
        return self.path.name

    @property
    def rows(self) -> list[tuple[int, list[object]]]:
        """``(row_number, cells)`` per data row, in reading order (built on demand)."""
        return [(int(r), [column[i] for column in self.columns]) for i, r in enumerate(self.row_numbers)]

    def __len__(self) -> int:
        return len(self.row_numbers)


# --------------------------------------------------------------------------------------------
# Encodings and reading


def detect_encoding(raw: bytes) -> str:
    """Name the encoding of CSV bytes: ``utf-8-sig``, ``utf-8``, ``gbk`` or ``gb18030``.

    A UTF-8 byte-order mark decides at once; otherwise the first of :data:`CSV_ENCODINGS` that
    decodes every byte wins. Raises :class:`ValueError` if none does.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    for encoding in CSV_ENCODINGS:
        try:
            raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ValueError("not UTF-8, GBK or GB18030 text")


def read_table(path: str | Path, sheet: str | None = None, is_header=None) -> RawTable:
    """Read a ``.csv`` or ``.xlsx`` file into a :class:`RawTable`; other suffixes are an error.

    ``sheet``: the worksheet of a workbook to read (default: the one named ``data``, else the
    first); a name the workbook lacks is an error listing its sheets. Ignored for CSV.
    ``is_header(cells) -> bool`` picks the header row (default: the first naming a unit
    identifier, adcode or name); its docstring says what it looks for in the error when no row
    passes (``gis access`` looks for lon/lat columns)."""
    path = Path(path)
    if not path.is_file():
        raise GisError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv" or suffix == ".txt":
        return _read_csv(path, is_header)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet, is_header)
    if suffix == ".xls":
        raise GisError(f"{path.name}: old Excel .xls files are not read; save it as .xlsx or CSV in Excel")
    raise GisError(f"{path.name}: expected a .csv or .xlsx file")


def _read_csv(path: Path, is_header=None) -> RawTable:
    raw = path.read_bytes()
    try:
        encoding = detect_encoding(raw)
    except ValueError:
        raise GisError(
            f"{path.name}: cannot decode the file as UTF-8, GBK or GB18030; save it from Excel as 'CSV UTF-8' or 'CSV'"
        ) from None
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as error:
        # A UTF-8 byte-order mark in front of GBK text (an editor added it): decoding fails late.
        row = raw[: error.start].count(b"\n") + 1
        raise GisError(
            f"{path.name}, row {row}: starts with a UTF-8 byte-order mark but byte {error.start} is not UTF-8 "
            f"(GBK text behind a BOM?); save it from Excel as 'CSV UTF-8' or 'CSV'"
        ) from None
    # csv's field limit (128 KB) is a guard for unbounded streams; a file read whole bounds every
    # cell already, so a long cell (a pasted note) is read, not called "not valid CSV".
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        return _parse_csv(path, encoding, raw, text, is_header)
    finally:
        csv.field_size_limit(limit)


def _parse_csv(path: Path, encoding: str, raw: bytes, text: str, is_header=None) -> RawTable:
    first_line = text.split("\n", 1)[0]
    # Tab-separated text pasted from a spreadsheet has tabs and usually no commas in the header.
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    fast = _csv_columns_fast(raw, text, delimiter)
    if fast is not None:
        return _split_header(path, encoding, None, *fast, all_text=True, is_header=is_header)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records = []
    while True:
        start_line = reader.line_num + 1  # the spreadsheet row this record starts on
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise GisError(f"{path.name}, row {start_line}: not valid CSV ({error})") from None
        records.append((start_line, cells))
    return _split_header(path, encoding, None, *_records_to_columns(records, pad=""), all_text=True, is_header=is_header)


def _csv_columns_fast(raw: bytes, text: str, delimiter: str) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """Parse CSV text with pandas' C tokenizer into (row numbers, columns), or ``None`` when the
    file needs :mod:`csv` to be read exactly as before (the slow path says what is wrong).

    The C tokenizer gives no line numbers, so it is used only when every record is one
    physical line (then record ``i`` is spreadsheet row ``i + 1``): the records it returns are
    counted against the line breaks. Files with NUL bytes, lines longer than :mod:`csv`'s field
    limit (an error there) or records it cannot tokenise go the slow way. Line breaks and
    delimiters are counted on the bytes: in UTF-8, GBK and GB18030, bytes 0x09, 0x0A, 0x0D and
    0x2C only ever stand for themselves, never for part of a multi-byte character.
    """
    import pandas as pd

    if not text or "\x00" in text or text.startswith("\ufeff"):  # pandas would drop a second BOM; csv keeps it
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    newline, carriage = data == 0x0A, data == 0x0D
    lone_carriage = carriage.copy()
    lone_carriage[:-1] &= ~newline[1:]  # "\r\n" is one break, at its "\n"
    breaks = np.flatnonzero(newline | lone_carriage)
    del newline, carriage, lone_carriage
    ends_with_break = len(breaks) > 0 and breaks[-1] == len(data) - 1
    line_ends = breaks if ends_with_break else np.append(breaks, len(data))
    lines = len(line_ends)
    line_starts = np.concatenate([[-1], line_ends[:-1]])
    if (line_ends - line_starts).max() > csv.field_size_limit():
        return None
    delimiters = np.flatnonzero(data == ord(delimiter))
    per_line = np.diff(np.searchsorted(delimiters, np.concatenate([[-1], line_ends])))
    width = int(per_line.max()) + 1  # an upper bound: quoted delimiters are counted too
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, names=list(range(width)), index_col=False, dtype=str,
            keep_default_na=False, na_filter=False, skip_blank_lines=False, engine="c", quotechar='"', doublequote=True,
        )
    except Exception:  # pandas' ParserError and friends: let csv read it and name the row
        return None
    if len(frame) != lines:  # a quoted line break: records span lines, row numbers would shift
        return None
    columns = [frame[j].to_numpy(dtype=object) for j in range(width)]
    return np.arange(1, lines + 1, dtype=np.int64), columns


def _records_to_columns(records: list[tuple[int, list[object]]], pad: object) -> tuple[np.ndarray, list[np.ndarray]]:
    """Row-by-row records as (row numbers, columns); short rows padded with ``pad``."""
    width = max((len(cells) for _, cells in records), default=0)
    columns = [np.full(len(records), pad, dtype=object) for _ in range(width)]
    for i, (_, cells) in enumerate(records):
        for j, cell in enumerate(cells):
            columns[j][i] = cell
    return np.array([row for row, _ in records], dtype=np.int64), columns


def _read_xlsx(path: Path, sheet_name: str | None = None, is_header=None) -> RawTable:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for damaged files
        raise GisError(f"{path.name}: cannot open as an Excel workbook ({error})") from None
    try:
        sheet = _choose_sheet(path, workbook, sheet_name)
        other_sheets = [name for name in workbook.sheetnames if name != sheet.title]
        # The size a sheet declares (<dimension>) can be wrong (some writers never update it);
        # read-only openpyxl would silently stop there, so read what the sheet really holds.
        sheet.reset_dimensions()
        formulas = _uncached_formulas(path, workbook, sheet)
        records = []
        for row in sheet.iter_rows():
            cells = [_percent_cell(cell) for cell in row]
            if formulas:
                cells = [
                    FormulaCell(formulas[(cell.row, cell.column)])
                    if getattr(cell, "row", None) and (cell.row, cell.column) in formulas and value is None
                    else value
                    for cell, value in zip(row, cells)
                ]
            row_number = next((cell.row for cell in row if hasattr(cell, "row") and cell.row), None)
            if row_number is None:
                continue
            records.append((row_number, cells))
        title = sheet.title
    finally:
        workbook.close()
    table = _split_header(path, "xlsx", title, *_records_to_columns(records, pad=None), is_header=is_header)
    table.other_sheets = other_sheets
    return table


def _choose_sheet(path: Path, workbook, name: str | None):
    """The worksheet to read: ``name``, else the template's sheet ``data``, else the first.

    Chart sheets have no cells and are never chosen by default.
    """
    sheets = [s for s in workbook.worksheets if hasattr(s, "iter_rows")]
    if name is not None:
        if name not in workbook.sheetnames:
            listed = ", ".join(repr(n) for n in workbook.sheetnames)
            raise GisError(f"{path.name}: no sheet {name!r} (--sheet); the workbook has {listed}")
        return workbook[name]
    if "data" in workbook.sheetnames:
        return workbook["data"]
    if not sheets:
        raise GisError(f"{path.name}: the workbook has no worksheet with cells")
    return sheets[0]


class PercentCell(float):
    """A numeric XLSX cell whose number format is a percentage: Excel stores 0.253 and shows
    25.3 %. The float is the stored value; :func:`parse_number` gives the shown one."""


#: Quoted text and backslash-escaped characters in a number format: a literal "%" there is
#: shown but does not scale the value.
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\\.')


def _percent_cell(cell) -> object:
    """A cell's value, as a :class:`PercentCell` when it is a number formatted as a percentage."""
    value = cell.value
    if type(value) not in (int, float):
        return value
    number_format = getattr(cell, "number_format", None) or ""
    if "%" in number_format and "%" in _FORMAT_LITERALS.sub("", number_format):
        return PercentCell(value)
    return value


class FormulaCell(str):
    """An XLSX formula cell whose file holds no computed value (written by a program, never
    opened and saved in Excel): its text is the formula. Reading it as "blank" would be wrong."""


def _uncached_formulas(path: Path, workbook, sheet) -> dict[tuple[int, int], str]:
    """(row, column) -> formula text of the formula cells of ``sheet``; empty if it has none.

    With ``data_only=True`` openpyxl gives a formula's cached value, or None when there is none;
    the formula itself needs a second reading, done only when the sheet XML holds formulas.
    """
    import zipfile

    import openpyxl

    sheet_xml = getattr(sheet, "_worksheet_path", None)
    try:
        with zipfile.ZipFile(path) as archive:
            source = archive.read(sheet_xml) if sheet_xml else b"<f"
    except (KeyError, OSError, zipfile.BadZipFile):
        source = b"<f"
    if b"<f>" not in source and b"<f " not in source:
        return {}
    formulas_book = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        formula_sheet = formulas_book[sheet.title]
        formula_sheet.reset_dimensions()
        return {
            (cell.row, cell.column): str(cell.value)
            for row in formula_sheet.iter_rows()
            for cell in row
            if isinstance(cell.value, str) and cell.value.startswith("=")
            or type(cell.value).__name__ in ("ArrayFormula", "DataTableFormula")
        }
    finally:
        formulas_book.close()


def _cell_text(cell: object) -> str:
    """A cell as stripped text ('' for None); floats that are whole numbers lose their '.0'."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _is_blank(cells: list[object]) -> bool:
    if all(type(c) is str for c in cells):  # CSV rows: no conversion needed
        return not any(c.strip() for c in cells)
    return all(_cell_text(c) == "" for c in cells)


def _column_texts(column: np.ndarray, all_text: bool) -> np.ndarray:
    """:func:`_cell_text` of every cell of ``column`` (object array)."""
    if all_text:  # no type checks needed
        return np.array([text.strip() for text in column] + [None], dtype=object)[:-1]
    return np.array([_cell_text(c) for c in column] + [None], dtype=object)[:-1]


def _split_header(path: Path, encoding: str, sheet: str | None, record_rows: np.ndarray, columns: list[np.ndarray],
                  all_text: bool = False, is_header=None) -> RawTable:
    """Find the header row (the first naming an identifier column) and the data rows below it.

    ``record_rows`` and ``columns`` hold every record of the file (spreadsheet row numbers,
    cells by column). Rows above the header (titles such as "表3-5 各县(市、区)居民收入", the
    template's "#" comment block) and blank or footnote rows below it are kept in
    ``skipped_rows`` with the reason, so the report can list them. Rows below the header are
    classified with array operations (a million-row file has no Python loop per row).
    """
    skipped: list[tuple[int, str]] = []

    def record(i: int) -> list[object]:
        return [column[i] for column in columns]

    header_index = None
    for index in range(min(200, len(record_rows))):
        if is_header is not None:
            if is_header([_cell_text(c) for c in record(index)]):
                header_index = index
                break
            continue
        roles = {classify_id_column(_cell_text(c)) for c in record(index)}
        if roles & {"adcode", "name", "prefecture"}:
            header_index = index
            break
    if header_index is None and is_header is not None:
        expected = is_header.__doc__ or "the table's columns"
        raise GisError(f"{path.name}: no header row in the first 200 rows; expected {expected}")
    if header_index is None:
        raise GisError(
            f"{path.name}: no header row naming the units; expected a column headed adcode (区划代码) "
            f"or name (地区) in the first 200 rows"
        )
    for index in range(header_index):
        cells = record(index)
        if not _is_blank(cells):
            first = next(_cell_text(c) for c in cells if _cell_text(c))
            skipped.append((int(record_rows[index]), "comment" if first.startswith("#") else "title above the header"))
    header_row = int(record_rows[header_index])
    header = [_cell_text(c) for c in record(header_index)]
    # Trailing empty header cells (Excel's used range often runs past the table) carry nothing.
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    below = slice(header_index + 1, None)
    row_numbers = record_rows[below]
    texts = [_column_texts(column[below], all_text) for column in columns]
    filled = [t != "" for t in texts]
    extra = np.zeros(len(row_numbers), dtype=bool)
    for column_filled in filled[width:]:
        extra |= column_filled
    if extra.any():
        first_row = int(np.argmax(extra))
        values = [t[first_row] for t in texts[width:] if t[first_row] != ""]
        raise GisError(
            f"{path.name}, row {row_numbers[first_row]}: {len(values)} value(s) right of the last headed column "
            f"(first: {values[0]!r}); give that column a header or delete the values"
        )
    filled_count = np.sum(filled[:width], axis=0) if width else np.zeros(len(row_numbers), dtype=int)
    blank = filled_count == 0
    # A footnote fills one cell; rows with two or more text cells are data without looking.
    text_count = filled_count if all_text else np.sum(
        [f & np.array([type(c) is str for c in column[below]], dtype=bool) for f, column in zip(filled[:width], columns)], axis=0)
    footnote = np.zeros(len(row_numbers), dtype=bool)
    for i in np.flatnonzero((filled_count == 1) & (text_count < 2)):
        cell = next(t[i] for t in texts[:width] if t[i] != "")
        footnote[i] = cell.startswith(NOTE_ROW_PREFIXES)
    for i in np.flatnonzero(blank | footnote):
        cell = "" if blank[i] else next(t[i] for t in texts[:width] if t[i] != "")
        skipped.append((int(row_numbers[i]), "blank" if blank[i] else f"footnote {cell[:20]!r}"))
    data = ~(blank | footnote)
    kept = [column[below][data] for column in columns[:width]]
    kept += [np.full(int(data.sum()), "" if all_text else None, dtype=object) for _ in range(width - len(kept))]
    return RawTable(path, encoding, sheet, header, header_row, row_numbers[data], kept, skipped, all_text)


# --------------------------------------------------------------------------------------------
# Numbers


def parse_number(cell: object) -> tuple[float | None, bool]:
    """Parse a number as Chinese tables write it; return ``(value, had_percent_sign)``.

    Accepts thousands separators (``1,234`` and ``1，234``), full-width digits (``１２３``),
    a trailing ``%``/``％``, the minus signs ``-``, ``−`` and ``－``, and numeric cells from
    Excel. Returns ``(None, False)`` for a missing value (:data:`MISSING_MARKERS`: blank,
    ``—``, ``-``, ``－``, ``…``). Raises :class:`ValueError` with the reason for anything else.
    """
    if cell is None:
        return None, False
    if isinstance(cell, FormulaCell):
        raise ValueError(f"a formula without a cached value ({cell[:40]}); open and save the file in Excel, or paste values")
    if isinstance(cell, bool):
        raise ValueError("a TRUE/FALSE cell, not a number")
    if isinstance(cell, PercentCell):
        number, _ = parse_number(float(cell))
        return (None, False) if number is None else (round(number * 100, 10), True)
    if isinstance(cell, (int, float)):
        if isinstance(cell, float) and math.isnan(cell):
            return None, False
        try:
            number = float(cell)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        return number, False
    text = unicodedata.normalize("NFKC", str(cell)).strip()
    text = text.replace("\u2212", "-").replace("\u00a0", "").replace(" ", "")
    if text in MISSING_MARKERS:
        return None, False
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    elif "," in text:
        raise ValueError("commas that are not thousands separators (expected e.g. 12,345.6)")
    if not _PLAIN.match(text):
        raise ValueError("not a number")
    number = float(text)
    if not math.isfinite(number):  # 1e400 or a 400-digit cell: no statistic is that large
        raise ValueError("not a finite number (beyond ±1.8e308)")
    return number, percent


# --------------------------------------------------------------------------------------------
# Column headers


def normalise_header(text: str) -> str:
    """Header text compared case-insensitively, with full-width forms and spaces folded away."""
    text = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return re.sub(r"\s+", "", text)


def classify_id_column(header: str) -> str | None:
    """The role of an identifying column (``adcode``, ``name``, ``prefecture``, ``year``,
    ``indicator``, ``value``, ``unit``) or ``None`` if ``header`` is not one of them."""
    return _id_column_roles().get(normalise_header(header))


@lru_cache(maxsize=1)
def _id_column_roles() -> dict[str, str]:
    """Normalised alias -> role, built once (a header row of 100 000 cells asks it per cell)."""
    roles: dict[str, str] = {}
    for role, aliases in ID_COLUMN_ALIASES.items():
        for alias in aliases:
            roles.setdefault(normalise_header(alias), role)
    return roles


@dataclass(frozen=True)
class IndicatorColumn:
    """A data column: which registry indicator, which year (None if the table has a year
    column) and the unit written in the header, if any (e.g. "元" from "农村居民收入(元)")."""

    indicator: str
    year: int | None
    header_unit: str | None


@lru_cache(maxsize=1)
def _indicator_lookup() -> dict[str, str]:
    """Normalised registry name and Chinese/English label -> indicator name."""
    lookup = {}
    for name, row in registry().iterrows():
        lookup[normalise_header(name)] = name
        lookup[normalise_header(row["label_zh"])] = name
        lookup[normalise_header(row["label_en"])] = name
    return lookup


def resolve_indicator(text: str) -> str | None:
    """The registry name for an indicator written as its name or Chinese/English label."""
    return _indicator_lookup().get(normalise_header(text))


def closest_indicators(text: str, n: int = 3) -> list[str]:
    """Registry names or Chinese labels closest to ``text`` (difflib), for error messages."""
    reg = registry()
    choices = list(reg.index) + list(reg["label_zh"])
    return difflib.get_close_matches(normalise_header(text), [normalise_header(c) for c in choices], n=n, cutoff=0.4)


def classify_column(header: str) -> IndicatorColumn | None:
    """Recognise an indicator column header, with or without a year and a unit.

    Accepted: ``rural_income``, ``农村常住居民人均可支配收入``, ``rural_income_2020``,
    ``农村常住居民人均可支配收入_2020``, ``2020年农村常住居民人均可支配收入``,
    ``农村常住居民人均可支配收入(2020)``, and any of these followed by a unit in brackets,
    ``…(元)``. Returns ``None`` if the header names no registry indicator.
    """
    text = normalise_header(header)
    header_unit = None
    unit_match = re.match(r"^(.*?)[(\[]([^()\[\]]*)[)\]]$", text)
    if unit_match and not _YEAR.match(unit_match.group(2).rstrip("年")):
        text, header_unit = unit_match.group(1), unit_match.group(2)
    patterns = [
        (r"^(?P<name>.+?)[_\-](?P<year>(19|20)\d{2})年?$", True),
        (r"^(?P<year>(19|20)\d{2})年?[_\-]?(?P<name>.+)$", True),
        (r"^(?P<name>.+?)[(\[](?P<year>(19|20)\d{2})年?[)\]]$", True),
    ]
    indicator = resolve_indicator(text)
    if indicator is not None:
        return IndicatorColumn(indicator, None, header_unit)
    for pattern, _ in patterns:
        match = re.match(pattern, text)
        if match:
            indicator = resolve_indicator(match.group("name"))
            if indicator is not None:
                return IndicatorColumn(indicator, int(match.group("year")), header_unit)
    return None


def unit_accepts(indicator: str, written_unit: str) -> bool:
    """True if ``written_unit`` (from a header or a unit column) is the registry unit of
    ``indicator``, spelled as its name (``yuan``), Chinese label (``元``) or English label."""
    unit = registry().loc[indicator, "unit"]
    spellings = {normalise_header(unit)}
    if unit in units().index:
        spellings |= {normalise_header(units().loc[unit, "label_zh"]), normalise_header(units().loc[unit, "label_en"])}
    if unit == "percent":
        spellings |= {"%", "百分比", "percent"}
    if unit == "yuan":
        spellings |= {"元/人", "元每人"}
    return normalise_header(written_unit) in spellings
