"""LISA on a 5×5 lattice of squares with a known hot spot, against esda called directly."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
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
    result = local_moran(gpd.GeoDataFrame(np.concatenate([frame.values, island.values]), columns=frame.columns, geometry="geometry", crs=frame.crs).astype({"v": float}), "v", seed=7)
    assert result.excluded == {"u24 (000024)": "no value for v", "岛 (999999)": "no queen neighbour with a value (island)"}
    assert len(result.frame) == 24


def test_lisa_errors():
    with pytest.raises(GisError, match="no column 'x'"):
        local_moran(lattice(VALUES), "x")
    with pytest.raises(GisError, match="same value for every unit"):
        local_moran(lattice(np.ones(25)), "v")
