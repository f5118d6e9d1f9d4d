"""Web assets shipped in the package (``gis/assets/``), read for inlining into map pages.

Leaflet 1.9.4 is vendored from the npm registry (``npm pack leaflet@1.9.4``, BSD-2-Clause,
``gis/assets/leaflet/LICENSE``). Maps must work with no network at all, so everything a page
needs is copied into the page: CSS images become ``data:`` URIs and the source-map comment
is dropped (developer tools would otherwise try to fetch ``leaflet.js.map``).
"""

from __future__ import annotations

import base64
import json
import re
from functools import lru_cache
from importlib import resources

LEAFLET_VERSION = "1.9.4"


def _asset(*parts: str):
    return resources.files("gis").joinpath("assets", *parts)


def _text(*parts: str) -> str:
    return _asset(*parts).read_text(encoding="utf-8")


def _data_uri(match: re.Match) -> str:
    png = _asset("leaflet", *match.group(1).split("/")).read_bytes()
    return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


@lru_cache(maxsize=1)
def leaflet_css() -> str:
    """Leaflet's stylesheet with its images embedded as data URIs."""
    return re.sub(r"url\((images/[a-z0-9-]+\.png)\)", _data_uri, _text("leaflet", "leaflet.css"))


@lru_cache(maxsize=1)
def leaflet_js() -> str:
    """Leaflet's minified script without the ``sourceMappingURL`` comment."""
    return re.sub(r"//# sourceMappingURL=\S+\s*$", "", _text("leaflet", "leaflet.js"))


@lru_cache(maxsize=1)
def leaflet_marker_defaults() -> str:
    """Script giving Leaflet's default marker its images as data URIs. Leaflet would look for
    ``marker-icon.png`` beside the page; this way a marker added to a map (with folium, in a
    notebook) draws with no request."""
    def uri(name: str) -> str:
        return "data:image/png;base64," + base64.b64encode(_asset("leaflet", "images", name).read_bytes()).decode("ascii")

    icons = {"iconUrl": uri("marker-icon.png"), "iconRetinaUrl": uri("marker-icon-2x.png"),
             "shadowUrl": uri("marker-shadow.png")}
    return 'L.Icon.Default.imagePath = "";\nL.Icon.Default.mergeOptions(' + json.dumps(icons) + ");"


@lru_cache(maxsize=1)
def leaflet_license() -> str:
    """Leaflet's BSD-2-Clause licence text (its copyright notice goes into every page)."""
    return _text("leaflet", "LICENSE")


@lru_cache(maxsize=1)
def planner_css() -> str:
    """Stylesheet of the planner maps (title, legend, year control, tooltip, popup)."""
    return _text("maps", "planner-map.css")


@lru_cache(maxsize=1)
def planner_js() -> str:
    """Script of the planner maps (``window.GisMap.init``)."""
    return _text("maps", "planner-map.js")


def inline_safe(text: str, tag: str) -> str:
    """``text`` for the body of an inline ``<script>`` / ``<style>``: no closing tag inside."""
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.IGNORECASE)
