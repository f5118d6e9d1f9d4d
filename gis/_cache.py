"""The user's cache folder, for results that depend only on installed data packages.

``$GIS_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/gis-urban-rural``, else
``~/.cache/gis-urban-rural``. Entries are keyed by the versions of what they were made from, so
an upgrade never reads a stale entry; deleting the folder only costs time. A cache that cannot
be written (read-only home, full disk) is skipped, never an error.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    if os.environ.get("GIS_CACHE_DIR"):
        return Path(os.environ["GIS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gis-urban-rural"
