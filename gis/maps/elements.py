"""The planner page as a folium map: folium's ``Map``, ``FeatureGroup``, ``TileLayer`` and
``LayerControl``, and our own elements (:class:`branca.element.MacroElement`) for the page's
parts — the inlined assets, the title and footer, the units with their views, each overlay,
the China map standard's line and inset, the legend and the year slider.

Each element's script calls a function of the planner script (``GisMap.init``,
``GisMap.overlay``, …, ``gis/assets/maps/planner-map.js``) in the order folium renders the
map's children, which is the order Leaflet stacks the controls in. The page stays offline:
the map lists no CDN links (:class:`PlannerMap`), Leaflet and the planner script are inlined
by :class:`Assets`, and tiles exist only with a basemap.

Our elements are rendered verbatim (:class:`VerbatimElement`): branca compiles every
element's rendered text as a Jinja template once more, which would cost about 0.1 s per
megabyte of a page's data and evaluate any ``{{ … }}`` in a unit's name. Their templates
are compiled once, with the class; the data are put in as values. Texts that go through
folium's own elements (layer names in the layer control) are made inert with
:func:`inert`.

This module imports folium (about 0.2 s, with requests): it is imported only where a page is
drawn.
"""

from __future__ import annotations

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template


def inert(text: str) -> str:
    """HTML ``text`` with ``{`` written as ``&#123;``, so folium's second pass through Jinja
    leaves it as it is (a layer name is HTML in Leaflet's layer control)."""
    return text.replace("{", "&#123;")


class _Text(Element):
    """Rendered text placed into the page as it is (not compiled as a template)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def render(self, **kwargs) -> str:
        return self.text


class VerbatimElement(MacroElement):
    """A MacroElement whose rendered header, html and script go into the page as they are."""

    def render(self, **kwargs):
        figure = self.get_root()
        assert isinstance(figure, Figure), "an element is rendered inside a folium Figure"
        macros = self._template.module.__dict__
        for part in ("header", "html", "script"):
            if part in macros:
                getattr(figure, part).add_child(_Text(str(macros[part](self, kwargs))), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


#: Names of the page's assets and of its layer control among the map's children.
ASSETS, LAYER_CONTROL = "gis_assets", "gis_layers"


class PageFigure(Figure):
    """folium's page (``Figure``) declared Chinese: ``<html lang="zh-CN">``."""

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n'
        "<head>\n"
        "{{this.header.render(**kwargs)}}\n"
        "</head>\n"
        "<body>\n"
        "{{this.html.render(**kwargs)}}\n"
        "<script>\n"
        "{{this.script.render(**kwargs)}}\n"
        "</script>\n"
        "</body>\n"
        "</html>\n"
    )


class PlannerMap(folium.Map):
    """A folium map without folium's CDN links (Leaflet is inlined by :class:`Assets`).

    zoomSnap 0.25: fitBounds can then fill the window instead of jumping a whole zoom level;
    ``GisMap.fit`` fits the map to the data, so the first centre and zoom are placeholders.
    The map's id (``map_<name>``) names its ``<div>`` and its JavaScript variable.
    """

    default_js: list = []
    default_css: list = []

    def __init__(self, map_id: str):
        super().__init__(location=[30.0, 120.0], zoom_start=7, tiles=None, zoom_control=False, zoomSnap=0.25)
        self._id = map_id
        PageFigure().add_child(self)

    def get_name(self) -> str:
        return self._id

    def render(self, **kwargs):
        """Render with the layer control last, so that it lists (and its script follows)
        layers added after the page was built, as in a notebook."""
        control = self._children.pop(LAYER_CONTROL, None)
        if control is not None:
            self._children[LAYER_CONTROL] = control
        assets = self._children.get(ASSETS)
        if assets is not None:
            # Leaflet's stylesheet goes before folium's styles of the map (which set the
            # map's font size to 1rem), so they apply as they did on folium's own pages.
            assets.render(**kwargs)
        super().render(**kwargs)


class Assets(VerbatimElement):
    """``<head>``: title, metadata read back by index.html, Leaflet and the planner script."""

    _template = Template("{% macro header(this, kwargs) %}{{ this.head }}{% endmacro %}")

    def __init__(self, head: str):
        super().__init__()
        self._name = "GisAssets"
        self.head = head


class Block(VerbatimElement):
    """A panel of the page (title, footer, legend: escaped HTML, hidden until placed) shown
    as a Leaflet control at ``position``."""

    _template = Template(
        "{% macro html(this, kwargs) %}{{ this.block }}{% endmacro %}"
        "{% macro script(this, kwargs) %}"
        "GisMap.block({{ this._parent.get_name() }}, {{ this.block_id }}, {{ this.position }});\n"
        "{% endmacro %}"
    )

    def __init__(self, block_id: str, html: str, position: str):
        super().__init__()
        self._name = "GisBlock"
        self.block, self.block_id, self.position = html, f'"{block_id}"', f'"{position}"'


class Units(VerbatimElement):
    """The units of the page, with every view's classes and texts: ``GisMap.init(map,
    config, units, overlays)`` with the page's payload (JSON written for a script element).
    Adds the zoom and scale controls and the attributions."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "GisMap.init({{ this._parent.get_name() }}, {{ this.payload }});\n"
        "{% endmacro %}"
    )

    def __init__(self, payload: str):
        super().__init__()
        self._name = "GisUnits"
        self.payload = payload


class Overlay(VerbatimElement):
    """Overlay ``index`` of the units' payload (an outline or a grid image), drawn into the
    feature group this element is added to."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "GisMap.overlay({{ this._parent.get_name() }}, {{ this.index }});\n"
        "{% endmacro %}"
    )

    def __init__(self, index: int):
        super().__init__()
        self._name = "GisOverlay"
        self.index = int(index)


class View(VerbatimElement):
    """Marks the feature group it is added to as view ``index``: a base layer of the layer
    control that, when chosen, colours the units by that view."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "GisMap.view({{ this._parent.get_name() }}, {{ this.index }});\n"
        "{% endmacro %}"
    )

    def __init__(self, index: int):
        super().__init__()
        self._name = "GisView"
        self.index = int(index)


class ChinaStandard(VerbatimElement):
    """The China map standard (:mod:`gis.maps.china`): the maritime line on the map and the
    南海诸岛 inset in the lower right, from the units' payload."""

    _template = Template("{% macro script(this, kwargs) %}GisMap.standard({{ this._parent.get_name() }});\n{% endmacro %}")

    def __init__(self):
        super().__init__()
        self._name = "GisChinaStandard"


class YearSlider(VerbatimElement):
    """The year slider (lower left) over the current view's years."""

    _template = Template("{% macro script(this, kwargs) %}GisMap.years({{ this._parent.get_name() }});\n{% endmacro %}")

    def __init__(self):
        super().__init__()
        self._name = "GisYearSlider"


class Fit(VerbatimElement):
    """Fits the map to the units once the page's layers and controls are on it."""

    _template = Template("{% macro script(this, kwargs) %}GisMap.fit({{ this._parent.get_name() }});\n{% endmacro %}")

    def __init__(self):
        super().__init__()
        self._name = "GisFit"


def feature_group(name_html: str, overlay: bool, show: bool) -> folium.FeatureGroup:
    """A folium feature group listed in the layer control under ``name_html`` (escaped HTML)."""
    return folium.FeatureGroup(name=inert(name_html), overlay=overlay, show=show)


def tile_layer(url: str, options: dict) -> folium.TileLayer:
    """A basemap's tiles (not listed in the layer control); ``options`` as Leaflet's, with
    ``attribution``."""
    options = dict(options)
    attribution = inert(options.pop("attribution", ""))
    layer = folium.TileLayer(tiles=url, attr=attribution or "-", max_zoom=options.pop("maxZoom", 18), control=False,
                             **options)
    if not attribution:  # a second layer of one basemap (Tianditu's labels) credits nobody again
        layer.options.pop("attribution", None)
    return layer




def layer_control() -> folium.LayerControl:
    """The control of views (base layers) and overlays, top right, open."""
    return folium.LayerControl(position="topright", collapsed=False)
