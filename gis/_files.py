"""Writing outputs safely: never half a file, never an existing file without ``--overwrite``.

Every output is written to a temporary file beside its target and moved into place with
``os.replace`` once complete, so a reader (QGIS, a browser, the next build) sees the old file or
the new one, never a mix. Temporary names are unique per write (two processes never share one)
and recognisable (``.NAME.partial-XXXX``), so leftovers of a killed run can be found.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from gis.errors import GisError

#: Marks temporary files: ``.<target name>.partial-<random><suffix>``.
PARTIAL_MARK = ".partial-"


@contextmanager
def atomic_path(path):
    """Yield a unique temporary path beside ``path``; on success move it onto ``path``.

    The temporary path does not exist when yielded (GDAL drivers refuse some existing files).
    On any error it is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}{PARTIAL_MARK}", suffix=path.suffix, dir=path.parent)
    os.close(handle)
    os.unlink(temporary)
    try:
        yield Path(temporary)
        if os.path.exists(temporary):
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide outputs from other users
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` as UTF-8 (LF line ends) to ``path`` atomically; return ``path``."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8", newline="\n")
    return Path(path)


def refuse_overwrite(paths, overwrite: bool) -> None:
    """Raise :class:`GisError` naming the outputs that exist when ``overwrite`` is False."""
    existing = [str(p) for p in paths if Path(p).exists()]
    if existing and not overwrite:
        raise GisError(f"{', '.join(existing)} already exists; pass --overwrite to replace it")
