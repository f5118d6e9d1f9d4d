"""Users' own groups of units: a groups file (unit, group) or a text column of a data table.

Read with the indicator tables' reader (:func:`gis.tables.read.read_table`: CSV in UTF-8, GBK
or GB18030, or XLSX) and matched with the same :class:`gis.tables.crosswalk.UnitMatcher` (adcodes
or names, renamed units through the crosswalk), and reported the same way: every row is matched
or listed with its reason (``rows: 91 in = 88 matched + 3 reported``). Groups keep the order in
which the file first names them (the legend's order).

Refused, each in one line naming the rows: a unit in two groups, a group name that is a number
(a code or a class number pasted into the wrong column), an empty group cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from gis.errors import GisError
from gis.tables.crosswalk import UnitMatcher
from gis.tables.names import normalise_name
from gis.tables.read import classify_id_column, normalise_header, read_table
from gis.tables.report import FileReport, JoinReport, ReportedRow

#: Headers of the group column of a groups file (any other single column also works).
GROUP_HEADERS = frozenset({"group", "groups", "组", "分组", "组别", "片区", "区域", "region"})
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


@dataclass
class UnitGroups:
    """Groups read from a user's file: ``groups`` maps adcode to group (file order), with the
    report of what was read and matched."""

    groups: pd.Series
    order: list[str]
    report: JoinReport
    source: str

    def summary(self) -> str:
        """What was read and matched, as the join report says it for indicator tables: every
        row matched or listed with its reason."""
        f = self.report.files[0]
        lines = [f"Read groups: {f.file}: {f.encoding_label()}; group column {self.source.split('column ', 1)[-1]}",
                 f"    rows: {f.rows_in} in = {f.rows_matched} matched + {f.rows_reported} reported"]
        if f.matched_by:
            lines.append("    matched by: " + ", ".join(f"{k} {v}" for k, v in f.matched_by.items()))
        if self.report.renamed:
            lines += [f"    {old} → {new}" for old, new in sorted(self.report.renamed.items())]
        if self.report.reported_rows:
            lines.append(f"Rows reported, not joined ({len(self.report.reported_rows)}):")
            lines += ["  " + r.describe() for r in self.report.reported_rows]
        lines.append(f"Result: {len(self.order)} groups for {len(self.groups)} units: " + ", ".join(self.order))
        return "\n".join(lines)


def _rows(numbers) -> str:
    numbers = list(numbers)
    shown = ", ".join(map(str, numbers[:8])) + (f" and {len(numbers) - 8} more" if len(numbers) > 8 else "")
    return f"row{'s' if len(numbers) > 1 else ''} {shown}"


def read_unit_groups(path: str | Path, boundaries, column: str | None = None, allow_unmatched: bool = False,
                     level: str | None = None) -> UnitGroups:
    """Read the groups of units from ``path``.

    Parameters
    ----------
    path
        A CSV or XLSX file with a unit column (adcode and/or name, optionally a prefecture
        column) and a group column (``group``, 分组, 组别, … or ``column``).
    boundaries
        The units to match against (:func:`gis.units.boundaries.load_boundaries`).
    column
        The header of the group column (a data table's ``region``); default: the one column
        named like a group, or the only column that is not a unit column.
    allow_unmatched
        Leave rows that match no unit out (listed in the report) instead of stopping.
    level
        ``counties`` or ``prefectures``: rows matching a unit of another level are reported.

    Raises
    ------
    GisError
        One line naming the file and rows: a unit in two groups, a numeric or empty group, no
        group column, or (without ``allow_unmatched``) rows that match no unit.
    """
    table = read_table(path)
    name = table.file_name
    roles = {classify_id_column(h): i for i, h in enumerate(table.header) if classify_id_column(h) in ("adcode", "name", "prefecture")}
    if "adcode" not in roles and "name" not in roles:
        raise GisError(f"{name}, row {table.header_row}: no unit column (adcode or name, e.g. 区划代码 / 名称)")
    if column is not None:
        wanted = [i for i, h in enumerate(table.header) if normalise_header(h) == normalise_header(column)]
        if not wanted:
            raise GisError(f"{name}: no column {column!r} (columns: {', '.join(table.header)})")
        group_index = wanted[0]
    else:
        named = [i for i, h in enumerate(table.header) if normalise_header(h) in GROUP_HEADERS]
        others = [i for i in range(len(table.header)) if i not in roles.values()]
        candidates = named or (others if len(others) == 1 else [])
        if len(candidates) != 1:
            raise GisError(f"{name}, row {table.header_row}: cannot tell the group column; name it 'group' (分组) "
                           f"and keep one unit column (columns: {', '.join(table.header)})")
        group_index = candidates[0]
    header = table.header[group_index]
    report = JoinReport()
    file_report = FileReport(name, table.encoding, table.sheet, layout="groups", skipped_rows=table.skipped_rows)
    report.files.append(file_report)
    matcher = UnitMatcher(boundaries)
    wanted_level = {"counties": "county", "prefectures": "prefecture"}.get(level or "")
    cells = [table.columns[roles[r]] if r in roles else [None] * len(table) for r in ("adcode", "name", "prefecture")]
    groups_cells = table.columns[group_index]
    numeric, empty, kept = [], [], []
    for i in range(len(table)):
        row = int(table.row_numbers[i])
        file_report.rows_in += 1
        group = normalise_name(groups_cells[i])
        resolution = matcher.resolve(cells[0][i], cells[1][i], cells[2][i])
        written = normalise_name(cells[1][i]) or normalise_name(cells[0][i])
        if resolution.unit is None or (wanted_level and resolution.unit.level != wanted_level):
            reason = resolution.reason or f"{resolution.unit.label()} is a {resolution.unit.level}, not one of the {level}"
            report.reported_rows.append(ReportedRow(name, row, written, reason, resolution.candidates))
            file_report.rows_reported += 1
            continue
        if group == "":
            empty.append(row)
        elif _NUMBER.match(group):
            numeric.append((row, group))
        file_report.rows_matched += 1
        file_report.matched_by[resolution.how] = file_report.matched_by.get(resolution.how, 0) + 1
        if resolution.renamed_from:
            old, new = resolution.renamed_from.split(": ", 1)
            report.renamed[old] = new
        kept.append((row, resolution.unit, group))
    if empty:
        raise GisError(f"{name}, column {header!r}: empty group in {_rows(empty)}; give every unit a group or delete its row")
    if numeric:
        raise GisError(f"{name}, column {header!r}: group names are numbers in {_rows(r for r, _ in numeric)} "
                       f"({', '.join(repr(g) for _, g in numeric[:5])}); name groups with text (e.g. 'A区', '山区')")
    first: dict[str, tuple[int, str]] = {}
    clashes = []
    for row, unit, group in kept:
        seen = first.setdefault(unit.adcode, (row, group))
        if seen[1] != group:
            clashes.append(f"{unit.label()} in {seen[1]!r} (row {seen[0]}) and {group!r} (row {row})")
    if clashes:
        raise GisError(f"{name}, column {header!r}: {len(clashes)} unit(s) in two groups: " + "; ".join(clashes[:5])
                       + ("; …" if len(clashes) > 5 else ""))
    if report.reported_rows and not allow_unmatched:
        raise GisError(f"{name}: {len(report.reported_rows)} row(s) match no unit: "
                       + "; ".join(r.describe() for r in report.reported_rows[:8])
                       + "; fix them or pass --allow-unmatched to leave them out")
    groups = pd.Series({unit.adcode: group for _, unit, group in kept}, dtype="object", name="group")
    order = list(dict.fromkeys(groups))
    report.units_out = len(groups)
    return UnitGroups(groups, order, report, f"{name}, column {header!r}")
