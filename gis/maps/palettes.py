"""Colours: ColorBrewer palettes (via branca's bundled copy) and named category sets.

ColorBrewer (Cynthia Brewer, colorbrewer2.org) marks which schemes stay distinguishable for
the common forms of colour-vision deficiency. Numeric views must use one of those unless a
spec sets ``allow_unsafe_palette = true``: planners print and project these maps, and a
red-green scheme hides the very differences the map is about.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from branca.utilities import color_brewer

#: Sequential and diverging ColorBrewer schemes flagged colour-blind safe on colorbrewer2.org.
COLORBLIND_SAFE = (
    "Blues", "BuGn", "BuPu", "GnBu", "Greens", "Greys", "OrRd", "Oranges", "PuBu", "PuBuGn",
    "PuRd", "Purples", "RdPu", "Reds", "YlGn", "YlGnBu", "YlOrBr", "YlOrRd",
    "BrBG", "PiYG", "PRGn", "PuOr", "RdBu", "RdYlBu",
)
#: ColorBrewer schemes that are not colour-blind safe; allowed only on explicit request.
NOT_COLORBLIND_SAFE = ("RdGy", "RdYlGn", "Spectral")

#: Fill of units without a value: light grey under dark hatching, unlike any palette colour.


def check_palette(name: object, classes: int, allow_unsafe: bool) -> str:
    """Return ``name`` if it is a usable ColorBrewer scheme for ``classes`` classes.

    Raises ``ValueError`` with the allowed names otherwise.
    """
    allowed = COLORBLIND_SAFE + (NOT_COLORBLIND_SAFE if allow_unsafe else ())
    if name not in allowed:
        hint = "" if allow_unsafe else " (others need allow_unsafe_palette = true)"
        raise ValueError(f"{name!r} is not allowed; colour-blind-safe ColorBrewer schemes: "
                         f"{', '.join(COLORBLIND_SAFE)}{hint}")
    return str(name)


def palette_colours(name: str, classes: int, reverse: bool = False) -> list[str]:
    """``classes`` hex colours of ColorBrewer scheme ``name``, light to dark (or reversed)."""
    if classes < 3:
        # ColorBrewer starts at three classes; two classes take its lightest and darkest.
        colours = [c.lower() for c in color_brewer(name, 3)][:: 3 - classes + 1][:classes]
        colours = colours if classes == 2 else colours[:1]
    else:
        colours = [c.lower() for c in color_brewer(name, classes)]
    return colours[::-1] if reverse else colours


@lru_cache(maxsize=1)
def _category_sets() -> dict:
    path = resources.files("gis").joinpath("assets", "maps", "categories.toml")
    with path.open("rb") as f:
        return tomllib.load(f)


def load_categories(name: str) -> list[dict]:
    """Rows ``{value, color, label_zh, label_en}`` of a named set in ``assets/maps/categories.toml``.

    Raises ``KeyError`` (message lists the known names) for an unknown set.
    """
    sets = _category_sets()
    if name not in sets:
        raise KeyError(f"{name!r} is not a known category set; allowed: {', '.join(sets)}")
    return [dict(row) for row in sets[name]["classes"]]
