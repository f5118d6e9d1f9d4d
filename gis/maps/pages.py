"""Drawing a run's map pages, in worker processes when there are many.

Pages are independent: each is built from its spec and layers and written to its own file. A
national build draws some 40 of them, so with more than one CPU they are drawn by forked
worker processes (:func:`gis._parallel.fork_map`; ``GIS_PROCESSES=1`` keeps them in one). The
workers inherit the layers from the parent (copy-on-write; nothing is pickled) and are handed
pages by index, in groups that share a unit layer (a
province's county pages; the national prefecture pages), so each group simplifies its units
once (:class:`gis.maps.render.PageCache`); the largest groups go first. Each worker writes its
pages (atomically, :func:`gis._files.write_text_atomic`) and sends back only what happened: a
page's notes, or why it was skipped. Outcomes are returned in the order of the pages, whichever
worker finished first, so the notes and the list of files written are the same as when drawing
serially. An error in a worker (a :class:`gis.errors.GisError`, or a bug) is raised again in
the parent, with the same message.

Pages falling in fewer than :data:`MIN_GROUPS` groups are drawn in the calling process: one
province's build has two (its prefectures, its counties), which share one grid image that two
workers would each have to make.

The parent's objects are frozen out of the garbage collector while pages are drawn
(:func:`gc.freeze`): the collector would otherwise touch every object of a build holding 2 GB,
making the workers copy those pages of memory, and scanning them costs the parent time too.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from contextlib import contextmanager
from pathlib import Path

from gis._files import write_text_atomic
from gis.maps import china
from gis.maps.render import MapSkipped, PageCache, build_page
from gis.maps.spec import MapSpec

#: A page covering several provinces is skipped when fewer than this share of its units have a
#: value (e.g. Zhejiang's seed incomes on a national build: 11 of 370 prefectures).
MIN_NATIONAL_COVERAGE = 0.10
#: At most this many worker processes: each holds a page's image and text (some 100-200 MB on
#: a national build) besides what it shares with the parent.
MAX_WORKERS = 4
#: Pages are drawn in workers when they fall into at least this many groups (see above).
MIN_GROUPS = 3

#: One page to draw: its spec, its layers and the province codes it covers.
Job = tuple[MapSpec, Mapping[str, object], set[str]]
#: What became of a page: ``(True, notes)`` when written, ``(False, reason)`` when skipped.
Outcome = tuple[bool, "list[str] | str"]


def draw_page(job: Job, out: Path, basemap: str | None, rasters, cache: PageCache) -> Outcome:
    """Build one page and write it to ``out/<name>.html``; ``(False, reason)`` if it is skipped."""
    spec, layers, codes = job
    try:
        page = build_page(spec, dict(layers), basemap or spec.basemap, rasters=rasters,
                          standard=china.needs_standard(codes),
                          min_coverage=MIN_NATIONAL_COVERAGE if len(codes) > 1 else 0.0, cache=cache)
    except MapSkipped as reason:
        return False, str(reason)
    write_text_atomic(out / f"{spec.name}.html", page.html)
    return True, page.notes


def draw_pages(jobs: list[Job], out: Path, basemap: str | None, rasters, workers: int | None = None,
               alongside: Callable[[], object] | None = None) -> tuple[list[Outcome], object]:
    """Draw every page of ``jobs`` (see :func:`draw_page`); return their outcomes in order, and
    the result of ``alongside`` (other work of the run, done by a worker meanwhile: the
    national index's provinces), or None.

    ``workers``: processes (default :func:`gis._parallel.worker_count`: ``$GIS_PROCESSES`` or
    the usable cores), at most :data:`MAX_WORKERS`; 1 draws in this process, as do runs whose
    pages fall in fewer than :data:`MIN_GROUPS` groups (one or two pages, a province's build)
    and systems without ``fork``.
    """
    from gis._parallel import fork_map, worker_count
    from gis.maps import elements  # noqa: F401  (folium, imported once before workers fork)

    processes = min(worker_count(workers), MAX_WORKERS)
    groups = _groups(jobs)
    with _gc_frozen():
        if processes < 2 or len(groups) < MIN_GROUPS:
            cache = PageCache()
            outcomes = [draw_page(job, out, basemap, rasters, cache) for job in jobs]
            return outcomes, alongside() if alongside is not None else None

        def work(task: list[int] | None) -> object:
            """In a worker (forked: ``jobs`` inherited, only the indices pickled)."""
            if task is None:
                return alongside()
            cache = PageCache()
            return [(index, draw_page(jobs[index], out, basemap, rasters, cache)) for index in task]

        # Largest group first, then the other work, then the rest largest first.
        tasks = groups[:1] + ([None] if alongside is not None else []) + groups[1:]
        outcomes: list[Outcome | None] = [None] * len(jobs)
        other = None
        for task, result in zip(tasks, fork_map(work, tasks, processes)):
            if task is None:
                other = result
                continue
            for index, outcome in result:
                outcomes[index] = outcome
        return outcomes, other  # type: ignore[return-value]


def _groups(jobs: list[Job]) -> list[list[int]]:
    """Indices of ``jobs`` grouped by the unit layer they draw (the same frame object), the
    groups with the most vertices first (they take longest: simplifying, the grid image)."""
    grouped: dict[tuple[str, int], list[int]] = {}
    for index, (spec, layers, _) in enumerate(jobs):
        grouped.setdefault((spec.layer, id(layers)), []).append(index)

    def vertices(group: list[int]) -> int:
        import shapely

        spec, layers, _ = jobs[group[0]]
        geometry = getattr(layers.get(spec.layer), "geometry", None)
        return 0 if geometry is None else int(shapely.get_num_coordinates(geometry.to_numpy()).sum())

    return sorted(grouped.values(), key=vertices, reverse=True)


@contextmanager
def _gc_frozen():
    """Keep the objects that exist now out of garbage collection until the block ends (unless
    someone else froze them already): see the module notes."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
