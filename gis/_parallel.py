"""Run independent pieces of work in forked processes: the machine's cores, no pickled inputs.

Work that parts cleanly (provinces to convert, classes of a grid to trace, units to cover)
goes to :func:`fork_map`. The function is handed to the workers by ``fork`` itself, so it may
close over large arrays (a national grid, ten million cell pieces) without copying them;
only the items and the results are pickled. Where ``fork`` does not exist (Windows, macOS's
default) or one process is enough, the work runs in this process, in order.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

#: The function being mapped, for the forked workers (inherited, never pickled).
_TASK: Callable | None = None


def _run_task(item):
    return _TASK(item)


def worker_count(requested: int | None = None) -> int:
    """Processes to use: ``requested``, else ``$GIS_PROCESSES``, else the usable cores (≥ 1)."""
    if requested is None:
        requested = int(os.environ.get("GIS_PROCESSES") or 0)
    if not requested:
        requested = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, int(requested or 1))


def fork_map(function: Callable[[Item], Result], items: Iterable[Item], processes: int | None = None) -> list[Result]:
    """``[function(item) for item in items]``, in up to ``processes`` forked processes.

    Results come back in the order of ``items``. An exception in a worker is raised here, as
    it would be in a loop. Runs in this process when there is one item, one process, no
    ``fork``, or when called from inside a worker (no nested pools).
    """
    global _TASK
    items = list(items)
    processes = min(worker_count(processes), len(items))
    if processes <= 1 or _TASK is not None or "fork" not in multiprocessing.get_all_start_methods():
        return [function(item) for item in items]
    _TASK = function
    pool = multiprocessing.get_context("fork").Pool(processes, initializer=_start_worker)
    try:
        results = pool.map(_run_task, items, chunksize=1)
        # Workers leave on their own once the queue is closed. Pool's own exit terminates
        # them instead (SIGTERM), which can kill one holding the task queue's lock and leave
        # another waiting for it for ever: seen as a national build hanging after polygonising.
        pool.close()
        pool.join()
        return results
    finally:
        pool.terminate()  # after an error; nothing left to stop otherwise
        _TASK = None


def _start_worker() -> None:
    import signal

    # A worker inherits the build's SIGTERM handler (SystemExit, for clean temporary files);
    # the pool stops its workers with SIGTERM, and they must simply go. Ctrl-C is the
    # parent's: it leaves fork_map through the pool's terminate, which stops the workers.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
