"""LISA on a 5×5 lattice of squares with a known hot spot, against esda called directly."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from gis.analysis.lisa import NOT_SIGNIFICANT, local_moran
from gis.errors import GisError


def lattice(values):
    cells = [box(c, r, c + 1, r + 1) for r in range(5) for c in range(5)]
    return gpd.GeoDataFrame({"adcode": [f"{i:06d}" for i in range(25)], "name": [f"u{i}" for i in range(25)], "v": values}, geometry=cells, crs="EPSG:3857")


# A hot 2×2 block in the lower-left corner, everything else low (small distinct offsets).
HOT = {0, 1, 5, 6}
VALUES = np.array([10.0 if i in HOT else 1.0 for i in range(25)]) + np.arange(25) * 0.01


def test_lisa_matches_esda_and_finds_the_hot_spot():
    from esda.moran import Moran_Local
    from libpysal.weights import lat2W

    result = local_moran(lattice(VALUES), "v", permutations=999, seed=7)
    # The same lattice built by libpysal (queen = rook=False), row-standardised.
    w = lat2W(5, 5, rook=False)
    w.transform = "r"
    reference = Moran_Local(VALUES, w, transformation="r", permutations=999, seed=7)
    assert np.allclose(result.frame["lisa_i"], reference.Is)
    assert np.allclose(result.frame["lisa_p"], reference.p_sim)
    clusters = dict(zip(result.frame.index, result.frame["lisa_cluster"]))
    assert {i for i, c in clusters.items() if c == "HH"} == HOT
    assert set(result.frame["lisa_cluster"]) <= {"HH", "LL", "HL", "LH", NOT_SIGNIFICANT}
    assert "HH 4" in result.summary()


def test_missing_values_and_islands_are_left_out_and_reported():
    frame = lattice(VALUES)
    frame.loc[24, "v"] = np.nan
    island = gpd.GeoDataFrame({"adcode": ["999999"], "name": ["岛"], "v": [5.0]}, geometry=[box(10, 10, 11, 11)], crs=frame.crs)
    result = local_moran(
        gpd.GeoDataFrame(np.concatenate([frame.values, island.values]), columns=frame.columns, geometry="geometry", crs=frame.crs).astype({"v": float}),
        "v",
        seed=7,
    )
    assert result.excluded == {"u24 (000024)": "no value for v", "岛 (999999)": "no queen neighbour with a value (island); --islands knn:K links it instead"}
    assert len(result.frame) == 24


def test_lisa_errors():
    with pytest.raises(GisError, match="no column 'x'"):
        local_moran(lattice(VALUES), "x")
    with pytest.raises(GisError, match="same value for every unit"):
        local_moran(lattice(np.ones(25)), "v")


def test_fdr_uses_the_benjamini_hochberg_cutoff_of_esda():
    from esda import fdr

    plain = local_moran(lattice(VALUES), "v", permutations=999, seed=7)
    controlled = local_moran(lattice(VALUES), "v", permutations=999, seed=7, fdr=True)
    cutoff = fdr(plain.frame["lisa_p"].to_numpy(), 0.05)
    assert cutoff < 0.05
    assert (controlled.frame["lisa_p_cutoff"] == cutoff).all()
    expected = plain.frame["lisa_p"] <= cutoff
    assert ((controlled.frame["lisa_cluster"] != NOT_SIGNIFICANT) == expected).all()
    assert (controlled.frame["lisa_cluster"] != NOT_SIGNIFICANT).sum() <= (plain.frame["lisa_cluster"] != NOT_SIGNIFICANT).sum()
    assert "Benjamini–Hochberg FDR at 0.05 over 25 units" in controlled.summary()


def test_islands_linked_by_nearest_neighbours_are_kept_and_named():
    frame = lattice(VALUES)
    # Two islands off the top-right corner: the nearer lies 1 unit from cell 24 (centre 4.5, 4.5).
    islands = gpd.GeoDataFrame({"adcode": ["900001", "900002"], "name": ["近岛", "远岛"], "v": [3.0, 4.0]},
                               geometry=[box(6, 4, 7, 5), box(9, 4, 10, 5)], crs=frame.crs)
    both = gpd.GeoDataFrame(pd.concat([frame, islands], ignore_index=True), geometry="geometry", crs=frame.crs)
    result = local_moran(both, "v", seed=7, islands=("knn", 1))
    assert len(result.frame) == 27 and result.excluded == {}
    links = dict(zip(result.frame["name"], result.frame["lisa_links"]))
    assert links["近岛"] == "knn:1 → u24" and links["远岛"] == "knn:1 → 近岛"
    assert "Island 近岛 (900001) linked to its 1 nearest: u24" in result.summary()
    excluded = local_moran(both, "v", seed=7)
    assert set(excluded.excluded) == {"近岛 (900001)", "远岛 (900002)"}


def test_too_few_units_for_any_significance_is_refused_with_the_numbers():
    # 4 squares in a row: at most 2 neighbours, C(3, k) ≤ 3 neighbour sets, p ≥ 1/3 > 0.05.
    row = gpd.GeoDataFrame({"adcode": ["1", "2", "3", "4"], "name": list("abcd"), "v": [1.0, 2.0, 4.0, 3.0]},
                           geometry=[box(i, 0, i + 1, 1) for i in range(4)], crs="EPSG:3857")
    with pytest.raises(GisError, match=r"LISA on 4 units cannot find any significant unit at alpha 0.05: .* at least 0.333; .*needs at least 8 units"):
        local_moran(row, "v")
    with pytest.raises(GisError, match="at least 3 neighbouring units"):
        local_moran(row.iloc[:2], "v")
