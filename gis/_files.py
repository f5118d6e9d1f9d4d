"""Writing outputs safely: never half a file, never an existing file without ``--overwrite``.

Every output is written to a temporary file beside its target and moved into place with
``os.replace`` once complete, so a reader (QGIS, a browser, the next build) sees the old file or
the new one, never a mix. Temporary names are unique per write (two processes never share one)
and recognisable (``.NAME.partial-XXXX``), so leftovers of a killed run can be found.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from gis.errors import GisError

#: Marks temporary files: ``.<target name>.partial-<pid>-<random><suffix>``; the writer's process
#: id lets a later run tell a killed writer's leftovers from a live writer's file.
PARTIAL_MARK = ".partial-"


def _left_by_a_dead_process(name: str, prefix: str) -> bool:
    """True if ``name`` is ``<prefix><pid>-…`` and process ``pid`` (not this one) is gone."""
    match = re.match(rf"{re.escape(prefix)}(\d+)-", name)
    if match is None or int(match.group(1)) == os.getpid():
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's live process
        return False
    return False


def remove_dead_partials(folder, name: str) -> list[Path]:
    """Remove from ``folder`` the temporary files of target ``name`` that a killed run left:
    ``.NAME.partial-<pid>-…`` (SQLite ``-journal`` files beside them too) whose process is gone.
    Files of live processes and older names without a pid are kept (``gis build`` removes
    those under its folder lock). Returns what was removed."""
    removed = []
    for path in Path(folder).glob(f".{glob.escape(name)}{PARTIAL_MARK}*"):
        if _left_by_a_dead_process(path.name, f".{name}{PARTIAL_MARK}"):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def remove_dead_temp_dirs(parent, prefix: str) -> list[Path]:
    """Remove the folders ``<prefix><pid>-…`` in ``parent`` whose process is gone (a run killed
    with ``kill -9``, or one that lost power); folders of live processes are kept."""
    removed = []
    for path in Path(parent).glob(f"{glob.escape(prefix)}*"):
        if path.is_dir() and _left_by_a_dead_process(path.name, prefix):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


class DiskFullError(GisError):
    """A write ran out of disk space; the message names the folder and the space needed."""


def _mb(size: float) -> str:
    return f"{size / 1e6:,.1f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} KB"


def free_space(folder) -> int | None:
    """Bytes free on the disk of ``folder`` (or of its nearest existing parent)."""
    probe = Path(folder)
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free
    except OSError:
        return None


def disk_full_message(folder, name: str | None = None, free_before: int | None = None) -> str:
    """One line: which folder is full and the space needed (more than was free when it started)."""
    what = f" writing {name}" if name else ""
    free = free_before if free_before is not None else free_space(folder)
    need = f": it needs more than the {_mb(free)} that were free" if free is not None else ""
    return f"{folder}: no space left on the disk{what}{need}; free some space or write elsewhere — existing outputs are unchanged"


def is_disk_full(error: BaseException, folder=None, written: int = 0) -> bool:
    """True for ENOSPC/EDQUOT, and for a GDAL/SQLite write error in ``folder`` when what is left
    free there is small next to what was being written (pyogrio's "Failed to commit transaction"
    carries no errno, and SQLite has rolled its journal back by then)."""
    import errno

    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    # Only the I/O libraries' own errors: a bug elsewhere is never called a full disk.
    if folder is None or type(error).__module__.split(".")[0] not in ("pyogrio", "rasterio", "fiona", "sqlite3", "osgeo"):
        return False
    text = str(error).lower()
    if "no space" in text or "disk is full" in text or "disk full" in text:
        return True
    if not any(sign in text for sign in ("commit", "write", "i/o", "disk")):
        return False
    try:
        return shutil.disk_usage(folder).free < max(16_000_000, 2 * written)
    except OSError:
        return False


@contextmanager
def atomic_path(path):
    """Yield a unique temporary path beside ``path``; on success move it onto ``path``.

    The temporary path does not exist when yielded (GDAL drivers refuse some existing files).
    On any error it is removed and ``path`` is left untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_partials(path.parent, path.name)  # what a killed writer of this file left
        free_before = free_space(path.parent)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}{PARTIAL_MARK}{os.getpid()}-", suffix=path.suffix, dir=path.parent)
    except OSError as error:
        if is_disk_full(error):
            raise DiskFullError(disk_full_message(path.parent, path.name)) from None
        raise
    os.close(handle)
    os.unlink(temporary)
    try:
        yield Path(temporary)
        if os.path.exists(temporary):
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide outputs from other users
        os.replace(temporary, path)
    except BaseException as error:
        written = _sizes(temporary)
        full = is_disk_full(error, path.parent, written)  # before the partial file gives its space back
        for leftover in (temporary, temporary + "-journal", temporary + "-wal", temporary + "-shm"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        if full:
            _release(error)
            raise DiskFullError(disk_full_message(path.parent, path.name, free_before)) from None
        raise


def _release(error: BaseException) -> None:
    """Free what the failed writer's frames hold now (openpyxl's half-written zip file), quietly:
    its clean-up fails again on the full disk and would print a second, confusing traceback."""
    import gc
    import sys
    import traceback

    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        traceback.clear_frames(error.__traceback__)
        gc.collect()
    finally:
        sys.unraisablehook = hook


def _sizes(temporary: str) -> int:
    """Bytes written to a temporary file and its SQLite side files."""
    total = 0
    for name in (temporary, temporary + "-journal", temporary + "-wal"):
        try:
            total += os.path.getsize(name)
        except OSError:
            pass
    return total


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


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet): compare where they would be
        return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def refuse_inputs_as_outputs(outputs, inputs, removed=()) -> None:
    """Raise :class:`GisError` if a file this run writes (``outputs``) or removes (``removed``)
    is one of its inputs (``{option: path}`` or ``{option: [paths]}``): same path, or the same
    file by another name (a link). Checked before any work, so an input is never overwritten
    half-read and never deleted by the clean-up of ``--overwrite``."""
    named = []
    for option, paths in inputs.items():
        for path in [paths] if isinstance(paths, (str, os.PathLike)) else (paths or ()):
            if path is not None:
                named.append((option, Path(path)))
    for what, paths in (("write", outputs), ("remove", removed)):
        for output in paths:
            for option, path in named:
                if _same_file(Path(output), path):
                    raise GisError(
                        f"{option} {path} is also a file this run would {what} ({output}); "
                        f"move the input out of the output folder or choose another --out"
                    )


#: First characters that make a spreadsheet treat a cell as a formula (OWASP "CSV injection"):
#: = + - @, and tab / carriage return, which some spreadsheets skip before looking for them.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(text: str) -> str:
    """``text`` with a leading ``'`` if a spreadsheet would run it as a formula (``=HYPERLINK(…)``,
    ``@SUM(A1)``, ``-2+3``), as OWASP recommends; other text unchanged."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def write_csv(frame, path, index: bool = False, comment_lines=()) -> Path:
    """Write a pandas DataFrame as CSV to ``path`` atomically and return ``path``.

    Every CSV the tool writes goes through here, so all open the same way in Excel: UTF-8 with
    a byte-order mark (Excel on Chinese Windows otherwise reads GBK), LF line ends, and text
    cells a spreadsheet would execute escaped with :func:`escape_formula`. Numbers are written
    as numbers (a negative number is not text and is not escaped). ``comment_lines`` (``# …``,
    written as given) go above the header.
    """
    frame = frame.reset_index() if index else frame
    escaped = frame.copy()
    for column in escaped.columns:
        if escaped[column].dtype == object or str(escaped[column].dtype) in ("string", "str"):
            escaped[column] = escaped[column].map(lambda cell: escape_formula(cell) if isinstance(cell, str) else cell)
    escaped.columns = [escape_formula(str(c)) for c in escaped.columns]
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8-sig", newline="") as f:
            f.writelines(f"{line}\n" for line in comment_lines)
            escaped.to_csv(f, index=False, lineterminator="\n")
    return Path(path)


def require_writable_folder(path, option: str, is_folder: bool = False) -> Path:
    """Check, before any work, that an output can be written: ``path``'s folder (``path`` itself
    if ``is_folder``) exists and takes files, or can be created.

    Writing is tried (a probe file, removed at once) rather than judged from permission bits,
    which say nothing of read-only mounts and nothing for root. Raises :class:`GisError` naming
    ``option``, the folder and what is wrong.
    """
    path = Path(path)
    folder = path if is_folder else path.parent
    probe = folder
    while not probe.exists() and probe.parent != probe:  # where the missing folders would be made
        probe = probe.parent
    if not probe.is_dir():
        raise GisError(f"{option} {path}: {probe} is a file, not a folder; choose another output")
    try:
        handle, name = tempfile.mkstemp(prefix=f".gis-write-test{PARTIAL_MARK}", dir=probe)
    except OSError as error:
        what = "is not writable" if probe == folder else f"cannot be created in {probe}, which is not writable"
        raise GisError(f"{option} {path}: the folder {folder} {what} ({error.strerror}); choose a writable folder") from None
    os.close(handle)
    os.unlink(name)
    return folder


@contextmanager
def terminate_cleanly():
    """Turn SIGTERM into SystemExit for the ``with`` body, so temporary files and folders are
    removed on the way out (:func:`atomic_path`, ``tempfile`` directories) as they are for
    Ctrl-C. Only ``kill -9`` leaves them; the next write of the same file removes those
    (:func:`remove_dead_partials`). A no-op outside the main thread (signals go there)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def partial_leftovers(folder) -> list[Path]:
    """Temporary files (``.NAME.partial-*``) a killed run left in ``folder`` (not recursive)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f".*{PARTIAL_MARK}*") if p.is_file())


@contextmanager
def folder_lock(folder, what: str = "gis build"):
    """Hold an exclusive OS lock on ``folder`` (file ``.gis.lock`` in it) for the ``with`` body.

    A second process asking for the same folder fails at once with :class:`GisError` naming the
    process holding it (pid, start time, command), so two builds never mix their outputs. The
    lock is ``fcntl.flock``: the kernel drops it when the process ends, even by ``kill -9``, so a
    stale lock file never blocks the next run.
    """
    import fcntl
    import time

    folder = Path(folder)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / ".gis.lock"
    handle = open(lock_path, "a+", encoding="utf-8")
    failed = True
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise GisError(f"{folder} is in use by {holder}; wait for it to finish or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{what} (pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        handle.flush()
        yield lock_path
        failed = False
    finally:
        if failed and created:  # a run that failed leaves no folder it made (only if still empty)
            lock_path.unlink(missing_ok=True)
            try:
                folder.rmdir()
            except OSError:
                pass
        handle.close()  # closing releases the lock
