"""Machinery of the out-of-core engine: the temporary store of intermediate grids, dask
schedulers (local or a dask.distributed cluster) and progress lines.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid
import weakref
from contextlib import nullcontext
from pathlib import Path

import dask
import dask.array as da
import numpy as np
from dask.highlevelgraph import HighLevelGraph

from gis.errors import GisError

_LOCAL_SCHEDULERS = ("threads", "threading", "synchronous", "sync", "single-threaded", "processes", "multiprocessing")
# --- the temporary store of intermediate grids -----------------------------------------------


#: Temporary folders of the chunked engine: ``degurba-chunked-<pid>-<random>``.
TEMP_PREFIX = "degurba-chunked-"


class _BlockStore:
    """Chunks of intermediate grids as raw files (uint8 codes, or bits for masks) in a
    temporary folder, deleted on :meth:`close` or when the store is garbage collected.

    Raw files, not ``.npy``: the shape and type of every chunk are known, and ``np.load``
    parses the ``.npy`` header with ``ast``, which failed here on CPython 3.11.7 when two
    threads parsed at once ("SystemError: AST constructor recursion depth mismatch").
    """

    def __init__(self, workdir=None):
        from gis._files import remove_dead_temp_dirs

        # The pid in the name lets the next run remove what a killed one (kill -9) left.
        remove_dead_temp_dirs(workdir or tempfile.gettempdir(), TEMP_PREFIX)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", dir=workdir))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.folder), True)

    def path(self, name: str, index: tuple[int, int]) -> str:
        """File of chunk ``index`` of the stored grid (or per-chunk data) ``name``."""
        return str(self.folder / f"{name}.{index[0]}.{index[1]}.bin")

    def array(self, name: str, chunks, dtype) -> da.Array:
        """The stored grid ``name`` as a dask array on ``chunks``."""
        return _chunk_array(lambda index: (_load_codes, self.path(name, index), _chunk_shape(chunks, index)), chunks, dtype)

    def remove(self, *names: str) -> None:
        for name in names:
            for path in self.folder.glob(f"{name}.*"):
                path.unlink()

    def close(self) -> None:
        self._finalizer()


def _chunk_array(task_of, chunks, dtype, name: str = "degurba-chunk") -> da.Array:
    """A dask array whose chunk (i, j) is computed by the task ``task_of((i, j))``, a tuple
    (function, *arguments) of plain values such as file paths and small lookup tables."""
    key = f"{name}-{uuid.uuid4().hex}"
    layer = {(key, *index): task_of(index) for index in np.ndindex(tuple(len(c) for c in chunks))}
    graph = HighLevelGraph.from_collections(key, layer, dependencies=[])
    return da.Array(graph, key, chunks, dtype=dtype)


def _chunk_shape(chunks, index) -> tuple[int, int]:
    return (chunks[0][index[0]], chunks[1][index[1]])


def _save_codes(path: str, codes: np.ndarray) -> None:
    """Store a uint8 chunk (row-major bytes)."""
    np.ascontiguousarray(codes, dtype=np.uint8).tofile(path)


def _load_codes(path: str, shape: tuple[int, int]) -> np.ndarray:
    return np.fromfile(path, dtype=np.uint8).reshape(shape)


def _save_mask(path: str, mask: np.ndarray) -> None:
    """Store a boolean chunk as bits (8 cells a byte)."""
    np.packbits(mask, axis=None).tofile(path)


def _load_mask(path: str, shape: tuple[int, int]) -> np.ndarray:
    return np.unpackbits(np.fromfile(path, dtype=np.uint8), count=shape[0] * shape[1]).view(bool).reshape(shape)


# --- schedulers and progress -----------------------------------------------------------------


class _Scheduler:
    """Runs dask computations on the scheduler asked for: ``None`` or ``"threads"`` (local
    threads), another local scheduler name, a ``dask.distributed.Client``, or the address of a
    dask scheduler (a client is connected for the duration and closed after)."""

    def __init__(self, scheduler=None, progress: _Progress | None = None):
        self._own_client = None
        self.progress = progress or _Progress(None)
        if scheduler is None:
            self.scheduler = "threads"
        elif isinstance(scheduler, str) and scheduler.lower() in _LOCAL_SCHEDULERS:
            self.scheduler = scheduler.lower()
        elif isinstance(scheduler, str):
            from dask.distributed import Client

            try:
                self._own_client = Client(scheduler)
            except OSError as error:
                raise GisError(f"cannot connect to the dask scheduler at {scheduler!r}: {error}") from None
            self.scheduler = self._own_client
        elif "Client" in type(scheduler).__name__ and hasattr(scheduler, "get"):
            self.scheduler = scheduler
        else:
            raise GisError(
                f"scheduler must be None, a local scheduler name ({', '.join(_LOCAL_SCHEDULERS)}), "
                f"a dask.distributed.Client or a scheduler address, not {scheduler!r}"
            )
        self.local = isinstance(self.scheduler, str)

    def compute(self, *collections):
        """``dask.compute`` on this scheduler (with a progress bar when asked for and local)."""
        bar = nullcontext()
        if self.progress.bars and self.local:
            from dask.diagnostics import ProgressBar

            bar = ProgressBar(out=sys.stderr)
        with bar:
            return dask.compute(*collections, scheduler=self.scheduler)

    def __enter__(self) -> _Scheduler:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._own_client is not None:
            self._own_client.close()


class _Progress:
    """Stage messages: to a callback, to stderr (``True``, with dask progress bars for local
    schedulers), or nowhere (``None``/``False``)."""

    def __init__(self, progress):
        if progress is True:
            self.say = lambda message: print(message, file=sys.stderr, flush=True)
        elif callable(progress):
            self.say = progress
        elif progress in (None, False):
            self.say = None
        else:
            raise GisError(f"progress must be None, True/False or a callable taking a message, not {progress!r}")
        self.bars = progress is True
        self.started = time.perf_counter()

    def stage(self, message: str) -> None:
        if self.say is not None:
            self.say(f"[{time.perf_counter() - self.started:7.1f} s] {message}")
