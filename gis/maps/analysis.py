"""Offline HTML maps of the analysis commands (``gis index``, ``gis geodetector``,
``gis inequality`` and ``gis lisa`` with ``--map``).

Their specs are data shipped in ``gis/assets/maps/<name>.toml`` (not in ``maps/``: they draw
one command's result, not the build's layers). A spec names a measure by its plain column
(``score``, ``rank``); the command's frame holds it once per year as ``<measure>_<year>``,
and :func:`by_year` points the spec's views and popup rows at those columns, so a panel gets
a year control and every year's value in the popup. Units are EPSG:4326 (WGS-84) polygons.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

import pandas as pd

from gis.maps.spec import FieldLabel, MapSpec, load_spec


def analysis_spec(name: str) -> MapSpec:
    """The shipped spec ``gis/assets/maps/<name>.toml``, validated (its page goes to the
    command's ``--map`` path, never beside an index, so ``index`` is a name it may take)."""
    with resources.as_file(resources.files("gis").joinpath("assets", "maps", f"{name}.toml")) as path:
        return load_spec(path, beside_index=False)


def by_year(spec: MapSpec, columns, years: list[int]) -> MapSpec:
    """``spec`` with every one-column view and popup field ``m`` that ``columns`` hold as
    ``m_<year>`` for each of ``years`` turned into those per-year columns (views get a year
    control starting at the last year; popups one row per year, labelled with it). Measures
    the frame lacks (no coupling without subsystems) are left as they are, so the page leaves
    them out and says so in its notes."""
    columns = set(columns)

    def per_year(measure: str) -> bool:
        return bool(years) and all(f"{measure}_{y}" in columns for y in years)

    views = []
    for view in spec.views:
        measure = view.columns.get(None) if list(view.columns) == [None] else None
        if measure is not None and per_year(measure):
            view = replace(view, columns={y: f"{measure}_{y}" for y in years}, initial_year=max(years))
        views.append(view)
    fields, popup = dict(spec.fields), []
    for name in spec.popup_fields:
        if not per_year(name):
            popup.append(name)
            continue
        label = fields.get(name, FieldLabel(name, name))
        for y in years:
            fields[f"{name}_{y}"] = FieldLabel(f"{label.label_zh}（{y}年）", f"{label.label_en} ({y})", label.unit)
            popup.append(f"{name}_{y}")
    return replace(spec, views=tuple(views), fields=fields, popup_fields=tuple(popup))


def analysis_page(spec: MapSpec, frame, level: str, data_source: str, view=None, year=None):
    """``spec`` drawn on ``frame`` (units of ``level``, ``counties`` or ``prefectures``, with
    ``adcode``, ``name``, geometry and the spec's columns; units without a value hold NaN
    and show as no data), citing ``data_source`` for every value drawn: a
    :class:`gis.maps.render.PlannerPage` (its folium map and notes)."""
    from gis.maps.render import MapSkipped, build_page

    spec = replace(spec, layer=level)
    sources = pd.DataFrame([{"layer": level, "column": "*", "source": data_source}])
    try:
        return build_page(spec, {level: frame, "sources": sources}, spec.basemap, initial_view=view, initial_year=year)
    except MapSkipped as reason:
        from gis.errors import GisError

        raise GisError(f"map {spec.name!r} cannot be drawn: {reason}") from None


def write_analysis_map(spec: MapSpec, frame, level: str, data_source: str, map_path: Path) -> list[str]:
    """Render ``spec`` on ``frame`` (see :func:`analysis_page`) into ``map_path``,
    atomically. Returns the page's notes (views or fields left out)."""
    from gis._files import write_text_atomic

    page = analysis_page(spec, frame, level, data_source)
    write_text_atomic(map_path, page.html)
    return page.notes
