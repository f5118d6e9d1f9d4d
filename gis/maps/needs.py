"""What a map or a view needs that a build does not have, in planners' words.

A map is skipped, or one of its views left out, when its values are missing. The console and
the index page then say *what data* it needs (the indicator's label, the level, the years) and
*the command that supplies it* (``gis template counties`` makes the fill-in table, ``gis build
--data`` joins it) — never a layer's internal column names.
"""

from __future__ import annotations

from gis.maps.spec import MapSpec, View

LEVEL_WORDS = {"counties": ("县级", "county"), "prefectures": ("地级市", "prefecture"),
               "degurba_grid": ("格网", "grid")}


def _years(view: View) -> tuple[str, str]:
    years = [y for y in view.columns if y is not None]
    if view.years_all or not years:
        return "", ""
    shown = "、".join(map(str, years))
    return f"（{shown}年）", f" ({', '.join(map(str, years))})"


def needs_text(spec: MapSpec, views: list[View] | tuple[View, ...]) -> str:
    """One bilingual sentence: the data ``views`` of ``spec`` lack and how to supply them."""
    level_zh, level_en = LEVEL_WORDS.get(spec.layer, (spec.layer, spec.layer))
    indicator_views = [v for v in views if v.indicator is not None]
    other_views = [v for v in views if v.indicator is None]
    parts = []
    if indicator_views:
        zh = "、".join(v.label_zh + _years(v)[0] for v in indicator_views)
        en = "; ".join(v.label_en + _years(v)[1] for v in indicator_views)
        table = "counties" if spec.layer == "counties" else "prefectures"
        parts.append(
            f"需要{level_zh}数据：{zh}。用 gis template {table} -o {table}.xlsx 生成填报表，填好后运行 "
            f"gis build --data {table}.xlsx --overwrite / needs {level_en} data on {en}: make a fill-in table "
            f"with gis template {table} -o {table}.xlsx, fill it in, then run gis build --data {table}.xlsx --overwrite"
        )
    if other_views:
        zh = "、".join(v.label_zh for v in other_views)
        en = "; ".join(v.label_en for v in other_views)
        degurba = any(str(c).startswith("degurba") for v in other_views for c in v.columns.values())
        hint = ("（去掉 --no-degurba 重新构建）", " (rebuild without --no-degurba)") if degurba else ("", "")
        parts.append(f"本次构建未生成{zh}{hint[0]} / this build has no {en}{hint[1]}")
    return "；".join(parts)
