"""Fill-in tables for users' own data: one row per unit, one empty column per indicator, and a
sheet describing every indicator (label, unit, direction, valid range)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gis._files import atomic_path, write_csv
from gis.tables.indicators import registry, units


def write_template(boundaries, level: str, year: int | None, path: Path) -> tuple[int, int]:
    """Write the fill-in table of ``boundaries``' ``level`` (``counties`` / ``prefectures``) to
    ``path`` (.xlsx with a description sheet, or .csv with the descriptions as # comments);
    return (units, indicators)."""
    table = template_frame(boundaries, level, year)
    notes = indicator_notes()
    if Path(path).suffix.lower() == ".xlsx":
        _write_template_xlsx(table, notes, path)
    else:
        _write_template_csv(table, notes, path)
    return len(table), len(notes)


def template_frame(boundaries, level: str, year: int | None) -> pd.DataFrame:
    """The fill-in table: adcode, name, prefecture (counties), year (if not in the headers)
    and one empty column per registry indicator (``<name>_<year>`` when ``year`` is given)."""
    reg = registry()
    if level == "counties":
        units_frame = boundaries.counties
        table = pd.DataFrame({"adcode": units_frame["adcode"], "name": units_frame["name"], "prefecture": units_frame["prefecture_name"]})
    else:
        units_frame = boundaries.prefectures
        table = pd.DataFrame({"adcode": units_frame["adcode"], "name": units_frame["name"]})
    if year is None:
        table["year"] = ""
    for indicator in reg.index:
        table[indicator if year is None else f"{indicator}_{year}"] = ""
    return table.reset_index(drop=True)


def indicator_notes() -> pd.DataFrame:
    """One row per indicator: name, Chinese and English label, unit (and its Chinese label),
    direction, group, valid range and note — the template's description sheet."""
    reg = registry().reset_index()
    unit_zh = units()["label_zh"]
    return pd.DataFrame(
        {
            "indicator": reg["indicator"],
            "label_zh": reg["label_zh"],
            "label_en": reg["label_en"],
            "unit": reg["unit"],
            "unit_zh": reg["unit"].map(unit_zh).fillna(""),
            "direction": reg["direction"],
            "group": reg["group"],
            "min_value": reg["min_value"],
            "max_value": reg["max_value"],
            "note": reg["note"].fillna(""),
        }
    )


def _write_template_xlsx(table: pd.DataFrame, notes: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as temporary, pd.ExcelWriter(temporary, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name="data", index=False)
        notes.to_excel(writer, sheet_name="indicators 指标说明", index=False)
        sheet = writer.sheets["data"]
        sheet.freeze_panes = "C2"  # keep codes and names in view while filling in to the right
        for column in ("A", "B", "C"):
            sheet.column_dimensions[column].width = 14


def _write_template_csv(table: pd.DataFrame, notes: pd.DataFrame, path: Path) -> None:
    lines = [
        "# Fill-in table for gis check / gis build. Lines starting with # are ignored.",
        "# 填写说明：每行一个县（市、区）；数值按下列单位填写；缺失值留空或填 —。",
        "# indicator | 中文名称 | unit 单位 | direction | valid range",
    ]
    for row in notes.itertuples():
        low = "" if pd.isna(row.min_value) else f"{row.min_value:g}"
        high = "" if pd.isna(row.max_value) else f"{row.max_value:g}"
        unit = f"{row.unit} ({row.unit_zh})" if row.unit_zh else row.unit
        lines.append(f"# {row.indicator} | {row.label_zh} | {unit} | {row.direction} | {low}..{high}".replace(",", "，"))
    write_csv(table, path, comment_lines=lines)
