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

#: Qualitative palettes for categories read from the data (``categories = "@data"``).
#: Okabe & Ito (2008, "Color Universal Design", jfly.iam.u-tokyo.ac.jp/color): eight colours
#: told apart under every common colour-vision deficiency, black left out (it is the outline).
QUALITATIVE = {
    "Okabe-Ito": ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#999999"),
}
#: ColorBrewer's Set3 (12 colours) takes over past eight categories: no qualitative palette
#: of more colours stays colour-blind safe, and the legend says so.
_MANY = "Set3"


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


def category_colours(name: str, count: int) -> tuple[list[str], str]:
    """``count`` fill colours for categories found in the data, and a legend note ("" if none).

    ``name`` is a :data:`QUALITATIVE` palette or a colour-blind-safe ColorBrewer scheme (for
    ordered classes, light to dark). A qualitative palette with too few colours gives way to
    ColorBrewer Set3 (12 colours, not colour-blind safe) and past 12 the colours repeat; the
    note says which, so a reader does not take two units of one colour for one class.
    """
    if count <= 0:
        return [], ""
    if name not in QUALITATIVE:
        if count <= 9:
            return palette_colours(name, count), ""
        # ColorBrewer's sequential schemes stop at 9 classes; branca interpolates beyond.
        return [c.lower() for c in color_brewer(name, count)][:count], ""
    base = list(QUALITATIVE[name])
    if count <= len(base):
        return base[:count], ""
    many = [c.lower() for c in color_brewer(_MANY, 12)]
    if count <= len(many):
        return many[:count], f"{count} 类超过 {len(base)} 色：颜色不保证色盲可辨 / {count} classes: colours not colour-blind safe"
    colours = [many[i % len(many)] for i in range(count)]
    return colours, f"{count} 类，颜色重复使用，请以标签为准 / {count} classes: colours repeat, read the labels"


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
