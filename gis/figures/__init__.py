"""Print-ready figures (PNG, SVG, PDF) of the map specs the HTML pages are drawn from.

:func:`draw_figure` (:mod:`gis.figures.draw`, the only module importing matplotlib) draws one
view of a spec; :func:`write_figures` writes a build's figures. :mod:`gis.figures.fonts` finds
a font with Chinese glyphs, :mod:`gis.figures.projection` the Albers projections.
"""

from gis._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "draw_figure": "draw",
    "figure_name": "write",
    "figure_views": "write",
    "write_figure": "write",
    "write_figures": "write",
    "cjk_font": "fonts",
    "china_albers": "projection",
    "fitted_albers": "projection",
})
