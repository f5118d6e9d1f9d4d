"""Degree of Urbanisation, Stage I out of core: the rules of :mod:`gis.degurba` on dask arrays.

:func:`classify_grid_chunked` gives, cell for cell, the same Level 1 and Level 2 codes as
:func:`gis.degurba.classify.classify_grid` (same rules, same "our choices" 1-7, same constants and
helpers, the same :class:`gis.degurba.rules.Rules`), while holding only a few chunks of the grid
in memory at a time. Grids are row-major
with row 0 at the top (north), e.g. windows of the GHSL 1 km grid (ESRI:54009, 1 km² cells).
:func:`write_class_geotiff_chunked` writes the result as a styled GeoTIFF chunk row by chunk row.

How each step works on chunks
-----------------------------
* **Cell densities** (dense, moderate, low, water, no data) are per cell: computed chunk by
  chunk with the helpers of :mod:`gis.degurba` and stored, one byte per cell.
* **Connected groups** (4-connected dense cells, 8-connected moderate or UC cells, …): each
  chunk is labelled on its own with ``scipy.ndimage.label``; the labels along the chunk edges
  are gathered (1-D, proportional to the length of the chunk borders), the pairs of labels that
  touch across a border (with the same 4- or 8-connectivity, chunk corners included) become the
  edges of a graph, and ``scipy.sparse.csgraph.connected_components`` turns it into groups.
  This is the algorithm of ``dask_image.ndmeasure.label``, which is not used itself because its
  single graph keeps every chunk's labels in memory until the global merge is done (a full-grid
  int32 array), and its ``sum_labels`` builds one graph per label. Labels are not stored:
  labelling is deterministic, so a later pass that needs them labels the same chunk again,
  which is faster than writing and reading 4 bytes a cell.
* **Group populations are bit-identical** to ``classify_grid``'s, since a group exactly at
  50 000 / 5 000 / 500 persons decides its class. ``classify_grid`` sums with ``np.bincount``,
  which adds each member's population in turn in row-major order, and floating-point addition
  is not associative: adding per-chunk sums can differ in the last bit. So a group inside one
  chunk gets its chunk's ``np.bincount`` (the grid's row-major order restricted to a chunk is
  the chunk's own), and the groups spanning chunks are summed in one sequential pass over their
  member cells, a full-width band of rows at a time, in row-major order with ``np.add.at``: the
  same additions in the same order. Those members (cells of labels touching a chunk edge) are
  written to disk, 16 bytes each, when a chunk is labelled.
* **Smoothing** is a ``map_overlap`` with a 1-cell halo running
  :func:`gis.degurba.classify.smoothing_additions` (the 3 × 3 neighbour count), a whole pass at a time
  until no chunk changes (our choice 3); chunks that changed are stored as bits.
* **Hole filling** is a ``map_overlap`` with a halo of the hole-size limit T in cells (15 with
  the manual's ``max_hole_km2``; below, numbers are for 15) running
  :func:`gis.degurba.classify.fill_urban_centre_holes` on each chunk plus halo, with cells outside the grid
  as non-UC padding. No global labelling is needed: a hole (< 15 cells, not touching the grid
  edge) around a chunk cell lies within 13 cells of it, so it is found whole in the window and
  does not touch the window's edge; a region that is not a hole either has ≥ 15 cells inside
  the window, or leaves it (touching the window's edge), or touches the grid edge (so joins the
  padding, which reaches the window's edge) — not a hole in the window either.
* **SDUC distance**: a ``map_overlap`` whose halo is the reach of
  :func:`gis.degurba.classify.edge_distance_rectangles` asks :func:`gis.degurba.classify.near_cells` (as
  ``classify_grid`` does) whether each candidate cell has a UC or DUC cell within D, edge to
  edge; a candidate group is near if any of its cells is.

* **Other rules** (:mod:`gis.degurba.rules`): the R2022A / R2023A edge smoothing carries each
  centre's global id (int32) through the smoothing passes; independent Level 2 clusters add one
  labelling per class, merged like the others, and write Level 1 on its own; an ``"optimal"``
  built-up share is a first labelling pass whose cells' built-up shares are averaged in
  row-major order; population windows (``population_window`` > 1) are ``map_overlap`` moving
  means (halo: half the window), summed in the same order as in memory.

Memory and disk
---------------
A task holds one chunk (plus halo) and its temporaries, at most about 55 bytes per chunk cell
(when cell densities are computed from float64 inputs), with one task per thread; 2 048² chunks
on 2 threads peaked at ~0.6 GB live (0.8 GB resident, with the memory glibc keeps after
freeing) on a 16 000² grid. The driver holds 1-D arrays: an entry per chunk-local label, per
group, and per cell on a chunk border. The cross-chunk sums read one full-width band of member
cells at a time (about one chunk's worth of cells). Nothing of the grid's size is ever in
memory. The population is read three times (densities, clusters, remaining clusters), the
other inputs once. Intermediate grids live in a temporary folder (``workdir``; on a
multi-machine dask cluster it must be shared by all workers): about 2 bytes per cell at peak
(cell flags, Level 2 codes, masks as bits, members of edge-touching groups), then 1 byte per
cell (the Level 2 codes) until the result is closed or garbage collected.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import rasterio
from affine import Affine
from scipy import ndimage

from gis._files import atomic_path
from gis.degurba._chunk_labels import (
    _ChunkLabels,
    _group_populations,
    _Groups,
    _label_chunk,
)
from gis.degurba._chunk_store import (
    _BlockStore,
    _chunk_array,
    _chunk_shape,
    _load_codes,
    _load_mask,
    _Progress,
    _save_codes,
    _save_mask,
    _Scheduler,
)
from gis.degurba.classify import (
    CONTIGUITY,
    INDEPENDENT_CLASSES,
    MANUAL_RULES,
    NODATA,
    _at_least,
    _dense_and_moderate,
    _land_area_km2,
    _rural_cluster_cells,
    _rural_codes,
    check_sduc_distance,
    distance_rectangles,
    fill_urban_centre_holes,
    independent_groupings,
    independent_masks,
    level1_from_level2,
    majority_pass,
    max_hole_cells,
    moving_mean,
    near_cells,
    optimal_from_values,
    optimal_sections,
    r2023a_masks,
    smoothing_additions,
    with_optimal,
)
from gis.degurba.grid import GHSL_CRS
from gis.degurba.rasters import (
    CLASS_TILE,
    class_geotiff_profile,
    style_class_band,
)
from gis.degurba.rules import Rules
from gis.errors import GisError

#: Default chunk edge, cells: 2048² cells are 32 MB of float64 population per chunk.
DEFAULT_CHUNK = 2048

# One byte per cell for the per-cell results: bits 0-1 index the Level 2 code the cell gets
# outside every cluster (_RURAL_CODES), bit 2 = dense, bit 3 = moderate, bit 4 = dense enough
# for a rural cluster (only set when the rules' rural-cluster density differs from the
# urban-cluster density; otherwise rural clusters come from the urban-cluster labelling).
_RURAL_CODES = np.array([NODATA, 11, 12, 10], dtype=np.uint8)
_RURAL_INDEX = np.zeros(256, dtype=np.uint8)
_RURAL_INDEX[_RURAL_CODES] = np.arange(len(_RURAL_CODES), dtype=np.uint8)
_RURAL_BITS = 3
_DENSE = 4
_MODERATE = 8
_RURAL_DENSE = 16
_NO_POPULATION = 32  # no population data (the code may still be water, with nodata_population = "water")
_NOT_COUNTED = 64  # R2023A edge smoothing: a neighbour that does not count (unpopulated, < 50 % land)
_NEVER_JOINS = 128  # R2023A edge smoothing: permanent water, never joins a centre

# Per-cell classes once clusters are known (see _cluster_classes): bits 0-1 the class of the
# cell's 8-connected (moderate | UC) group, bit 2 DUC, bit 3 UC.
_NOT_CLUSTER, _RURAL_CLUSTER, _URBAN_CLUSTER = 0, 1, 2
_CLUSTER_BITS = 3
_DUC_BIT, _UC_BIT = 4, 8


# --- result ----------------------------------------------------------------------------------


@dataclass
class ChunkedGridClasses:
    """Stage I result as lazy uint8 dask arrays: ``level1`` (3/2/1) and ``level2`` (30…10),
    255 = nodata, on the input's grid and chunks (row 0 = north).

    ``level2`` reads its chunks from a temporary folder, ``level1`` is derived from it chunk by
    chunk. The folder is deleted by :meth:`close` (or leaving a ``with`` block, or garbage
    collection); compute or write the arrays before that. ``sduc_distance_km`` records the D
    used for semi-dense clusters, ``rules`` every rule used.
    """

    level1: da.Array
    level2: da.Array
    sduc_distance_km: float
    rules: Rules = MANUAL_RULES
    _store: _BlockStore | None = field(default=None, repr=False)

    def counts(self, scheduler=None) -> dict[int, int]:
        """Number of cells per Level 2 code (including 255 when present), chunk by chunk."""
        per_chunk = self.level2.map_blocks(_code_counts, new_axis=2, chunks=(1, 1, 256), dtype=np.int64)
        with _Scheduler(scheduler) as run:
            (totals,) = run.compute(per_chunk.sum(axis=(0, 1)))
        return {int(code): int(n) for code, n in enumerate(totals) if n}

    def close(self) -> None:
        """Delete the temporary folder holding ``level2`` (the arrays are unusable after)."""
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> ChunkedGridClasses:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _code_counts(codes: np.ndarray) -> np.ndarray:
    return np.bincount(codes.ravel(), minlength=256)[None, None, :]


# --- per-chunk passes ------------------------------------------------------------------------
#
# Masks of each labelling, from the stored per-cell flags and UC mask of a chunk. The same
# function gives the mask when a chunk is first labelled and when it is labelled again.


def _dense_mask(flags: np.ndarray) -> np.ndarray:
    return (flags & _DENSE) != 0


def _cluster_mask(flags: np.ndarray, urban_centre: np.ndarray, include_centres: bool = True) -> np.ndarray:
    moderate = (flags & _MODERATE) != 0
    return moderate | urban_centre if include_centres else moderate


def _dense_non_uc_mask(flags: np.ndarray, urban_centre: np.ndarray) -> np.ndarray:
    return _dense_mask(flags) & ~urban_centre


def _remaining_mask(codes: np.ndarray) -> np.ndarray:
    # Before semi-dense clusters are known, 21 marks exactly the urban-cluster cells that are
    # neither UC nor DUC (23 and 30 are written over 21).
    return codes == 21


def _rural_dense_mask(flags: np.ndarray) -> np.ndarray:
    return (flags & _RURAL_DENSE) != 0


def _cell_flags(population, land_share, built_share, cell_area_km2, rules: Rules, separate_rural: bool, means=None) -> np.ndarray:
    """One byte per cell: rural code index, dense, moderate and (with ``separate_rural``)
    rural-cluster-density bits (rules of gis.degurba). ``means``: the moving means
    ``(centre population, centre density, cluster population, cluster density)``, None where
    the rules have no window."""
    valid = np.isfinite(population)
    land_area = _land_area_km2(land_share, cell_area_km2)
    centre_population, centre_density, cluster_population, cluster_density = means or (None,) * 4
    centre_population = population if centre_population is None else centre_population
    cluster_population = population if cluster_population is None else cluster_population
    dense, moderate = _dense_and_moderate(
        centre_population, land_area, built_share, valid, rules, land_share, centre_density, cluster_population, cluster_density,
    )
    flags = _RURAL_INDEX[_rural_codes(
        population, land_area, land_share, valid, rules.low_density_rural.density, rules.water, built_share
    )]
    flags |= (~valid).view(np.uint8) * np.uint8(_NO_POPULATION)
    if rules.urban_centre.edge_smoothing == "R2023A" and land_share is not None:
        not_counted, never_joins = r2023a_masks(population, centre_population, land_share, built_share, valid)
        flags |= not_counted.view(np.uint8) * np.uint8(_NOT_COUNTED)
        flags |= never_joins.view(np.uint8) * np.uint8(_NEVER_JOINS)
    flags |= dense.view(np.uint8) * np.uint8(_DENSE)
    flags |= moderate.view(np.uint8) * np.uint8(_MODERATE)
    if separate_rural:
        flags |= _rural_cluster_cells(population, land_area, dense, rules).view(np.uint8) * np.uint8(_RURAL_DENSE)
    return flags


def _valid(flags: np.ndarray) -> np.ndarray:
    return ((flags & _RURAL_BITS) != 0) & ((flags & _NO_POPULATION) == 0)


def _densities_pass(
    population, land_share, built_share, cell_area_km2, flags_path, members_path, rules, separate_rural, means=None,
) -> _ChunkLabels:
    """Store the cell flags of one chunk and label its dense cells (urban-centre contiguity)."""
    flags = _cell_flags(population, land_share, built_share, cell_area_km2, rules, separate_rural, means)
    _save_codes(flags_path, flags)
    weights = population if means is None or means[0] is None else means[0]
    return _label_chunk(_dense_mask(flags), CONTIGUITY[rules.urban_centre.contiguity], weights, members_path)[0]


def _window_mean(population, land_share, cell_area_km2, window: int, output: int) -> np.ndarray:
    """Moving mean of population (``output`` 0) or density (1) on a chunk plus halo (cells
    outside the grid arrive as NaN population: not counted, as in memory)."""
    population = np.asarray(population, dtype="float64")
    land_area = _land_area_km2(land_share, cell_area_km2)
    return moving_mean(population, land_area, window, np.isfinite(population))[output]


def _moving_means(population, land_share, area, rules: Rules, chunks):
    """The four moving means of :func:`_cell_flags` as dask arrays (None without a window)."""
    means = []
    for section in (rules.urban_centre, rules.urban_cluster):
        window = section.population_window
        for output in (0, 1):
            if window <= 1:
                means.append(None)
                continue
            arrays = [population] + ([land_share] if land_share is not None else [])
            area_is_array = isinstance(area, da.Array)
            if area_is_array:
                arrays.append(area)
            boundary = [np.nan] + ([1.0] if land_share is not None else []) + ([1.0] if area_is_array else [])

            def function(*blocks, window=window, output=output, has_land=land_share is not None, area_is_array=area_is_array):
                land = blocks[1] if has_land else None
                cell_area = blocks[-1] if area_is_array else area
                return _window_mean(blocks[0], land, cell_area, window, output)

            halo = _halo(window // 2, population.shape)
            result = da.map_overlap(
                function, *arrays, depth=[halo] * len(arrays), boundary=boundary, dtype=np.float64,
                meta=np.array((), dtype=np.float64),
            )
            means.append(result.rechunk(chunks))
    return means


def _urban_centre_seed(flags_path: str, shape: tuple[int, int], is_urban_centre: np.ndarray, structure) -> np.ndarray:
    """Cells of dense groups >= 50 000 in one chunk (``is_urban_centre`` per chunk label)."""
    labels, _ = ndimage.label(_dense_mask(_load_codes(flags_path, shape)), structure=structure)
    return is_urban_centre[labels]


def _smoothing_step(urban_centre: np.ndarray, flags: np.ndarray, min_neighbours: int) -> np.ndarray:
    return urban_centre | smoothing_additions(urban_centre, _valid(flags), min_neighbours)


def _majority_step(centre_ids: np.ndarray, flags: np.ndarray, rule: str, min_neighbours: int) -> np.ndarray:
    """One R2022A / R2023A pass on a chunk plus a 1-cell halo (centre ids: global, 0 = none)."""
    return majority_pass(
        centre_ids, _valid(flags), rule, min_neighbours, (flags & _NOT_COUNTED) != 0, (flags & _NEVER_JOINS) != 0
    )


def _save_ids_if_changed(grown: np.ndarray, previous: np.ndarray, path: str) -> bool:
    changed = bool((grown != previous).any())
    if changed:
        np.ascontiguousarray(grown, dtype=np.int32).tofile(path)
    return changed


def _load_ids(path: str, shape) -> np.ndarray:
    return np.fromfile(path, dtype=np.int32).reshape(shape)


def _save_if_changed(grown: np.ndarray, previous: np.ndarray, path: str) -> bool:
    """Store a chunk after a smoothing pass if the pass changed it; returns whether it did."""
    changed = bool((grown != previous).any())
    if changed:
        _save_mask(path, grown)
    return changed


def _fill_holes_window(urban_centre: np.ndarray, flags: np.ndarray, max_cells: float) -> np.ndarray:
    if not urban_centre.any():
        return urban_centre
    return fill_urban_centre_holes(urban_centre, _valid(flags), max_cells)


def _clusters_pass(
    urban_centre, flags_path, population, uc_path, cluster_members, duc_members, cluster_structure, dense_structure,
    include_centres=True, dense_population=None,
):
    """Store the final UC mask of one chunk and label its urban-cluster candidates (moderate or
    UC, urban-cluster contiguity) and its dense non-UC cells (urban-centre contiguity).
    ``population`` weighs the clusters, ``dense_population`` (default: the same) the dense ones."""
    _save_mask(uc_path, urban_centre)
    flags = _load_codes(flags_path, urban_centre.shape)
    clusters, _ = _label_chunk(_cluster_mask(flags, urban_centre, include_centres), cluster_structure, population, cluster_members)
    dense_weights = population if dense_population is None else dense_population
    dense_clusters, _ = _label_chunk(_dense_non_uc_mask(flags, urban_centre), dense_structure, dense_weights, duc_members)
    return clusters, dense_clusters


def _outside_urban_clusters_mask(flags, urban_centre, cluster_class, cluster_structure, include_centres=True) -> np.ndarray:
    """Rural-cluster-density cells of one chunk outside urban clusters."""
    labels, _ = ndimage.label(_cluster_mask(flags, urban_centre, include_centres), structure=cluster_structure)
    return _rural_dense_mask(flags) & (cluster_class[labels] != _URBAN_CLUSTER)


def _rural_pass(flags_path, uc_path, shape, cluster_class, population, members_path, cluster_structure, include_centres=True) -> _ChunkLabels:
    """Label one chunk's candidate rural-cluster cells (only when the rural-cluster density
    differs from the urban-cluster density: our choice 7)."""
    flags = _load_codes(flags_path, shape)
    mask = _outside_urban_clusters_mask(flags, _load_mask(uc_path, shape), cluster_class, cluster_structure, include_centres)
    return _label_chunk(mask, cluster_structure, population, members_path)[0]


def _cluster_classes(
    flags_path: str, uc_path: str, shape, cluster_class: np.ndarray, is_dense_cluster: np.ndarray,
    cluster_structure, dense_structure, is_rural_cluster=None, include_centres=True,
) -> np.ndarray:
    """Per cell of one chunk: 0 none, 1 rural cluster, 2 urban cluster, +4 if DUC (dense
    non-UC group of 5 000 to 50 000 inside an urban cluster), +8 if UC. ``is_rural_cluster``
    (per label of the separate rural labelling, when there is one) marks rural clusters."""
    flags = _load_codes(flags_path, shape)
    urban_centre = _load_mask(uc_path, shape)
    labels, _ = ndimage.label(_cluster_mask(flags, urban_centre, include_centres), structure=cluster_structure)
    classes = cluster_class[labels]
    if is_rural_cluster is not None:
        rural = _outside_urban_clusters_mask(flags, urban_centre, cluster_class, cluster_structure, include_centres)
        labels, _ = ndimage.label(rural, structure=cluster_structure)
        classes[is_rural_cluster[labels]] = _RURAL_CLUSTER
    labels, _ = ndimage.label(_dense_non_uc_mask(flags, urban_centre), structure=dense_structure)
    classes[is_dense_cluster[labels] & (classes == _URBAN_CLUSTER)] |= _DUC_BIT
    classes[urban_centre] |= _UC_BIT
    return classes


def _uc_or_duc(classes: np.ndarray) -> np.ndarray:
    return (classes & (_DUC_BIT | _UC_BIT)) != 0


def _near_window(classes: np.ndarray, distance_cells: float, halo: tuple[int, int], shape: str = "edge_to_edge") -> np.ndarray:
    """Within ``distance_cells`` of a UC/DUC cell? Answered only where it is used, at the other
    urban-cluster cells of the chunk, with :func:`gis.degurba.classify.near_cells` (``halo`` = the halo
    around the chunk, ≥ the reach of the distance, so those cells see every feature in reach);
    False elsewhere."""
    near = np.zeros(classes.shape, dtype=bool)
    core = tuple(slice(d, size - d) for d, size in zip(halo, classes.shape))
    rows, cols = np.nonzero(classes[core] == _URBAN_CLUSTER)  # no DUC/UC bit
    if rows.size == 0:
        return near
    rows, cols = rows + halo[0], cols + halo[1]
    # Only the box around the candidates (plus the reach) matters.
    top, left = max(rows.min() - halo[0], 0), max(cols.min() - halo[1], 0)
    box = (slice(top, rows.max() + halo[0] + 1), slice(left, cols.max() + halo[1] + 1))
    near[rows, cols] = near_cells(_uc_or_duc(classes[box]), rows - top, cols - left, distance_cells, shape)
    return near


def _remaining_pass(classes, near, flags_path, population, codes_path, members_path, cluster_structure) -> _ChunkLabels:
    """Store one chunk's Level 2 codes except 22 (semi-dense) and label its remaining urban
    cluster cells (neither UC nor DUC, 8-connected), noting which labels are near a UC/DUC."""
    codes = _RURAL_CODES[_load_codes(flags_path, classes.shape) & _RURAL_BITS]
    cluster = classes & _CLUSTER_BITS
    codes[cluster == _RURAL_CLUSTER] = 13
    codes[cluster == _URBAN_CLUSTER] = 21
    codes[(classes & _DUC_BIT) != 0] = 23
    codes[(classes & _UC_BIT) != 0] = 30
    _save_codes(codes_path, codes)
    summary, labels = _label_chunk(_remaining_mask(codes), cluster_structure, population, members_path)
    summary.near = np.zeros(summary.count + 1, dtype=bool)
    summary.near[labels[near]] = True
    summary.near[0] = False
    return summary


def _final_pass(codes_path: str, shape, is_semi_dense: np.ndarray, level2_path: str, cluster_structure) -> None:
    codes = _load_codes(codes_path, shape)
    labels, _ = ndimage.label(_remaining_mask(codes), structure=cluster_structure)
    codes[is_semi_dense[labels]] = 22
    _save_codes(level2_path, codes)


# --- independent Level 2 clusters (level2.clusters = "independent") --------------------------
#
# Per cell, one byte of class masks (bit 1 dense urban cluster, 2 semi-dense, 4 suburban, 8
# rural cluster: independent_masks), then one labelling per class merged across chunks as the
# others; semi-dense groups near a UC/DUC cell are found with the same halo as in the nested
# rules. A byte per cell of "taken" (1: UC or DUC, 2: the semi-dense mask, 4: DUC) feeds the
# distance windows and the final pass.

_CLASS_BITS = {"dense_urban_cluster": 1, "semi_dense_urban_cluster": 2, "suburban": 4, "rural_cluster": 8}


def _independent_masks_pass(population, land_share, built_share, cell_area_km2, classes_path, members_path, rules, structure):
    """Store one chunk's class masks; label its dense-urban-cluster cells."""
    population = np.asarray(population, dtype="float64")
    valid = np.isfinite(population)
    land_area = _land_area_km2(land_share, cell_area_km2)
    masks = independent_masks(population, land_area, land_share, built_share, valid, rules)
    bits = np.zeros(population.shape, dtype=np.uint8)
    for name, bit in _CLASS_BITS.items():
        bits |= masks[name].view(np.uint8) * np.uint8(bit)
    _save_codes(classes_path, bits)
    return _label_chunk(masks["dense_urban_cluster"], structure, population, members_path)[0]


def _taken_codes(classes_path, uc_path, shape, is_dense_cluster, structure) -> np.ndarray:
    """1: UC or DUC, 2: in the semi-dense mask, 4: DUC (one chunk)."""
    bits = _load_codes(classes_path, shape)
    urban_centre = _load_mask(uc_path, shape)
    labels, _ = ndimage.label((bits & 1) != 0, structure=structure)
    dense_cluster = is_dense_cluster[labels] & ~urban_centre
    taken = (urban_centre | dense_cluster).view(np.uint8).copy()
    taken |= (bits & 2)
    taken |= dense_cluster.view(np.uint8) * np.uint8(4)
    return taken


def _near_semi_dense_window(taken: np.ndarray, distance_cells: float, halo, shape: str) -> np.ndarray:
    """Within the distance of a UC/DUC cell? Answered at the semi-dense-mask cells of the core."""
    near = np.zeros(taken.shape, dtype=bool)
    core = tuple(slice(d, size - d) for d, size in zip(halo, taken.shape))
    rows, cols = np.nonzero((taken[core] & 2) != 0)
    if rows.size == 0:
        return near
    rows, cols = rows + halo[0], cols + halo[1]
    top, left = max(rows.min() - halo[0], 0), max(cols.min() - halo[1], 0)
    box = (slice(top, rows.max() + halo[0] + 1), slice(left, cols.max() + halo[1] + 1))
    near[rows, cols] = near_cells((taken[box] & 1) != 0, rows - top, cols - left, distance_cells, shape)
    return near


def _independent_labels_pass(near, classes_path, population, members_paths, structures):
    """Label one chunk's semi-dense (noting which labels are near), suburban and rural-cluster
    cells."""
    bits = _load_codes(classes_path, near.shape)
    summaries = []
    for name, path, structure in zip(INDEPENDENT_CLASSES[1:], members_paths, structures):
        summary, labels = _label_chunk((bits & _CLASS_BITS[name]) != 0, structure, population, path)
        if name == "semi_dense_urban_cluster":
            summary.near = np.zeros(summary.count + 1, dtype=bool)
            summary.near[labels[near]] = True
            summary.near[0] = False
        summaries.append(summary)
    return tuple(summaries)


def _independent_final_pass(
    classes_path, flags_path, uc_path, taken, lookups, structures, cluster_structure, include_centres, is_urban_cluster,
    level2_path, level1_path,
) -> None:
    """Level 2 and Level 1 codes of one chunk (as gis.degurba.classify._independent_classes)."""
    shape = taken.shape
    flags = _load_codes(flags_path, shape)
    bits = _load_codes(classes_path, shape)
    urban_centre = _load_mask(uc_path, shape)
    dense_cluster = (taken & 4) != 0
    occupied = (taken & 1) != 0
    found = []
    for name, lookup, structure in zip(INDEPENDENT_CLASSES[1:], lookups, structures):
        labels, _ = ndimage.label((bits & _CLASS_BITS[name]) != 0, structure=structure)
        cells = lookup[labels] & ~occupied
        occupied |= cells
        found.append(cells)
    semi_dense, suburban, rural_cluster = found
    codes = _RURAL_CODES[flags & _RURAL_BITS]
    codes[rural_cluster] = 13
    codes[suburban] = 21
    codes[semi_dense] = 22
    codes[dense_cluster] = 23
    codes[urban_centre] = 30
    _save_codes(level2_path, codes)
    level1 = np.where(codes == NODATA, NODATA, 1).astype(np.uint8)
    labels, _ = ndimage.label(_cluster_mask(flags, urban_centre, include_centres), structure=cluster_structure)
    level1[is_urban_cluster[labels]] = 2
    level1[urban_centre] = 3
    _save_codes(level1_path, level1)


def _independent_stages(
    blocks, is_urban_cluster, chunks, indices, store, run, progress, groups_of, with_sums, near_depth, distance_cells,
    rules: Rules,
):
    """Stage I's independent Level 2 classes once the urban centres are stored; returns the
    stored Level 2 and Level 1 codes."""
    population_blocks, land_blocks, built_blocks, area_blocks, area = blocks
    groupings = independent_groupings(rules)
    structures = [CONTIGUITY[contiguity] for contiguity, _ in groupings]
    minimums = [minimum for _, minimum in groupings]
    progress.stage("independent Level 2 clusters: dense urban clusters")
    labelled = run.compute(*[
        dask.delayed(_independent_masks_pass)(
            population_blocks[index],
            None if land_blocks is None else land_blocks[index],
            None if built_blocks is None else built_blocks[index],
            area if area_blocks is None else area_blocks[index],
            store.path("classes", index), store.path("ind_duc_members", index), rules, structures[0],
        )
        for index in indices
    ])
    groups, spanning, sums = groups_of(labelled, structures[0])
    groups = with_sums(groups, spanning, *run.compute(sums))
    is_dense_cluster = groups.chunk_lookups(groups.between(minimums[0]))
    del labelled, groups
    taken = _chunk_array(
        lambda index, lookup=is_dense_cluster: (
            _taken_codes, store.path("classes", index), store.path("uc", index), _chunk_shape(chunks, index),
            lookup[index], structures[0],
        ),
        chunks, np.uint8,
    )
    progress.stage("independent Level 2 clusters: semi-dense, suburban and rural clusters")
    sduc = rules.semi_dense_urban_cluster
    near_blocks = _overlap(
        _near_semi_dense_window, (taken,), near_depth, chunks, distance_cells=distance_cells, halo=near_depth,
        shape=sduc.distance_shape,
    ).to_delayed(optimize_graph=False)
    names = ("sduc_members", "surb_members", "rc_members")
    labelled = run.compute(*[
        dask.delayed(_independent_labels_pass, nout=3)(
            near_blocks[index], store.path("classes", index), population_blocks[index],
            [store.path(name, index) for name in names], structures[1:],
        )
        for index in indices
    ])
    lookups = []
    for position, minimum in enumerate(minimums[1:]):
        summaries = [per_chunk[position] for per_chunk in labelled]
        groups, spanning, sums = groups_of(summaries, structures[1 + position])
        groups = with_sums(groups, spanning, *run.compute(sums))
        keep = groups.between(minimum)
        if position == 0:  # semi-dense: no cell within the distance of a UC/DUC cell
            group_near = np.zeros(len(groups.population), dtype=bool)
            for index, summary in zip(indices, summaries):
                group_near[groups.group_of[groups.offsets[index] + np.flatnonzero(summary.near)]] = True
            keep &= ~group_near
        lookups.append(groups.chunk_lookups(keep))
    del labelled
    progress.stage("writing Level 2 and Level 1 codes")
    taken_blocks = taken.to_delayed(optimize_graph=False)
    cluster = rules.urban_cluster
    run.compute(*[
        dask.delayed(_independent_final_pass)(
            store.path("classes", index), store.path("flags", index), store.path("uc", index), taken_blocks[index],
            [lookup[index] for lookup in lookups], structures[1:], CONTIGUITY[cluster.contiguity], cluster.include_centres,
            is_urban_cluster[index], store.path("level2", index), store.path("level1", index),
        )
        for index in indices
    ])
    store.remove("flags", "uc", "classes", "cluster_members", "duc_members", "ind_duc_members", *names)
    return store.array("level2", chunks, np.uint8), store.array("level1", chunks, np.uint8)


# --- the classification ----------------------------------------------------------------------


def _as_grid_array(values, name: str, shape, chunks) -> da.Array:
    """``values`` (NumPy or dask) as a dask array of ``shape`` on ``chunks``."""
    array = values if isinstance(values, da.Array) else np.asarray(values)
    if array.shape != tuple(shape):
        raise GisError(f"{name} has shape {array.shape}; expected the population grid's shape {tuple(shape)}")
    if isinstance(array, np.ndarray):
        return da.from_array(array, chunks=chunks)
    return array.rechunk(chunks)


def _halo(depth, shape) -> tuple[int, int]:
    """Halo (rows, cols) of a ``map_overlap``: ``depth``, but no deeper than the grid."""
    depth = (depth, depth) if np.ndim(depth) == 0 else depth
    return tuple(min(int(d), size) for d, size in zip(depth, shape))


def _overlap(function, arrays, depth, chunks, dtype=bool, **kwargs) -> da.Array:
    """``map_overlap`` with cells outside the grid as False/0, back on ``chunks`` (dask widens
    chunks narrower than the halo).

    A halo deeper than the grid is cut to the grid's size: the window then holds the whole
    axis, plus as much padding, which is all any of our window functions needs.
    """
    depth = _halo(depth, arrays[0].shape)
    result = da.map_overlap(function, *arrays, depth=depth, boundary=0, dtype=dtype, meta=np.array((), dtype=dtype), **kwargs)
    return result.rechunk(chunks)


def classify_grid_chunked(
    population,
    land_share=None,
    built_share=None,
    sduc_distance_km: float | None = None,
    cell_area_km2=1.0,
    cell_size_km: float = 1.0,
    chunks=None,
    scheduler=None,
    progress=None,
    workdir=None,
    rules: Rules | None = None,
) -> ChunkedGridClasses:
    """Stage I of the Degree of Urbanisation on a grid too large for memory (dask).

    Gives the same codes as :func:`gis.degurba.classify.classify_grid`, cell for cell; see this module's
    docstring for how and at what memory cost.

    Parameters
    ----------
    population
        2-D dask or NumPy array of persons per cell (NaN = no data), e.g. a window of the GHSL
        1 km grid (ESRI:54009); converted to float64 chunk by chunk. Not modified.
    land_share, built_share
        Optional permanent-land and built-up shares (0..1) of each cell, same shape (dask or
        NumPy); as in ``classify_grid``.
    sduc_distance_km
        D of the semi-dense urban cluster rule, km edge to edge (2: 2021 manual, 3: GHSL);
        overrides the rules' ``distance_km``. None: the rules' value.
    cell_area_km2
        Area of a cell in km²: a number, or an array (dask or NumPy) of the grid's shape.
    cell_size_km
        Edge of a (square) cell in km, to turn ``sduc_distance_km`` into cells.
    chunks
        Chunk shape used throughout (an int or (rows, cols), in cells, or anything
        ``dask.array.rechunk`` takes); default: a dask input's own chunks, 2048 × 2048 for NumPy.
    scheduler
        ``None`` (local threads), a local scheduler name (``"synchronous"``, ``"processes"``),
        a ``dask.distributed.Client``, or a scheduler address such as ``"tcp://host:8786"``.
    progress
        ``True``: stage messages and progress bars on stderr; a callable: called with each
        stage message; ``None``: silent.
    workdir
        Folder for the temporary store of intermediate grids (default: the system's temporary
        folder); it must be shared by all workers of a multi-machine cluster.
    rules
        :class:`gis.degurba.rules.Rules` (default: the 2021 manual's), as in ``classify_grid``.

    Returns a :class:`ChunkedGridClasses` of lazy uint8 arrays on ``chunks``.
    """
    reporter = _Progress(progress)
    if not (isinstance(population, da.Array) or hasattr(population, "shape")):
        population = np.asarray(population)
    if len(population.shape) != 2:
        raise GisError(f"population must be a 2-D grid, got shape {tuple(population.shape)}")
    if sduc_distance_km is not None:
        sduc_distance_km, _ = check_sduc_distance(sduc_distance_km)
    rules = (rules or MANUAL_RULES).with_distance(sduc_distance_km)
    distance, cell_size = check_sduc_distance(rules.semi_dense_urban_cluster.distance_km, cell_size_km)
    if chunks is None:
        chunks = population.chunks if isinstance(population, da.Array) else DEFAULT_CHUNK
    try:
        population = _as_grid_array(population, "population", population.shape, chunks)
    except (ValueError, ZeroDivisionError) as error:
        raise GisError(f"cannot split the population grid {tuple(population.shape)} into chunks {chunks!r}: {error}") from None
    chunks = population.chunks
    shape = population.shape
    if min(shape) == 0:
        level2 = da.full(shape, NODATA, dtype=np.uint8, chunks=chunks)
        return ChunkedGridClasses(level2.map_blocks(level1_from_level2, dtype=np.uint8), level2, distance, rules)
    if max(chunks[0]) * max(chunks[1]) >= 2**31:
        raise GisError(f"chunks of {max(chunks[0])} x {max(chunks[1])} cells are too large (limit 2**31 cells)")
    population = population.astype(np.float64)
    optional = {
        "land_share": None if land_share is None else _as_grid_array(land_share, "land_share", shape, chunks).astype(np.float64),
        "built_share": None if built_share is None else _as_grid_array(built_share, "built_share", shape, chunks),
    }
    area = cell_area_km2
    if np.ndim(area) != 0 or isinstance(area, da.Array):
        area = _as_grid_array(area, "cell_area_km2", shape, chunks)
    rectangles = distance_rectangles(distance / cell_size, rules.semi_dense_urban_cluster.distance_shape)
    near_depth = _halo((rectangles[-1][0], rectangles[0][1]), shape)

    store = _BlockStore(workdir)
    try:
        with _Scheduler(scheduler, reporter) as run:
            sections = optimal_sections(rules, optional["built_share"] is not None)
            if sections:
                value = _optimal_built_share(population, optional, area, rules, store, run)
                rules = with_optimal(rules, sections, value)
                reporter.stage(f"optimal built-up share: {value:.2f}")
            level2, level1 = _classify(population, optional, area, near_depth, distance / cell_size, store, run, rules, cell_size)
    except BaseException:
        store.close()
        raise
    reporter.stage("done")
    if level1 is None:
        level1 = level2.map_blocks(level1_from_level2, dtype=np.uint8)
    return ChunkedGridClasses(level1, level2, distance, rules, store)


def _optimal_dense_pass(population, land_share, cell_area_km2, members_path, density, structure):
    land_area = _land_area_km2(land_share, cell_area_km2)
    population = np.asarray(population, dtype="float64")
    return _label_chunk(_at_least(population, land_area, density), structure, population, members_path)[0]


def _optimal_values_pass(population, land_share, built_share, cell_area_km2, density, structure, lookup, origin):
    """Flat grid indices and built-up shares of one chunk's cells of dense clusters."""
    land_area = _land_area_km2(land_share, cell_area_km2)
    labels, _ = ndimage.label(_at_least(np.asarray(population, dtype="float64"), land_area, density), structure=structure)
    cells = lookup[labels]
    rows, cols = np.nonzero(cells)
    row0, col0, grid_width = origin
    return (rows + row0) * grid_width + cols + col0, np.asarray(built_share, dtype="float64")[cells]


def _optimal_built_share(population, optional, area, rules: Rules, store, run) -> float:
    """:func:`gis.degurba.classify.optimal_built_share` chunk by chunk: the dense clusters are
    labelled and merged as the others; their cells' built-up shares are gathered (a small
    share of the grid) and averaged in row-major order, as in memory."""
    chunks = population.chunks
    indices = list(np.ndindex(population.numblocks))
    density = rules.resolved("dense_urban_cluster", "density")
    structure = CONTIGUITY[rules.resolved("dense_urban_cluster", "contiguity")]
    blocks = population.to_delayed(optimize_graph=False)
    land = None if optional["land_share"] is None else optional["land_share"].to_delayed(optimize_graph=False)
    built = optional["built_share"].to_delayed(optimize_graph=False)
    areas = area.to_delayed(optimize_graph=False) if isinstance(area, da.Array) else None
    run.progress.stage("optimal built-up share: dense clusters")
    labelled = run.compute(*[
        dask.delayed(_optimal_dense_pass)(
            blocks[index], None if land is None else land[index], area if areas is None else areas[index],
            store.path("optimal_members", index), density, structure,
        )
        for index in indices
    ])
    origins = np.empty(population.numblocks, dtype=object)
    row_starts, col_starts = np.cumsum((0,) + chunks[0]), np.cumsum((0,) + chunks[1])
    table = np.empty(population.numblocks, dtype=object)
    for (i, j), summary in zip(indices, labelled):
        origins[i, j] = (int(row_starts[i]), int(col_starts[j]), chunks[1][j])
        table[i, j] = summary
    width = population.shape[1]
    rows_per_band = max(1, max(chunks[0]) * max(chunks[1]) // width)
    groups, spanning, sums = _group_populations(table, structure, origins, width, rows_per_band)
    groups.population[spanning] = run.compute(sums)[0]
    lookups = groups.chunk_lookups(groups.between(rules.dense_urban_cluster.population))
    gathered = run.compute(*[
        dask.delayed(_optimal_values_pass, nout=2)(
            blocks[index], None if land is None else land[index], built[index], area if areas is None else areas[index],
            density, structure, lookups[index], (int(row_starts[index[0]]), int(col_starts[index[1]]), width),
        )
        for index in indices
    ])
    store.remove("optimal_members")
    cells = np.concatenate([c for c, _ in gathered])
    values = np.concatenate([v for _, v in gathered])
    return optimal_from_values(values[np.argsort(cells, kind="stable")])


def _classify(population, optional, area, near_depth, distance_cells, store, run, rules: Rules, cell_size_km: float) -> da.Array:
    """The stages of Stage I, chunk by chunk; returns the stored Level 2 codes."""
    centre, cluster = rules.urban_centre, rules.urban_cluster
    dense_structure, cluster_structure = CONTIGUITY[centre.contiguity], CONTIGUITY[cluster.contiguity]
    separate_rural = rules.rural_cluster.density != cluster.density
    hole_cells = max_hole_cells(rules, cell_size_km)
    chunks = population.chunks
    indices = list(np.ndindex(population.numblocks))
    origins = np.empty(population.numblocks, dtype=object)
    row_starts, col_starts = np.cumsum((0,) + chunks[0]), np.cumsum((0,) + chunks[1])
    for i, j in indices:
        origins[i, j] = (int(row_starts[i]), int(col_starts[j]), chunks[1][j])
    grid_width = population.shape[1]
    # Cross-chunk sums read full-width bands of about one chunk's cells.
    rows_per_band = max(1, max(chunks[0]) * max(chunks[1]) // grid_width)
    progress = run.progress

    def per_chunk(results) -> np.ndarray:
        table = np.empty(population.numblocks, dtype=object)
        for index, result in zip(indices, results):
            table[index] = result
        return table

    def groups_of(labelled: list, structure) -> tuple:
        """Merge chunk labellings; returns the groups and the delayed cross-chunk sums."""
        return _group_populations(per_chunk(labelled), structure, origins, grid_width, rows_per_band)

    def with_sums(groups, spanning, sums) -> _Groups:
        groups.population[spanning] = sums
        return groups

    def optional_blocks(array):
        return None if array is None else array.to_delayed(optimize_graph=False)

    # 1. Cell densities and dense groups (4-connected) -> urban centre seeds (>= 50 000).
    progress.stage(f"cell densities and dense cells: {len(indices)} chunks of up to {max(chunks[0])} x {max(chunks[1])} cells")
    # Graphs are not optimised chunk-array by chunk-array: fusing would rename tasks that
    # several consumers share in one computation, and compute them twice.
    population_blocks = population.to_delayed(optimize_graph=False)
    land_blocks, built_blocks = optional_blocks(optional["land_share"]), optional_blocks(optional["built_share"])
    area_blocks = optional_blocks(area) if isinstance(area, da.Array) else None
    # Moving means of population (population_window > 1): per chunk with a halo of the window.
    mean_blocks = [optional_blocks(mean) for mean in _moving_means(population, optional["land_share"], area, rules, chunks)]
    windowed = any(blocks is not None for blocks in mean_blocks)

    def means_of(index):
        return None if not windowed else tuple(None if blocks is None else blocks[index] for blocks in mean_blocks)

    centre_blocks = population_blocks if mean_blocks[0] is None else mean_blocks[0]
    cluster_blocks = population_blocks if mean_blocks[2] is None else mean_blocks[2]
    dense_labels = run.compute(*[
        dask.delayed(_densities_pass)(
            population_blocks[index],
            None if land_blocks is None else land_blocks[index],
            None if built_blocks is None else built_blocks[index],
            area if area_blocks is None else area_blocks[index],
            store.path("flags", index), store.path("dense_members", index), rules, separate_rural, means_of(index),
        )
        for index in indices
    ])
    progress.stage("merging dense groups across chunks")
    dense_groups, spanning, spanning_sums = groups_of(dense_labels, dense_structure)
    dense_groups = with_sums(dense_groups, spanning, *run.compute(spanning_sums))
    flags = store.array("flags", chunks, np.uint8)
    is_seed = dense_groups.between(centre.population)
    by_centre = centre.edge_smoothing in ("R2022A", "R2023A")  # smoothing needs each centre's id
    if by_centre:
        # Global ids of the centres (1..): the lookup maps each chunk label to its group's id.
        is_urban_centre = dense_groups.chunk_lookups(np.where(is_seed, np.arange(len(is_seed), dtype=np.int32), 0))
    else:
        is_urban_centre = dense_groups.chunk_lookups(is_seed)
    # Where each chunk's current UC mask (or centre ids) comes from: the seed (labelled again),
    # then the file of the last smoothing pass that changed the chunk.
    uc_sources = {
        index: (_urban_centre_seed, store.path("flags", index), _chunk_shape(chunks, index), is_urban_centre[index], dense_structure)
        for index in indices
    }
    del dense_labels, dense_groups, is_urban_centre

    # 2. Smoothing, a whole pass at a time, until no chunk changes (as classify_grid).
    for iteration in itertools.count(1):
        urban_centre = _chunk_array(uc_sources.__getitem__, chunks, np.int32 if by_centre else bool)
        if centre.smoothing_neighbours > 8 or centre.edge_smoothing == "off":  # no smoothing
            iteration = 0
            break
        progress.stage(f"smoothing urban centres, pass {iteration}")
        if by_centre:
            grown = _overlap(
                _majority_step, (urban_centre, flags), 1, chunks, dtype=np.int32,
                rule=centre.edge_smoothing, min_neighbours=centre.smoothing_neighbours,
            )
            save, load = _save_ids_if_changed, _load_ids
        else:
            grown = _overlap(_smoothing_step, (urban_centre, flags), 1, chunks, min_neighbours=centre.smoothing_neighbours)
            save, load = _save_if_changed, _load_mask
        grown_blocks = grown.to_delayed(optimize_graph=False)
        previous_blocks = urban_centre.to_delayed(optimize_graph=False)
        name = f"uc_pass{iteration}"
        changed = run.compute(*[
            dask.delayed(save)(grown_blocks[index], previous_blocks[index], store.path(name, index))
            for index in indices
        ])
        for index, chunk_changed in zip(indices, changed):
            if chunk_changed:
                uc_sources[index] = (load, store.path(name, index), _chunk_shape(chunks, index))
        if not any(changed):
            break
    if by_centre:
        urban_centre = urban_centre > 0

    # 3. Hole filling; urban-cluster candidates (8-connected) and dense non-UC cells (4).
    progress.stage("filling holes; labelling urban clusters and dense clusters")
    # A hole of fewer than T cells around a chunk cell lies within T - 2 cells of it: a halo of
    # ceil(T) cells holds it whole (see the module docstring).
    hole_halo = max(1, int(np.ceil(hole_cells)))
    filled_blocks = _overlap(
        _fill_holes_window, (urban_centre, flags), hole_halo, chunks, max_cells=hole_cells
    ).to_delayed(optimize_graph=False)
    labelled = run.compute(*[
        dask.delayed(_clusters_pass, nout=2)(
            filled_blocks[index], store.path("flags", index), cluster_blocks[index], store.path("uc", index),
            store.path("cluster_members", index), store.path("duc_members", index), cluster_structure, dense_structure,
            cluster.include_centres, centre_blocks[index],
        )
        for index in indices
    ])
    store.remove("dense_members", *(f"uc_pass{k}" for k in range(1, iteration + 1)))
    progress.stage("merging urban clusters and dense clusters across chunks")
    cluster_groups, cluster_spanning, cluster_sums = groups_of([c for c, _ in labelled], cluster_structure)
    duc_groups, duc_spanning, duc_sums = groups_of([d for _, d in labelled], dense_structure)
    cluster_sums, duc_sums = run.compute(cluster_sums, duc_sums)
    cluster_groups = with_sums(cluster_groups, cluster_spanning, cluster_sums)
    duc_groups = with_sums(duc_groups, duc_spanning, duc_sums)
    del labelled
    if rules.independent:
        is_urban_cluster = cluster_groups.chunk_lookups(cluster_groups.between(cluster.population))
        del cluster_groups, duc_groups
        blocks = (population_blocks, land_blocks, built_blocks, area_blocks, area)
        return _independent_stages(
            blocks, is_urban_cluster, chunks, indices, store, run, progress, groups_of, with_sums, near_depth,
            distance_cells, rules,
        )

    # 4. Codes so far (all but 22); remaining urban-cluster cells and their distance to UC/DUC.
    progress.stage("urban, rural and dense clusters; distance of the other urban-cluster cells to them")
    cluster_class = np.full(len(cluster_groups.population), _NOT_CLUSTER, dtype=np.uint8)
    if not separate_rural:
        cluster_class[cluster_groups.between(rules.rural_cluster.population, cluster.population)] = _RURAL_CLUSTER
    cluster_class[cluster_groups.between(cluster.population)] = _URBAN_CLUSTER
    cluster_class = cluster_groups.chunk_lookups(cluster_class)
    is_dense_cluster = duc_groups.chunk_lookups(
        duc_groups.between(rules.dense_urban_cluster.population, centre.population)
    )
    is_rural_cluster = np.full(population.numblocks, None, dtype=object)
    if separate_rural:
        # Rural clusters are cells outside urban clusters of another density (our choice 7):
        # one more labelling, merged and summed as the others.
        progress.stage("rural clusters (own density)")
        rural_labels = run.compute(*[
            dask.delayed(_rural_pass)(
                store.path("flags", index), store.path("uc", index), _chunk_shape(chunks, index), cluster_class[index],
                population_blocks[index], store.path("rural_members", index), cluster_structure,
                cluster.include_centres,
            )
            for index in indices
        ])
        rural_groups, spanning, spanning_sums = groups_of(rural_labels, cluster_structure)
        rural_groups = with_sums(rural_groups, spanning, *run.compute(spanning_sums))
        is_rural_cluster = rural_groups.chunk_lookups(rural_groups.between(rules.rural_cluster.population))
        del rural_labels, rural_groups
    classes = _chunk_array(  # the lookups are bound now: the names are deleted below
        lambda index, cluster_class=cluster_class, is_dense_cluster=is_dense_cluster, is_rural_cluster=is_rural_cluster: (
            _cluster_classes, store.path("flags", index), store.path("uc", index), _chunk_shape(chunks, index),
            cluster_class[index], is_dense_cluster[index], cluster_structure, dense_structure, is_rural_cluster[index],
            cluster.include_centres,
        ),
        chunks, np.uint8,
    )
    del cluster_groups, duc_groups, cluster_class, is_dense_cluster, is_rural_cluster
    near_blocks = _overlap(
        _near_window, (classes,), near_depth, chunks, distance_cells=distance_cells, halo=near_depth,
        shape=rules.semi_dense_urban_cluster.distance_shape,
    ).to_delayed(optimize_graph=False)
    class_blocks = classes.to_delayed(optimize_graph=False)
    remaining_labels = run.compute(*[
        dask.delayed(_remaining_pass)(
            class_blocks[index], near_blocks[index], store.path("flags", index), cluster_blocks[index],
            store.path("codes", index), store.path("remaining_members", index), cluster_structure,
        )
        for index in indices
    ])
    store.remove("flags", "uc", "cluster_members", "duc_members", *(["rural_members"] if separate_rural else []))

    # 5. Semi-dense clusters: remaining groups >= 5 000 with no cell within D of a UC/DUC cell.
    progress.stage("semi-dense urban clusters")
    remaining_groups, spanning, spanning_sums = groups_of(remaining_labels, cluster_structure)
    remaining_groups = with_sums(remaining_groups, spanning, *run.compute(spanning_sums))
    group_near = np.zeros(len(remaining_groups.population), dtype=bool)
    for index, labels in zip(indices, remaining_labels):
        group_near[remaining_groups.group_of[remaining_groups.offsets[index] + np.flatnonzero(labels.near)]] = True
    is_semi_dense = remaining_groups.chunk_lookups(
        remaining_groups.between(rules.semi_dense_urban_cluster.population) & ~group_near
    )
    progress.stage("writing Level 2 codes")
    run.compute(*[
        dask.delayed(_final_pass)(
            store.path("codes", index), _chunk_shape(chunks, index), is_semi_dense[index], store.path("level2", index),
            cluster_structure,
        )
        for index in indices
    ])
    store.remove("codes", "remaining_members")
    return store.array("level2", chunks, np.uint8), None


# --- writing ---------------------------------------------------------------------------------


def write_class_geotiff_chunked(
    path, codes, transform: Affine, level: int = 2, crs=GHSL_CRS, scheduler=None, progress=None, tags=None
) -> Path:
    """Write a Level 1 or Level 2 class grid (dask or NumPy, uint8, 255 = nodata) as the same
    styled GeoTIFF as :func:`gis.degurba.rasters.write_class_geotiff` (deflate, 256 × 256 tiles,
    GHSL colour table, class names and tags), one row of chunks at a time.

    ``transform`` and ``crs`` (default ESRI:54009) georeference the grid. Chunks are first
    aligned to whole tiles so each compressed tile is written once. ``tags`` (e.g.
    :meth:`gis.degurba.rules.Rules.geotiff_tags`) become dataset tags. The file is written next
    to ``path`` and moved into place only when complete (:func:`gis._files.atomic_path`):
    an error or interruption leaves no file at ``path``. Memory: one row of chunks of codes.
    Returns the path written.
    """
    codes = codes if isinstance(codes, da.Array) else da.from_array(np.asarray(codes), chunks=DEFAULT_CHUNK)
    if codes.ndim != 2:
        raise GisError(f"class codes must be a 2-D grid, got shape {codes.shape}")
    if level not in (1, 2):
        raise GisError(f"level must be 1 or 2, not {level!r}")
    profile = class_geotiff_profile(codes.shape, transform, crs)
    if profile["tiled"]:
        codes = codes.rechunk(tuple(-(-max(c) // CLASS_TILE) * CLASS_TILE for c in codes.chunks))
    codes = codes.astype(np.uint8)
    reporter = _Progress(progress)
    path = Path(path)
    row_starts, col_starts = np.cumsum((0,) + codes.chunks[0]), np.cumsum((0,) + codes.chunks[1])
    with _Scheduler(scheduler, reporter) as run, atomic_path(path) as temporary:
        with rasterio.open(temporary, "w", **profile) as dst:
            for i in range(codes.numblocks[0]):
                reporter.stage(f"writing {path.name}: chunk row {i + 1} of {codes.numblocks[0]}")
                row = run.compute(*[codes.blocks[i, j] for j in range(codes.numblocks[1])])
                for j, values in enumerate(row):
                    window = rasterio.windows.Window(
                        int(col_starts[j]), int(row_starts[i]), values.shape[1], values.shape[0]
                    )
                    dst.write(values, 1, window=window)
            style_class_band(dst, level, tags)
    return path
