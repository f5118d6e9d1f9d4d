"""Offline, bilingual choropleth maps defined by TOML specs in ``maps/``.

:func:`render_maps` is the entry point used by ``gis build`` and ``gis map``;
:func:`folium_map` and :func:`analysis_map` give one map as a :class:`folium.Map` (for
notebooks: :mod:`~gis.maps.notebook`). Modules, one
per concern: :mod:`~gis.maps.spec` (reading and validating specs), :mod:`~gis.maps.classify` (a
view's classes, colours and legend, shared with the print figures), :mod:`~gis.maps.schemes`
(classification schemes), :mod:`~gis.maps.palettes` (colours), :mod:`~gis.maps.numbers` (formatting
by unit), :mod:`~gis.maps.geometry` (coverage simplification, GeoJSON),
:mod:`~gis.maps.raster` (grid overlays as images), :mod:`~gis.maps.assets` (vendored Leaflet),
:mod:`~gis.maps.render` (the page), :mod:`~gis.maps.elements` (its folium elements),
:mod:`~gis.maps.pages` (drawing a run's pages, in worker processes for a national build),
:mod:`~gis.maps.china` (the China map standard: maritime line, 南海诸岛 inset, footer) and
:mod:`~gis.maps.index`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np
import shapely

from gis._files import write_text_atomic
from gis.errors import GisError
from gis.maps import china
from gis.maps.index import index_html, index_map_html, province_shapes
from gis.maps.notebook import analysis_map, folium_map
from gis.maps.pages import draw_pages
from gis.maps.render import MapSkipped
from gis.maps.spec import BASEMAPS, MapSpec, SpecError, load_spec

__all__ = ["render_maps", "map_jobs", "load_spec", "MapSpec", "SpecError", "MapSkipped", "default_spec_paths", "folium_map",
           "analysis_map"]



def _print_note(spec_path: Path, message: str) -> None:
    print(f"gis map: {spec_path}: {message}", file=sys.stderr)


def default_spec_paths(maps_dir: str | Path | None = None) -> list[Path]:
    """The map specs ``*.toml`` in ``maps_dir`` (default: the shipped ones,
    :func:`gis.specs.specs_dir`), sorted."""
    from gis.specs import specs_dir

    return sorted(Path(maps_dir if maps_dir is not None else specs_dir("maps")).glob("*.toml"))


def _provinces(layers: Mapping[str, object]) -> int:
    province = layers.get("province")
    return 0 if province is None else len(province)


def _page_provinces(spec: MapSpec, layers: Mapping[str, object]) -> set[str]:
    """Province codes a page covers: the build's provinces, else those of its layer's units."""
    province = layers.get("province")
    if province is not None and len(province):
        return set(province["adcode"])
    frame = layers.get(spec.layer)
    if frame is not None and "province_adcode" in frame.columns:
        return set(frame["province_adcode"].dropna())
    return set()


def _province_layers(layers: Mapping[str, object]) -> list[tuple[str, str, str, str, dict]]:
    """``(adcode, name, English name, slug, layers)`` per province of a national build:
    prefectures and counties cut to the province's units, the grid to the cells that meet its
    bounding box (as GeoDataFrame ``.cx`` selects them). Made once for all county specs: the
    grid's bounds are computed once and each province takes a NumPy mask of them, where
    ``.cx`` tested every one of the country's cells against each province."""
    from gis.units.boundaries import province_name_en, province_slug

    province = layers["province"]
    grid = layers.get("degurba_grid")
    if grid is not None:
        grid_geometries = grid.geometry.to_numpy()
        west, south, east, north = shapely.bounds(grid_geometries).T  # NaN for missing or empty
    parts = []
    for code, name, (p_west, p_south, p_east, p_north) in zip(province["adcode"], province["name"],
                                                               shapely.bounds(province.geometry.to_numpy())):
        part = dict(layers)
        for level in ("prefectures", "counties"):
            if level in layers:
                part[level] = layers[level][layers[level]["province_adcode"] == code]
        if grid is not None:
            # A cell whose bounds miss the box cannot meet it; the few others are tested exactly.
            near = np.flatnonzero((west <= p_east) & (east >= p_west) & (south <= p_north) & (north >= p_south))
            meets = shapely.intersects(grid_geometries[near], shapely.box(p_west, p_south, p_east, p_north))
            part["degurba_grid"] = grid.iloc[near[meets]]
        parts.append((code, name, province_name_en(code), province_slug(code), part))
    return parts


def _per_province(spec: MapSpec, provinces: list[tuple[str, str, str, str, dict]]) -> list[tuple[MapSpec, dict, set[str]]]:
    """One (spec, layers) per province: ``spec`` renamed ``<name>_<province slug>`` with
    ``{place}`` the province, and the layers cut to its units (:func:`_province_layers`)."""
    return [(replace(spec, name=f"{spec.name}_{slug}").for_place(name, name_en), part, {code})
            for code, name, name_en, slug, part in provinces]


def _report_notes(notes: list[tuple[Path, str, str]], note: Callable[[Path, str], None]) -> None:
    """One line per spec and message: a message met on several pages (a national build's 34
    province pages) is said once with the number of pages."""
    grouped: dict[tuple[Path, str], list[str]] = {}
    for path, page, message in notes:
        grouped.setdefault((path, message), []).append(page)
    for (path, message), pages in grouped.items():
        if len(pages) == 1:
            note(path.with_name(f"{pages[0]}{path.suffix}"), message)
        else:
            shown = ", ".join(pages[:3]) + (", …" if len(pages) > 3 else "")
            note(path, f"{len(pages)} pages ({shown}): {message}")


def map_jobs(spec_paths: Iterable[str | Path | MapSpec], layers: Mapping[str, object],
             place: tuple[str, str] = ("", "")) -> list[tuple[MapSpec, Mapping[str, object], set[str]]]:
    """The pages a run draws: ``(spec, its layers, the province codes it covers)`` per page,
    ``{place}`` filled in; a national run's county specs once per province
    (``<spec stem>_<province slug>``, see :func:`render_maps`). Print figures use the same list."""
    loaded = [p if isinstance(p, MapSpec) else load_spec(p) for p in spec_paths]
    jobs = []
    province_parts = None
    for spec in loaded:
        if spec.layer == "counties" and _provinces(layers) > 1:
            province_parts = province_parts if province_parts is not None else _province_layers(layers)
            jobs += _per_province(spec, province_parts)
        else:
            jobs.append((spec.for_place(*place), layers, _page_provinces(spec, layers)))
    return jobs


def render_maps(
    spec_paths: Iterable[str | Path | MapSpec],
    layers: Mapping[str, object],
    out_dir: str | Path,
    basemap: str | None = None,
    on_note: Callable[[Path, str], None] | None = None,
    place: tuple[str, str] = ("", ""),
    rasters: Mapping[tuple[str, str], object] | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write one offline HTML map per spec, and ``index.html``, into ``out_dir``.

    Parameters
    ----------
    spec_paths
        Map spec files (TOML), or specs already loaded. All are validated before anything
        is written; a bad spec raises :class:`gis.errors.GisError` naming the file and key.
    layers
        ``{"prefectures": GeoDataFrame, "counties": …, "degurba_grid": …}`` in EPSG:4326.
        A map whose layer or column is missing is skipped (not an error). When ``province``
        holds several provinces (a national build), each county map is drawn once per
        province (``<spec stem>_<province>.html``, e.g. ``county_degurba_zhejiang.html``):
        all 2 875 counties on one page would be several times the size budget.
    out_dir
        Output folder, created if needed; maps are ``<spec stem>.html``.
    basemap
        ``none`` / ``osm`` / ``amap`` / ``tianditu``; overrides each spec's ``basemap``.
    on_note
        Called with (spec path, message) for each skipped map or left-out part; by default
        the message is printed to stderr.
    place
        Chinese and English name of the province or country, put for ``{place}`` in titles
        and descriptions.
    rasters
        Class rasters (:class:`gis.degurba.rasters.ClassGrid`) behind polygon layers, keyed by
        (layer, column), e.g. ``("degurba_grid", "degurba_l2")``: a grid overlay is then drawn
        as one image warped from the raster instead of from the polygons.
    workers
        Worker processes drawing the pages (:mod:`gis.maps.pages`; default ``$GIS_PROCESSES``
        or the usable CPUs, at most 4); 1 draws them one after another in this process.

    Returns
    -------
    list of Path
        The files written: the maps drawn, then ``index.html``.
    """
    if basemap is not None and basemap not in BASEMAPS:
        raise GisError(f"basemap {basemap!r} is not allowed; allowed: {', '.join(BASEMAPS)}")
    note = on_note or _print_note
    jobs = map_jobs(spec_paths, layers, place)
    specs = [spec for spec, _, _ in jobs]
    # Case-insensitively: on Windows and macOS folders a.html and A.html are one file.
    names = [s.name.casefold() for s in specs]
    duplicates = sorted({s.name for s, n in zip(specs, names) if names.count(n) > 1})
    if duplicates:
        raise GisError(f"two map specs would both write {duplicates[0]}.html: rename one")
    out = Path(out_dir)
    national = _provinces(layers) > 1
    index_provinces = None
    if national:  # the index: its inset and line made before workers start (pages share them), its
        # provinces simplified by a worker while the others draw pages
        from gis.units.boundaries import province_slug

        china.standard_payload(basemap or "none")
        index_provinces = layers["province"][["adcode", "name", "geometry"]].copy()
        index_provinces["slug"] = [province_slug(code) for code in index_provinces["adcode"]]
    outcomes, index_shapes = draw_pages(
        jobs, out, basemap, rasters, workers,
        alongside=(lambda: province_shapes(index_provinces, basemap or "none")) if national else None,
    )
    written: list[Path] = []
    skipped: dict[str, str] = {}
    notes: list[tuple[Path, str, str]] = []  # (spec file, page name, message)
    left_out: dict[str, list[str]] = {}  # page -> views left out and what they need
    for (spec, _, _), (drawn, result) in zip(jobs, outcomes):
        if drawn:
            notes += [(spec.path, spec.name, message) for message in result]
            written.append(out / f"{spec.name}.html")
            views = [re.sub(r"^view '(.*)' left out: ", r"\1：", message) for message in result if message.startswith("view ")]
            if views:
                left_out[spec.name] = views
            continue
        # The index names the map by its title, then what it needs (gis.maps.needs).
        skipped[spec.name] = f"{spec.title_zh} / {spec.title_en}：{result}"
        notes.append((spec.path, spec.name, f"map skipped: {result}"))
        stale = out / f"{spec.name}.html"
        if stale.exists():  # drawn by an earlier run from other data: no longer true
            stale.unlink()
            notes.append((spec.path, spec.name, "removed the page drawn by an earlier run"))
    _report_notes(notes, note)
    index = out / "index.html"
    if national:
        write_text_atomic(index, index_map_html(out, skipped, index_provinces, basemap or "none", index_shapes, left_out))
    else:
        write_text_atomic(index, index_html(out, skipped, left_out))
    written.append(index)
    return written
