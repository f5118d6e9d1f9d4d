"""Where the shipped layer and map specs are: inside the package, or beside it in a checkout.

The specs live in the repository's top-level ``layers/`` and ``maps/`` (the product's layout);
the wheel carries them as package data, ``gis/_specs/layers`` and ``gis/_specs/maps`` (mapped
at build time by hatchling's ``force-include``, not a second copy in git). An editable install
or a plain checkout reads them from the repository. A user's ``--layers-dir`` / ``--maps-dir``
overrides both.
"""

from __future__ import annotations

from pathlib import Path

from gis.errors import GisError

_PACKAGE = Path(__file__).resolve().parent
KINDS = ("layers", "maps")


def specs_dir(kind: str) -> Path:
    """The folder of the shipped ``kind`` specs (``"layers"`` or ``"maps"``)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    for candidate in (_PACKAGE / "_specs" / kind, _PACKAGE.parent / kind):
        if candidate.is_dir():
            return candidate
    raise GisError(f"the shipped {kind} specs are missing (looked in {_PACKAGE / '_specs' / kind}); "
                   f"reinstall the package or pass --{kind}-dir")
