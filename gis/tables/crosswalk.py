"""The crosswalk of renamed, merged and split units, and the matcher that finds a row's unit.

The crosswalk (``gis/data/<province>/crosswalk.csv``) has one row per change since 2000:
``renamed`` (same territory, new name or code: mapped), ``merged`` (the unit no longer exists:
reported), ``split`` (values for years before the split cover several of today's units:
reported for those years) and ``boundary_changed`` (the unit gained or lost parts: values for
earlier years are kept with a warning).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

from gis.tables.names import AGGREGATE_NAMES, name_stem, normalise_code, normalise_name
from gis.units.boundaries import Boundaries

# --------------------------------------------------------------------------------------------
# Crosswalk


@cache
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
        # Indexed once, so the join asks per unit and year without scanning the crosswalk.
        self.splits_by_old: dict[str, list] = {}
        self.boundary_changes_by_new: dict[str, list] = {}
        for r in self.crosswalk.itertuples():
            if r.kind == "split":
                self.splits_by_old.setdefault(r.old_adcode, []).append(r)
            elif r.kind == "boundary_changed":
                self.boundary_changes_by_new.setdefault(r.new_adcode, []).append(r)

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
                    return Resolution(
                        None,
                        reason=f"{by_code.reason}; the name {name_text} would be {by_name.unit.label()}: correct the code or leave it blank",
                        candidates=(by_name.unit.label(),),
                    )
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
            return Resolution(
                unit,
                how="old name or code",
                renamed_from=f"{old_label}: {unit.label()}, was {change.old_name} ({change.old_adcode}) until {change.effective_year}",
            )
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
        for change in self.splits_by_old.get(adcode, ()):
            if year < change.effective_year:
                parts = ", ".join(self.units[c].label() if c in self.units else c for c in change.new_adcode.split(";"))
                return (
                    f"{change.old_name} before {change.effective_year} is the territory split in {change.effective_year} "
                    f"into {parts}; the {year} value cannot be assigned to one of them"
                )
        return None

    def boundary_notes(self, adcode: str, year: int) -> list[str]:
        """Boundary changes of ``adcode`` after ``year`` (the value covers a different area)."""
        changes = self.boundary_changes_by_new.get(adcode, ())
        return [f"boundaries changed in {r.effective_year} ({r.source})" for r in changes if year < r.effective_year]
