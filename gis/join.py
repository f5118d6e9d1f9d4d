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

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

from gis.boundaries import Boundaries
from gis.errors import GisError
from gis.indicators import LONG_COLUMNS, registry
from gis.tables import (
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

#: The 56 officially recognised ethnic groups' names as they appear in autonomous counties'
#: names (景宁畲族自治县), plus 各族; used only to strip a name down to its stem.
ETHNIC_NAMES = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 "
    "景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 "
    "保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 汉 各"
).split()

#: Names of aggregate rows in yearbooks (province or city totals) that are not one unit.
AGGREGATE_NAMES = ("合计", "总计", "全市", "市区", "市辖区", "全国", "其中")

#: Derived indicators: name -> (operation, first input, second input). Ratios compare by
#: relative difference; gaps by difference relative to the larger input.
DERIVATIONS = {
    "income_ratio": ("ratio", "urban_income", "rural_income"),
    "income_gap": ("difference", "urban_income", "rural_income"),
    "ageing_gap_60plus": ("difference", "share_aged_60plus_rural", "share_aged_60plus_urban"),
    "ageing_gap_65plus": ("difference", "share_aged_65plus_rural", "share_aged_65plus_urban"),
}

#: A supplied derived value further than this from the recomputed one is reported (1 %).
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
    matched_by: dict[str, int] = field(default_factory=dict)

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
                f"+ {f.values_reported} reported"
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


# --------------------------------------------------------------------------------------------
# Names


def normalise_name(text: object) -> str:
    """A unit name as written, with full-width forms folded, all spaces removed (yearbooks pad
    two-character names: ``桐　庐``) and trailing footnote marks (``*``, ``①``) dropped."""
    text = unicodedata.normalize("NFKC", "" if text is None else str(text))
    text = re.sub(r"\s+", "", text)
    if text.isdigit():
        return text
    # NFKC has turned circled footnote numbers (①) into digits; unit names never end in one.
    return re.sub(r"[*#\d()]+$", "", text)


def normalise_code(cell: object) -> str:
    """An adcode cell as text: full-width digits folded, spaces and Excel's trailing '.0' removed."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(cell)))
    return text[:-2] if text.endswith(".0") else text


def name_stem(name: str) -> str:
    """A unit name without its administrative suffix: 淳安县 → 淳安, 景宁畲族自治县 → 景宁,
    杭州市 → 杭州. Names of two characters keep their suffix (城区 stays 城区)."""
    stem = name
    if stem.endswith(("自治县", "自治旗", "自治州")):
        stem = stem[:-3]
        changed = True
        while changed:
            changed = False
            for ethnic in ETHNIC_NAMES:
                if stem.endswith(ethnic + "族") and len(stem) > len(ethnic) + 1:
                    stem = stem[: -len(ethnic) - 1]
                    changed = True
        return stem
    for suffix in ("特别行政区", "自治区", "地区", "省", "盟", "市", "县", "区", "旗"):
        if stem.endswith(suffix) and len(stem) - len(suffix) >= 2:
            return stem[: -len(suffix)]
    return stem


# --------------------------------------------------------------------------------------------
# Crosswalk


@lru_cache(maxsize=None)
def crosswalk(province: str) -> pd.DataFrame:
    """The crosswalk of renamed, merged, split and boundary-changed units for ``province``
    (``gis/data/<province>/crosswalk.csv``; every province's for ``"all"``); empty if none.

    Columns: ``old_adcode``, ``old_name``, ``new_adcode`` and ``new_name`` (``;``-separated
    where one old unit went to several), ``kind``, ``effective_year`` (int: the first year
    whose data use the new units), ``source``, ``verified``.
    """
    columns = ["old_adcode", "old_name", "new_adcode", "new_name", "kind", "effective_year", "source", "verified"]
    root = resources.files("gis").joinpath("data")
    paths = sorted(root.glob("*/crosswalk.csv")) if province == "all" else [root.joinpath(province, "crosswalk.csv")]
    tables = []
    for path in paths:
        if path.is_file():
            with path.open(encoding="utf-8") as f:
                tables.append(pd.read_csv(f, dtype=str, keep_default_na=False))
    if not tables:
        return pd.DataFrame(columns=columns)
    table = pd.concat(tables, ignore_index=True)[columns]
    table["effective_year"] = table["effective_year"].astype(int)
    return table


@dataclass(frozen=True)
class Unit:
    """A unit of today's boundaries."""

    adcode: str
    name: str
    level: str  # province, prefecture or county
    prefecture: str  # prefecture name ('' for provinces and prefectures)

    def label(self) -> str:
        where = f", {self.prefecture}" if self.prefecture else ""
        return f"{self.name} ({self.adcode}{where})"


@dataclass(frozen=True)
class Resolution:
    """The outcome of matching one row: a unit and how it was found, or why not."""

    unit: Unit | None
    how: str = ""  # adcode / full name / name without suffix / old name or code
    reason: str = ""
    candidates: tuple[str, ...] = ()
    renamed_from: str = ""  # the old name or code, when mapped through the crosswalk


class UnitMatcher:
    """Finds today's unit for an adcode or a Chinese name within one set of boundaries."""

    def __init__(self, boundaries: Boundaries):
        self.boundaries = boundaries
        self.crosswalk = crosswalk(boundaries.code)
        units = [Unit(a, n, "province", "") for a, n in zip(boundaries.province["adcode"], boundaries.province["name"])]
        units += [Unit(a, n, "prefecture", "") for a, n in zip(boundaries.prefectures["adcode"], boundaries.prefectures["name"])]
        units += [
            Unit(a, n, "county", p or "")
            for a, n, p in zip(boundaries.counties["adcode"], boundaries.counties["name"], boundaries.counties["prefecture_name"])
        ]
        self.units = {u.adcode: u for u in units}
        self.by_name: dict[str, list[Unit]] = {}
        self.by_stem: dict[str, list[Unit]] = {}
        for unit in units:
            self.by_name.setdefault(unit.name, []).append(unit)
            self.by_stem.setdefault(name_stem(unit.name), []).append(unit)
        # Province totals are often written 全省 or with the short name (浙江).
        for unit in units[: len(boundaries.province)]:
            self.by_name.setdefault("全省", []).append(unit)
        self.old_by_code = {r.old_adcode: r for r in self.crosswalk.itertuples() if r.kind != "boundary_changed"}
        self.old_by_name: dict[str, list] = {}
        self.old_by_stem: dict[str, list] = {}
        for r in self.crosswalk.itertuples():
            if r.kind != "boundary_changed":
                self.old_by_name.setdefault(r.old_name, []).append(r)
                self.old_by_stem.setdefault(name_stem(r.old_name), []).append(r)
        self.prefecture_stems = {name_stem(n): n for n in boundaries.prefectures["name"]}

    # -- rows --------------------------------------------------------------------------------

    def resolve(self, adcode: object, name: object, prefecture: object = None) -> Resolution:
        """Find the unit of a row from its adcode and/or name (and prefecture, if given).

        With both an adcode and a name, the name must fit the unit of the code (today's or a
        former name); a contradiction is reported rather than guessed.
        """
        code_text = normalise_code(adcode)
        name_text = normalise_name(name)
        prefecture_text = normalise_name(prefecture)
        if code_text:
            by_code = self._resolve_code(code_text)
            if by_code.unit is not None and name_text and not self._name_fits(name_text, by_code):
                return Resolution(
                    None,
                    reason=f"code {code_text} is {by_code.unit.name} but the name column says {name_text}",
                    candidates=(by_code.unit.label(),),
                )
            if by_code.unit is None and name_text and not by_code.reason.startswith(("merged", "split")):
                by_name = self._resolve_name(name_text, prefecture_text)
                if by_name.unit is not None:
                    return Resolution(None, reason=f"{by_code.reason}; the name {name_text} would be {by_name.unit.label()}: correct the code or leave it blank", candidates=(by_name.unit.label(),))
            return by_code
        if name_text:
            return self._resolve_name(name_text, prefecture_text)
        return Resolution(None, reason="neither an adcode nor a name")

    def _resolve_code(self, code: str) -> Resolution:
        if code.endswith(".0"):
            code = code[:-2]
        if not re.fullmatch(r"\d{6}", code):
            return Resolution(None, reason=f"adcode {code!r} is not a 6-digit code")
        if code in self.units:
            return Resolution(self.units[code], how="adcode")
        if code in self.old_by_code:
            return self._through_crosswalk(self.old_by_code[code], old_label=code)
        return Resolution(None, reason=f"no unit with code {code} in {self.boundaries.name}")

    def _name_fits(self, name: str, resolution: Resolution) -> bool:
        unit = resolution.unit
        stems = {unit.name, name_stem(unit.name)}
        stems |= {r.old_name for r in self.crosswalk.itertuples() if r.kind in ("renamed", "split") and unit.adcode in r.new_adcode.split(";")}
        stems |= {name_stem(s) for s in list(stems)}
        return name in stems or name_stem(name) in stems or name in ("全省",)

    def _narrow(self, units: list[Unit], prefecture: str) -> list[Unit]:
        if not prefecture or len(units) <= 1:
            return units
        wanted = name_stem(prefecture)
        narrowed = [u for u in units if name_stem(u.prefecture) == wanted or (u.level == "prefecture" and name_stem(u.name) == wanted)]
        return narrowed or units

    def _resolve_name(self, name: str, prefecture: str) -> Resolution:
        # Order matters: a former full name (绍兴县, 富阳市) beats today's names by stem, so
        # 绍兴县 is not taken for 绍兴市 and 富阳市 is reported as renamed.
        for how, lookup, key in (
            ("full name", self.by_name, name),
            ("old name or code", self.old_by_name, name),
            ("name without suffix", self.by_stem, name_stem(name)),
            ("old name or code", self.old_by_stem, name_stem(name)),
        ):
            found = lookup.get(key, [])
            if how == "old name or code":
                old = list({r.old_adcode: r for r in found}.values())
                if len(old) == 1:
                    return self._through_crosswalk(old[0], old_label=name)
                if len(old) > 1:
                    return Resolution(None, reason=f"ambiguous former name {name}: " + ", ".join(f"{r.old_name} ({r.old_adcode})" for r in old))
                continue
            units = self._narrow(found, prefecture)
            if len(units) == 1:
                return Resolution(units[0], how=how)
            if len(units) > 1:
                return Resolution(
                    None,
                    reason=f"ambiguous: {name} could be " + ", ".join(u.label() for u in units) + "; add a prefecture column or use adcodes",
                    candidates=tuple(u.label() for u in units),
                )
        # A prefecture written before the county: 杭州市淳安县, 杭州淳安.
        for stem, prefecture_name in self.prefecture_stems.items():
            for prefix in (prefecture_name, stem):
                if name.startswith(prefix) and len(name) > len(prefix) + 1:
                    inner = self._resolve_name(name[len(prefix) :], prefecture_name)
                    if inner.unit is not None:
                        return inner
        return self._unmatched(name)

    def _unmatched(self, name: str) -> Resolution:
        if name.endswith(AGGREGATE_NAMES) or name in AGGREGATE_NAMES:
            reason = "an aggregate row (total or 市区 of several units), not one unit"
        else:
            reason = f"no unit of this name in {self.boundaries.name}"
        names = list(self.by_name) + list(self.old_by_name)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.4)
        if not close:
            close = difflib.get_close_matches(name_stem(name), list(self.by_stem), n=3, cutoff=0.4)
            close = [self.by_stem[s][0].name for s in close]
        labels = []
        for c in close:
            if c in self.by_name:
                labels.append(self.by_name[c][0].label())
            else:
                labels.append(f"{c} (former name)")
        return Resolution(None, reason=reason, candidates=tuple(dict.fromkeys(labels)))

    def _through_crosswalk(self, change, old_label: str) -> Resolution:
        """Map an old name or code: renamed → today's unit; merged or split → reported."""
        new_codes = change.new_adcode.split(";")
        new_labels = ", ".join(self.units[c].label() if c in self.units else c for c in new_codes)
        if change.kind == "renamed":
            unit = self.units.get(new_codes[0])
            if unit is None:
                return Resolution(None, reason=f"former unit {change.old_name} ({change.old_adcode}) maps to {change.new_adcode}, which the boundaries lack")
            return Resolution(unit, how="old name or code", renamed_from=f"{old_label}: {unit.label()}, was {change.old_name} ({change.old_adcode}) until {change.effective_year}")
        if change.kind == "merged":
            return Resolution(
                None,
                reason=f"merged away in {change.effective_year}: {change.old_name} ({change.old_adcode}) became part of {new_labels}; "
                f"its values cannot be assigned to one of today's units",
            )
        if change.kind == "split":
            if change.old_adcode in self.units:
                # The code lives on (余杭区, 苍南县): the split only matters for earlier years.
                return Resolution(self.units[change.old_adcode], how="old name or code")
            return Resolution(
                None,
                reason=f"split in {change.effective_year}: {change.old_name} ({change.old_adcode}) was divided between {new_labels}; "
                f"its values cannot be assigned to one of today's units",
            )
        return Resolution(None, reason=f"crosswalk kind {change.kind!r} not understood")

    # -- years -------------------------------------------------------------------------------

    def period_problem(self, adcode: str, year: int) -> str | None:
        """Why a value of ``adcode`` for ``year`` cannot be joined (the unit was split after
        ``year``), or None."""
        rows = self.crosswalk[(self.crosswalk["old_adcode"] == adcode) & (self.crosswalk["kind"] == "split")]
        for change in rows.itertuples():
            if year < change.effective_year:
                parts = ", ".join(self.units[c].label() if c in self.units else c for c in change.new_adcode.split(";"))
                return (
                    f"{change.old_name} before {change.effective_year} is the territory split in {change.effective_year} "
                    f"into {parts}; the {year} value cannot be assigned to one of them"
                )
        return None

    def boundary_notes(self, adcode: str, year: int) -> list[str]:
        """Boundary changes of ``adcode`` after ``year`` (the value covers a different area)."""
        rows = self.crosswalk[(self.crosswalk["new_adcode"] == adcode) & (self.crosswalk["kind"] == "boundary_changed")]
        return [f"boundaries changed in {r.effective_year} ({r.source})" for r in rows.itertuples() if year < r.effective_year]


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
