"""The maps as :class:`folium.Map` objects, for notebooks and scripts.

:func:`folium_map` draws a map spec (a shipped map or a TOML file) on a province's layers,
built as ``gis build`` builds them; :func:`analysis_map` draws an analysis result with one of
the analysis commands' specs. Both return the page ``gis build`` would write, as a folium map:
shown inline in Jupyter (``_repr_html_``: the page in an ``<iframe>``, offline like the file),
extended with folium (``folium.GeoJson(…).add_to(m)``; added layers appear in the page's layer
control) and written with ``m.save("map.html")``. ``m.notes`` lists the parts left out (a view
without data, a popup field the layer lacks).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from gis.errors import GisError
from gis.maps.spec import MapSpec, load_spec


def _map_spec(spec: str | Path | MapSpec) -> MapSpec:
    """``spec`` loaded: a :class:`MapSpec`, a TOML file, or the name of a shipped map."""
    if isinstance(spec, MapSpec):
        return spec
    path = Path(spec)
    if path.suffix.lower() == ".toml" or path.exists():
        return load_spec(path)
    from gis.maps import default_spec_paths

    shipped = {p.stem: p for p in default_spec_paths()}
    if str(spec) not in shipped:
        raise GisError(f"map {spec!r}: not a TOML file nor a shipped map; shipped: {', '.join(sorted(shipped))}")
    return load_spec(shipped[str(spec)])


def _finish(page):
    """The page's folium map, with its notes."""
    page.map.notes = list(page.notes)
    return page.map


def folium_map(spec: str | Path | MapSpec, province: str = "330000", data: Iterable[str | Path] = (),
               year: int | None = None, view: int | str | None = None, *, basemap: str | None = None,
               data_year: int | None = None, allow_unmatched: bool = False):
    """The map of ``spec`` for ``province`` as a :class:`folium.Map`.

    Parameters
    ----------
    spec
        A shipped map's name (``"county_degurba"``, ``"prefecture_income_ratio"``: the files
        of ``maps/``), a map spec file (TOML) or a loaded :class:`MapSpec`.
    province
        6-digit province adcode (default 330000, Zhejiang), or ``"all"`` for a national map
        of prefectures (county maps are drawn one province at a time).
    data
        Users' indicator tables (CSV/XLSX) joined to the units, as ``gis build --data``.
    year, view
        What the map opens on: the year (of the first view, or of ``view``) and the view, by
        position (0 the first) or by indicator, column or label. Default: the first view at
        its spec's ``initial_year`` or its last year.
    basemap
        ``none``, ``osm``, ``amap`` or ``tianditu``; default the spec's (``none``: no tiles,
        no network request).
    data_year, allow_unmatched
        As ``--year`` and ``--allow-unmatched`` of ``gis build``: the year of tables without
        a year column, and whether rows matching no unit are only reported.

    Returns
    -------
    folium.Map
        Units in EPSG:4326 (Leaflet's Web Mercator on screen), GCJ-02 with ``basemap="amap"``.

    Raises
    ------
    GisError
        A bad spec or table, a view or year the map lacks, or a map that cannot be drawn from
        the data (the reason, e.g. the column it needs).
    """
    from gis.build.assemble import assemble
    from gis.maps import _page_provinces, _provinces, china
    from gis.maps.pages import MIN_NATIONAL_COVERAGE
    from gis.maps.render import MapSkipped, build_page

    loaded = _map_spec(spec)
    built = assemble(province, tuple(data), allow_unmatched, data_year)
    if loaded.layer == "counties" and _provinces(built.tables) > 1:
        raise GisError(f"map {loaded.name!r} draws counties: a county map covers one province; pass its code")
    loaded = loaded.for_place(*built.place)
    codes = _page_provinces(loaded, built.tables)
    try:
        page = build_page(loaded, dict(built.tables), basemap or loaded.basemap, standard=china.needs_standard(codes),
                          min_coverage=MIN_NATIONAL_COVERAGE if len(codes) > 1 else 0.0, rasters=built.rasters,
                          initial_view=view, initial_year=year)
    except MapSkipped as reason:
        raise GisError(f"map {loaded.name!r} cannot be drawn: {reason}") from None
    return _finish(page)


def analysis_map(spec: str | Path | MapSpec, frame, level: str = "counties", data_source: str = "",
                 years: list[int] | None = None, tokens: Mapping[str, str | tuple[str, str]] | None = None,
                 view: int | str | None = None, year: int | None = None):
    """An analysis result drawn with an analysis map spec, as a :class:`folium.Map`.

    Parameters
    ----------
    spec
        ``"index"``, ``"geodetector"``, ``"inequality"`` or ``"lisa"`` (the specs the commands'
        ``--map`` use, ``gis/assets/maps/``), a TOML file or a :class:`MapSpec`.
    frame
        GeoDataFrame of the units (EPSG:4326 or any CRS it can be converted from) with
        ``adcode``, ``name`` and the spec's columns (e.g. ``lisa_cluster``, ``lisa_i``,
        ``lisa_p``; the units layer of the GeoPackage the command wrote has them). Units
        without a value show as no data.
    level
        ``counties`` or ``prefectures``: the level the units are at.
    data_source
        Where the values come from, cited on the map.
    years
        For a panel whose measures are columns ``<measure>_<year>``: the years, giving the
        map a year slider (as ``gis index --years``).
    tokens
        Texts for the spec's ``{key}`` tokens (``{"indicator": ("农村居民收入", "rural
        income"), "year": "2020"}``); a plain string serves both languages.
    view, year
        What the map opens on, as for :func:`folium_map`.
    """
    from gis.maps.analysis import analysis_page, analysis_spec

    if isinstance(spec, str) and not spec.lower().endswith(".toml") and not Path(spec).exists():
        loaded = analysis_spec(spec)
    else:
        loaded = _map_spec(spec)
    if tokens:
        pairs = {k: (v, v) if isinstance(v, str) else tuple(v) for k, v in tokens.items()}
        loaded = loaded.with_tokens({k: v[0] for k, v in pairs.items()}, {k: v[1] for k, v in pairs.items()})
    if years:
        from gis.maps.analysis import by_year

        loaded = by_year(loaded, frame.columns, list(years))
    return _finish(analysis_page(loaded, frame, level, data_source, view=view, year=year))
