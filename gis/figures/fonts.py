"""A font with Chinese glyphs for figures, found on the machine through matplotlib.

matplotlib's own font (DejaVu Sans) has no CJK glyphs: Chinese text would come out as boxes.
:func:`cjk_font` looks, in order, for the families of :data:`CJK_FAMILIES` among the fonts
matplotlib's font manager knows (system fonts and ``~/.fonts``), or takes the font file named by
the environment variable ``GIS_FIGURE_FONT``; with none it raises one :class:`GisError` line
saying how to get one. The font is embedded in PDFs as a subset (Type 42 / CID, so text stays
text) and named in SVGs, whose text is kept as text.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from gis.errors import GisError

#: Openly licensed first (Noto Sans CJK and Source Han Sans: SIL Open Font License 1.1), then
#: the fonts Windows and macOS ship, then common Linux ones.
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "Source Han Sans",
    "Microsoft YaHei", "PingFang SC", "Heiti SC", "SimHei", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Noto Sans CJK JP", "Noto Sans CJK TC",
)
FONT_ENV = "GIS_FIGURE_FONT"

_HOW_TO_GET_ONE = (
    "no font with Chinese glyphs found for figures (looked for Noto Sans CJK, Source Han Sans, Microsoft YaHei, "
    "PingFang, SimHei, WenQuanYi); install one (Debian/Ubuntu: apt install fonts-noto-cjk; elsewhere Noto Sans CJK "
    "from github.com/notofonts/noto-cjk, SIL OFL, into ~/.fonts) or set GIS_FIGURE_FONT to a font file"
)


@lru_cache(maxsize=4)
def _family(explicit: str | None) -> str:
    from matplotlib import font_manager

    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise GisError(f"{FONT_ENV}={explicit}: no such font file")
        try:
            font_manager.fontManager.addfont(str(path))
            return font_manager.FontProperties(fname=str(path)).get_name()
        except (OSError, RuntimeError, ValueError) as error:
            raise GisError(f"{FONT_ENV}={explicit}: not a font matplotlib can read ({error})") from None
    known = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    raise GisError(_HOW_TO_GET_ONE)


def cjk_font() -> str:
    """The font family figures are drawn in (it has Chinese and Latin glyphs).

    Raises :class:`GisError` with how to install one when the machine has none."""
    return _family(os.environ.get(FONT_ENV, "").strip() or None)
