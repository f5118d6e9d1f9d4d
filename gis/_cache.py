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


def cache_key(*parts, blobs=()) -> str:
    """A hex key for a cache entry: ``parts`` (plain values, by ``repr``) and the bytes of
    ``blobs`` (``None`` allowed), so any change of value or data is a new entry."""
    import hashlib

    key = hashlib.blake2b(repr(parts).encode(), digest_size=16)
    for blob in blobs:
        key.update(b"\0" if blob is None else blob)
    return key.hexdigest()


def geometry_key(*parts, geometries=()) -> str:
    """:func:`cache_key` of ``parts`` and the WKB of ``geometries`` (shapely, missing allowed)."""
    import numpy as np
    import shapely

    return cache_key(*parts, blobs=shapely.to_wkb(np.asarray(geometries, dtype=object)))


def read_arrays(kind: str, key: str) -> dict | None:
    """The arrays stored under ``kind``/``key`` (see :func:`write_arrays`), or None when the
    entry is absent, damaged or unreadable."""
    import numpy as np

    path = cache_dir() / kind / f"{key}.npz"
    try:
        with np.load(path) as stored:
            arrays = {name: stored[name] for name in stored.files}
    except (OSError, KeyError, ValueError):
        return None
    try:
        path.touch()  # most recently used, for the pruning in write_arrays
    except OSError:
        pass
    return arrays


def write_arrays(kind: str, key: str, keep: int, **arrays) -> None:
    """Store ``arrays`` under ``kind``/``key`` (atomically) and keep only the ``keep`` most
    recently used entries of ``kind``. A cache that cannot be written is skipped."""
    import numpy as np

    from gis._files import atomic_path

    folder = cache_dir() / kind
    try:
        with atomic_path(folder / f"{key}.npz") as temporary:
            with open(temporary, "wb") as handle:  # np.savez would append ".npz" to a bare path
                np.savez(handle, **arrays)
        entries = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[keep:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
