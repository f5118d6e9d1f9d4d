"""Writing figures: a build's (``gis build --figures``) and one spec's (``gis figure``).

A build's figures are those of the pages it draws (:func:`gis.maps.map_jobs`, the pages' own
list: a national build's county maps once per province), one per view unless the spec's
``[figure] view`` picks one, each as PNG, SVG and PDF. They are drawn in forked worker
processes when there are several (:func:`gis._parallel.fork_map`, ``GIS_PROCESSES=1`` keeps
them in one); each file is written atomically.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from gis.errors import GisError
from gis.maps.spec import MapSpec, view_names

#: The suffixes a build writes every figure in.
FORMATS = (".png", ".svg", ".pdf")
#: Figures are drawn in workers from this many on (one or two are faster in this process).
MIN_PARALLEL = 3


def figure_views(spec: MapSpec) -> list[int]:
    """Indices of the views that get a figure: the spec's ``[figure] view``, else all."""
    return [spec.figure.view] if spec.figure.view is not None else list(range(len(spec.views)))


def figure_name(spec: MapSpec, view_index: int) -> str:
    """``<page name>`` when the spec draws one figure, else ``<page name>_<indicator or column>``."""
    if len(figure_views(spec)) == 1:
        return spec.name
    return f"{spec.name}_{view_names(spec.views[view_index])[0]}"


def figure_plan(jobs, pages: set[str] | None = None) -> list[tuple[int, int, str]]:
    """``(job index, view index, figure name)`` of every figure of ``jobs`` (see
    :func:`gis.maps.map_jobs`) whose page is in ``pages`` (None: every job)."""
    plan = []
    for index, (spec, _, _) in enumerate(jobs):
        if pages is not None and spec.name not in pages:
            continue
        plan += [(index, view, figure_name(spec, view)) for view in figure_views(spec)]
    names = [name for _, _, name in plan]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise GisError(f"two figures would both be named {duplicates[0]}: rename a spec")
    return plan


def _draw_one(job, view: int, targets: list[Path]) -> tuple[list[Path], str | None]:
    """Draw one figure and write it to ``targets``; (files, None) or ([], why it was skipped)."""
    from gis.figures.draw import draw_figure
    from gis.maps import china
    from gis.maps.classify import MapSkipped

    spec, layers, codes = job
    try:
        drawn = draw_figure(spec, layers, view, spec.figure.year, standard=china.needs_standard(codes),
                            national=len(codes) > 1)
    except MapSkipped as reason:
        return [], str(reason)
    return [drawn.save(target) for target in targets], None


def write_figures(spec_paths: Iterable, layers: Mapping[str, object], out_dir: str | Path,
                  place: tuple[str, str] = ("", ""), pages: Iterable[str] | None = None,
                  formats: tuple[str, ...] = FORMATS, workers: int | None = None,
                  on_note: Callable[[str, str], None] | None = None) -> list[Path]:
    """Write ``OUT/<name>.png``, ``.svg`` and ``.pdf`` for every view of every map of
    ``spec_paths`` drawn on ``layers`` (as :func:`gis.maps.render_maps` takes them).

    ``pages``: names of the pages the run drew (figures only for those; None: every spec).
    ``on_note(figure name, message)`` hears of figures skipped (a view without values).
    Returns the files written, in plan order.
    """
    from gis._parallel import fork_map, worker_count
    from gis.maps import map_jobs

    note = on_note or (lambda name, message: print(f"gis figure: {name}: {message}", file=sys.stderr))
    jobs = map_jobs(spec_paths, layers, place)
    plan = figure_plan(jobs, None if pages is None else set(pages))
    out = Path(out_dir)
    tasks = [(job, view, [out / f"{name}{suffix}" for suffix in formats]) for job, view, name in plan]

    if pages is not None:  # figures of maps this run skipped, drawn by an earlier run: no longer true
        drawn = set(pages)
        for spec, _, _ in jobs:
            if spec.name in drawn:
                continue
            for view in figure_views(spec):
                for suffix in formats:
                    stale = out / f"{figure_name(spec, view)}{suffix}"
                    if stale.exists():
                        stale.unlink()
                        note(figure_name(spec, view), f"removed {stale}, drawn by an earlier run")

    def work(task):
        job, view, targets = task
        return _draw_one(jobs[job], view, targets)

    processes = 1 if len(tasks) < MIN_PARALLEL else worker_count(workers)
    outcomes = fork_map(work, tasks, processes) if processes > 1 else [work(task) for task in tasks]
    written: list[Path] = []
    for (_, _, name), (files, skipped) in zip(plan, outcomes):
        if skipped:
            note(name, f"figure skipped: {skipped}")
        written += files
    return written


def write_figure(spec, layers: Mapping[str, object], out: str | Path, place: tuple[str, str] = ("", ""),
                 view: int | None = None) -> Path:
    """Draw one view of ``spec`` (a :class:`~gis.maps.spec.MapSpec`; ``view`` or the spec's
    ``[figure] view``, else the first) on all of ``layers`` — a national run's counties in one
    frame — and write it to ``out`` (.png, .svg or .pdf). Raises :class:`GisError` when the
    layer or the view's values are missing."""
    from gis.maps import _page_provinces

    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise GisError(f"--out {out}: a figure is .png, .svg or .pdf")
    index = view if view is not None else spec.figure.view if spec.figure.view is not None else 0
    job = (spec.for_place(*place), layers, _page_provinces(spec, layers))
    files, skipped = _draw_one(job, index, [out])
    if skipped:
        raise GisError(f"{spec.path}: no figure drawn: {skipped}")
    return files[0]


def with_overrides(spec, **settings):
    """``spec`` with ``[figure]`` settings replaced by those given (None: keep the spec's)."""
    given = {key: value for key, value in settings.items() if value is not None}
    return replace(spec, figure=replace(spec.figure, **given)) if given else spec
