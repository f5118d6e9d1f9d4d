"""Labelling chunk by chunk and merging labels across chunk borders (out-of-core engine).

Each chunk is labelled on its own (scipy.ndimage); labels that touch across a chunk border are
merged with a sparse graph's connected components, and the populations of groups that span
chunks are summed band by band from the member cells written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import numpy as np
from scipy import ndimage, sparse
from scipy.sparse import csgraph

# A member cell of a group that may span chunks: its index in the chunk (row-major), its label
# in the chunk and its population. Written to disk in row-major order.
_MEMBER = np.dtype([("flat", "<i4"), ("label", "<i4"), ("population", "<f8")])
# --- labelling chunk by chunk and merging across chunk borders -------------------------------


@dataclass
class _ChunkLabels:
    """One chunk labelled on its own: labels 1..``count``, the labels along its four edges, each
    label's population (``np.bincount`` in the chunk's row-major order), and where each row
    starts in the chunk's file of edge-touching labels' members (``row_starts``, length rows +
    1). ``near`` (optional) marks labels with a cell near a UC/DUC cell."""

    count: int
    top: np.ndarray
    bottom: np.ndarray
    left: np.ndarray
    right: np.ndarray
    population: np.ndarray
    row_starts: np.ndarray
    members_path: str
    near: np.ndarray | None = None


def _label_chunk(mask: np.ndarray, structure: np.ndarray, population: np.ndarray, members_path: str) -> tuple[_ChunkLabels, np.ndarray]:
    """Label ``mask`` within one chunk, sum each label's population in row-major order, and
    store the members of labels touching the chunk's edge (only those can belong to a group
    spanning chunks). Returns the summary and the labels (int32).

    Labels are not stored: ``scipy.ndimage.label`` is deterministic, so later passes label the
    same mask again, which is faster than writing and reading 4 bytes per cell.
    """
    labels, count = ndimage.label(mask, structure=structure)
    labels = labels.astype(np.int32, copy=False)
    members = np.flatnonzero(labels)
    member_labels = labels.ravel()[members]
    member_rows, member_cols = np.divmod(members, labels.shape[1])
    member_population = population[member_rows, member_cols]  # gathers only members
    label_population = np.bincount(member_labels, weights=member_population, minlength=count + 1)
    on_edge = np.zeros(count + 1, dtype=bool)
    for edge in (labels[0, :], labels[-1, :], labels[:, 0], labels[:, -1]):
        on_edge[edge] = True
    on_edge[0] = False
    keep = on_edge[member_labels]
    records = np.empty(int(np.count_nonzero(keep)), dtype=_MEMBER)
    records["flat"] = members[keep]
    records["label"] = member_labels[keep]
    records["population"] = member_population[keep]
    records.tofile(members_path)
    row_starts = np.searchsorted(member_rows[keep], np.arange(labels.shape[0] + 1))
    summary = _ChunkLabels(
        count=int(count), top=labels[0, :].copy(), bottom=labels[-1, :].copy(), left=labels[:, 0].copy(),
        right=labels[:, -1].copy(), population=label_population, row_starts=row_starts, members_path=members_path,
    )
    return summary, labels


@dataclass
class _Groups:
    """Groups of one mask over the whole grid, from its chunk labellings.

    Chunk (i, j)'s label k is the global "chunk label" ``offsets[i, j] + k``; ``group_of`` maps
    chunk labels to groups (0 = no group) and ``population`` is each group's population, equal
    bit for bit to ``np.bincount`` over the whole grid.
    """

    offsets: np.ndarray
    counts: np.ndarray
    group_of: np.ndarray
    population: np.ndarray

    def chunk_lookup(self, per_group: np.ndarray, index: tuple[int, int]) -> np.ndarray:
        """``per_group`` values (index 0 = no group) for the labels 0..count of one chunk."""
        offset, count = self.offsets[index], self.counts[index]
        chunk_groups = np.concatenate([[0], self.group_of[offset + 1:offset + count + 1]])
        return per_group[chunk_groups]

    def chunk_lookups(self, per_group: np.ndarray) -> np.ndarray:
        lookups = np.empty(self.offsets.shape, dtype=object)
        for index in np.ndindex(self.offsets.shape):
            lookups[index] = self.chunk_lookup(per_group, index)
        return lookups

    def between(self, low: float, high: float = np.inf) -> np.ndarray:
        """Per group: is its population in [low, high)? (group 0: False)."""
        keep = (self.population >= low) & (self.population < high)
        keep[0] = False
        return keep


def _touching_pairs(first: np.ndarray, second: np.ndarray, eight_connected: bool) -> np.ndarray:
    """(2, n) chunk-label pairs of two facing lines of cells (across a chunk border) that touch:
    cell k with cell k, and with cells k ± 1 for 8-connectivity."""
    pairs = []
    for shift in ((-1, 0, 1) if eight_connected else (0,)):
        a = first[max(shift, 0):len(first) + min(shift, 0)]
        b = second[max(-shift, 0):len(second) + min(-shift, 0)]
        both = (a > 0) & (b > 0)
        pairs.append(np.stack([a[both], b[both]]))
    return np.concatenate(pairs, axis=1)


def _merge_chunks(chunk_labels: np.ndarray, structure: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Groups of the chunk labels: (offsets, counts, group_of, number of groups incl. 0)."""
    counts = np.vectorize(lambda c: c.count, otypes=[np.int64])(chunk_labels)
    offsets = (np.cumsum(counts.ravel()) - counts.ravel()).reshape(counts.shape)
    n_chunk_labels = int(counts.sum())

    def global_line(index, side):
        local = getattr(chunk_labels[index], side).astype(np.int64)
        return np.where(local > 0, local + offsets[index], 0)

    eight_connected = bool(structure[0, 0])
    n_rows, n_cols = counts.shape
    pairs = [np.zeros((2, 0), dtype=np.int64)]
    # Horizontal chunk borders: the last row of chunk row i faces the first row of chunk row
    # i + 1 over the full grid width, so pairs across chunk corners are included.
    for i in range(n_rows - 1):
        above = np.concatenate([global_line((i, j), "bottom") for j in range(n_cols)])
        below = np.concatenate([global_line((i + 1, j), "top") for j in range(n_cols)])
        pairs.append(_touching_pairs(above, below, eight_connected))
    for j in range(n_cols - 1):
        left = np.concatenate([global_line((i, j), "right") for i in range(n_rows)])
        right = np.concatenate([global_line((i, j + 1), "left") for i in range(n_rows)])
        pairs.append(_touching_pairs(left, right, eight_connected))
    pairs = np.concatenate(pairs, axis=1)
    graph = sparse.coo_matrix(
        (np.ones(pairs.shape[1], dtype=np.int32), (pairs[0], pairs[1])), shape=(n_chunk_labels + 1,) * 2
    ).tocsr()
    # Node 0 (background) touches nothing and comes first, so it is group 0.
    n_groups, group_of = csgraph.connected_components(graph, directed=False)
    return offsets, counts, group_of.astype(np.int64), int(n_groups)


def _sum_spanning_groups(chunk_rows: list, spanning_of: list, n_spanning: int, grid_width: int, rows_per_band: int) -> np.ndarray:
    """Populations of the groups spanning several chunks, adding their members' populations one
    at a time in the grid's row-major order (like ``np.bincount`` over the whole grid).

    ``chunk_rows``: per chunk row, a list of (members file, first row, first column, chunk
    width, row starts) per chunk; ``spanning_of``: per chunk, its labels' spanning-group index
    (-1: not spanning; None: no label spans). Reads one band of ``rows_per_band`` rows (full
    width) at a time.
    """
    totals = np.zeros(n_spanning)
    for chunks, spanning in zip(chunk_rows, spanning_of):
        height = len(chunks[0][4]) - 1
        for band in range(0, height, rows_per_band):
            stop = min(band + rows_per_band, height)
            order_keys, groups, populations = [], [], []
            for (path, row0, col0, width, row_starts), lookup in zip(chunks, spanning):
                first, last = int(row_starts[band]), int(row_starts[stop])
                if lookup is None or last == first:
                    continue
                records = np.fromfile(path, dtype=_MEMBER, count=last - first, offset=first * _MEMBER.itemsize)
                group = lookup[records["label"]]
                keep = group >= 0
                records = records[keep]
                rows, cols = np.divmod(records["flat"].astype(np.int64), width)
                order_keys.append((row0 + rows) * grid_width + col0 + cols)
                groups.append(group[keep])
                populations.append(records["population"])
            if not order_keys:
                continue
            order = np.argsort(np.concatenate(order_keys), kind="stable")
            np.add.at(totals, np.concatenate(groups)[order], np.concatenate(populations)[order])
    return totals


def _group_populations(chunk_labels: np.ndarray, structure: np.ndarray, chunk_origins, grid_width: int, rows_per_band: int):
    """Merge chunk labellings into groups; returns the :class:`_Groups` (populations of
    chunk-spanning groups still to be summed) and the delayed sum of those."""
    offsets, counts, group_of, n_groups = _merge_chunks(chunk_labels, structure)
    labels_per_group = np.bincount(group_of, minlength=n_groups)
    spanning = labels_per_group >= 2
    spanning[0] = False
    population = np.zeros(n_groups)
    # A group inside one chunk is one chunk label: its chunk's bincount is the exact sum.
    chunk_population = np.concatenate([[0.0]] + [chunk_labels[index].population[1:] for index in np.ndindex(counts.shape)])
    single = ~spanning[group_of]
    single[0] = False
    population[group_of[single]] = chunk_population[single]
    spanning_index = np.full(n_groups, -1, dtype=np.int32)
    spanning_index[spanning] = np.arange(int(spanning.sum()))
    groups = _Groups(offsets, counts, group_of, population)
    chunk_rows, spanning_of = [], []
    for i in range(counts.shape[0]):
        row, lookups = [], []
        for j in range(counts.shape[1]):
            labels = chunk_labels[i, j]
            row0, col0, width = chunk_origins[i, j]
            row.append((labels.members_path, row0, col0, width, labels.row_starts))
            lookup = groups.chunk_lookup(spanning_index, (i, j))
            lookups.append(lookup if (lookup >= 0).any() else None)  # None: nothing to read
        chunk_rows.append(row)
        spanning_of.append(lookups)
    spanning_sums = dask.delayed(_sum_spanning_groups, pure=True)(
        chunk_rows, spanning_of, int(spanning.sum()), grid_width, rows_per_band
    )
    return groups, spanning, spanning_sums
