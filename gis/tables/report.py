"""The join report: what was read, matched, kept and reported for every user file.

Every row of a user's table ends up in exactly one place: matched, or reported with the
reason (:class:`ReportedRow`); every value kept or reported (:class:`ReportedValue`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gis.errors import GisError

DERIVATION_TOLERANCE = 0.01

#: At most this many problems are spelled out in one error message; the report has all.
MAX_PROBLEMS_IN_MESSAGE = 8

# --------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class ReportedRow:
    """A row that was not joined: where it is, what the user wrote, why, and the closest units."""

    file: str
    row: int
    value: str
    reason: str
    candidates: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line naming file, row, the value and the reason (and closest names, if any)."""
        closest = f"; closest: {', '.join(self.candidates)}" if self.candidates else ""
        return f"{self.file}, row {self.row}: {self.value!r} — {self.reason}{closest}"


@dataclass(frozen=True)
class ReportedValue:
    """One value of a matched row that could not be assigned (e.g. a year before a split)."""

    file: str
    row: int
    column: str
    year: int
    reason: str

    def describe(self) -> str:
        return f"{self.file}, row {self.row}, column {self.column!r} ({self.year}): {self.reason}"


@dataclass
class FileReport:
    """What was read from one file and what became of its rows and values."""

    file: str
    encoding: str
    sheet: str | None
    layout: str = ""  # "wide", "wide by year" or "long"
    indicator_columns: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)
    rows_in: int = 0
    rows_matched: int = 0
    rows_reported: int = 0
    rows_without_values: int = 0
    values_read: int = 0
    values_kept: int = 0
    values_missing: int = 0
    values_reported: int = 0
    values_errors: int = 0  # cells that are not valid values (bad numbers, out of range, rows that failed)
    matched_by: dict[str, int] = field(default_factory=dict)
    other_sheets: list[str] = field(default_factory=list)  # XLSX sheets not read
    percent_cells: int = 0  # XLSX cells formatted as a percentage, kept ×100 (0.253 shown as 25.3 % -> 25.3)

    def encoding_label(self) -> str:
        labels = {
            "utf-8": "CSV, encoding UTF-8",
            "utf-8-sig": "CSV, encoding UTF-8 with BOM (Excel 'CSV UTF-8')",
            "gbk": "CSV, encoding GBK (Excel 'CSV' on Chinese Windows)",
            "gb18030": "CSV, encoding GB18030",
            "xlsx": f"Excel workbook, sheet {self.sheet!r}",
        }
        return labels.get(self.encoding, self.encoding)


@dataclass
class JoinReport:
    """Everything :func:`load_user_tables` did: per-file counts, reported rows and values,
    renamed units mapped, warnings, derived values and fatal errors (if any)."""

    files: list[FileReport] = field(default_factory=list)
    reported_rows: list[ReportedRow] = field(default_factory=list)
    reported_values: list[ReportedValue] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # "富阳市" -> "富阳区 (330111), renamed 2014"
    warnings: list[str] = field(default_factory=list)
    derived: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    values_out: int = 0
    units_out: int = 0
    years_out: tuple[int, int] | None = None

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def rows_matched(self) -> int:
        return sum(f.rows_matched for f in self.files)

    @property
    def rows_reported(self) -> int:
        return sum(f.rows_reported for f in self.files)

    @property
    def unmatched(self) -> list[ReportedRow]:
        """The reported rows (alias used by the build command)."""
        return self.reported_rows

    def summary(self) -> str:
        """A plain-text report for the terminal: files, encodings, counts, reported rows and
        values, renamed units, derived values and warnings."""
        lines = [f"Read {len(self.files)} file(s):"]
        for f in self.files:
            lines.append(f"  {f.file}: {f.encoding_label()}; {f.layout} table" if f.layout else f"  {f.file}: {f.encoding_label()}")
            if f.other_sheets:
                lines.append(f"    other sheets, not read: {', '.join(repr(n) for n in f.other_sheets)} (choose one with --sheet)")
            if f.percent_cells:
                lines.append(f"    {f.percent_cells} cell(s) formatted as a percentage in Excel read as shown (stored 0.253, shown 25.3 %: 25.3)")
            if f.indicator_columns:
                lines.append(f"    indicator columns ({len(f.indicator_columns)}): {', '.join(f.indicator_columns)}")
            if f.ignored_columns:
                lines.append(f"    ignored columns: {', '.join(f.ignored_columns)}")
            lines.append(
                f"    rows: {f.rows_in} in = {f.rows_matched} matched + {f.rows_reported} reported"
                + (f" ({f.rows_without_values} matched rows have no values)" if f.rows_without_values else "")
            )
            if f.matched_by:
                lines.append("    matched by: " + ", ".join(f"{k} {v}" for k, v in f.matched_by.items()))
            if f.skipped_rows:
                kinds: dict[str, list[int]] = {}
                for row, why in f.skipped_rows:
                    kinds.setdefault(why.split(" ")[0], []).append(row)
                lines.append(
                    "    not data rows: "
                    + "; ".join(f"{len(r)} {k} (row {', '.join(map(str, r[:6]))}{'…' if len(r) > 6 else ''})" for k, r in kinds.items())
                )
            lines.append(
                f"    values: {f.values_read} cells = {f.values_kept} kept + {f.values_missing} missing (blank/—/…) "
                f"+ {f.values_reported} reported + {f.values_errors} errors"
            )
        if self.renamed:
            lines.append(f"Old names and codes mapped to today's units ({len(self.renamed)}):")
            lines += [f"  {old} → {new}" for old, new in sorted(self.renamed.items())]
        if self.reported_rows:
            lines.append(f"Rows reported, not joined ({len(self.reported_rows)}):")
            lines += ["  " + r.describe() for r in self.reported_rows]
        if self.reported_values:
            lines.append(f"Values reported, not joined ({len(self.reported_values)}):")
            lines += ["  " + v.describe() for v in self.reported_values]
        if self.derived:
            lines.append("Derived: " + ", ".join(f"{n} {k}" for k, n in self.derived.items()))
        if self.warnings:
            lines.append(f"Warnings ({len(self.warnings)}):")
            lines += ["  " + w for w in self.warnings]
        if self.errors:
            lines.append(f"Errors ({len(self.errors)}):")
            lines += ["  " + e for e in self.errors]
        years = ""
        if self.years_out:
            first, last = self.years_out
            years = f", year {first}" if first == last else f", years {first}–{last}"
        lines.append(f"Result: {self.values_out} values for {self.units_out} units{years}")
        return "\n".join(lines)


class JoinError(GisError):
    """A fatal problem in the user's tables; ``report`` holds the full join report so a
    command can print it before the one-line error."""

    def __init__(self, message: str, report: JoinReport):
        super().__init__(message)
        self.report = report
