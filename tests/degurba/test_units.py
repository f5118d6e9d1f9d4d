"""Stage II (gis.degurba.zonal): units classified from a class grid with exact coverage fractions."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from gis.degurba.grid import GHSL_CRS, GhslWindow
from gis.degurba.zonal import class_totals, classify_units, degurba_units

WINDOW = GhslWindow(row_off=5600, col_off=29700, height=2, width=3)
LEFT, BOTTOM, RIGHT, TOP = WINDOW.bounds
CODES = np.array([[30, 23, 12], [11, 10, 255]], dtype=np.uint8)
POPULATION = np.array([[1000.0, 400.0, 80.0], [20.0, 0.0, np.nan]])


def cell_box(row, col, x_from=0.0, x_to=1.0, y_from=0.0, y_to=1.0):
    """Part of a cell as a box in ESRI:54009 (fractions of the cell from its lower-left)."""
    x0 = LEFT + col * 1000
    y0 = TOP - (row + 1) * 1000
    return shapely.box(x0 + 1000 * x_from, y0 + 1000 * y_from, x0 + 1000 * x_to, y0 + 1000 * y_to)


def units_54009(*geometries):
    return gpd.GeoDataFrame({"adcode": [f"u{i}" for i in range(len(geometries))]}, geometry=list(geometries), crs=GHSL_CRS)


def test_half_a_cell_counts_half_its_population():
    units = units_54009(
        cell_box(0, 0, x_to=0.5),  # left half of the urban-centre cell
        shapely.union(cell_box(0, 1, y_to=0.25), cell_box(0, 2)),  # quarter of 23, all of 12
        cell_box(1, 2),  # the nodata cell
    )
    totals = class_totals(units, CODES, WINDOW, POPULATION)
    assert totals.loc[0, "pop_urban_centre"] == pytest.approx(500.0, rel=1e-12)
    assert totals.loc[0].drop(["pop_urban_centre", "nodata_km2"]).sum() == 0
    assert totals.loc[1, "pop_dense_urban_cluster"] == pytest.approx(100.0, rel=1e-12)
    assert totals.loc[1, "pop_low_density_rural"] == pytest.approx(80.0, rel=1e-12)
    assert totals.loc[2, "nodata_km2"] == pytest.approx(1.0)
    # Area weights: km² of each class.
    areas = class_totals(units, CODES, WINDOW)
    assert areas.loc[0, "area_km2_urban_centre"] == pytest.approx(0.5, rel=1e-12)
    assert areas.loc[1, "area_km2_dense_urban_cluster"] == pytest.approx(0.25, rel=1e-12)


def test_units_in_wgs84_are_reprojected_before_the_overlay():
    # The same half cell drawn in EPSG:4326 (densified so its edges stay straight in Mollweide).
    half = shapely.segmentize(cell_box(0, 0, x_to=0.5), 10.0)
    to_wgs84 = Transformer.from_crs(GHSL_CRS, "EPSG:4326", always_xy=True)
    geographic = shapely.transform(half, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    units = gpd.GeoDataFrame({"adcode": ["330102"]}, geometry=[geographic], crs="EPSG:4326")
    result = degurba_units(units, CODES, WINDOW, POPULATION)
    assert result.loc[0, "adcode"] == "330102"
    assert result.loc[0, "pop_urban_centre"] == pytest.approx(500.0, rel=1e-4)
    assert (result.loc[0, "degurba_l1"], result.loc[0, "degurba_l2"]) == (3, 30)


def frame_of(**columns):
    base = {f"pop_{name}": 0.0 for name in (
        "urban_centre", "dense_urban_cluster", "semi_dense_urban_cluster", "suburban",
        "rural_cluster", "low_density_rural", "very_low_density_rural", "water")}
    rows = pd.DataFrame([base] * len(next(iter(columns.values()))))
    for name, values in columns.items():
        rows[f"pop_{name}"] = values
    rows["nodata_km2"] = 0.0
    return classify_units(rows)


def test_city_at_exactly_half_in_urban_centres():
    result = frame_of(urban_centre=[500.0, 499.0], very_low_density_rural=[500.0, 501.0])
    assert result["degurba_l1"].tolist() == [3, 1]
    assert result["degurba_l2"].tolist() == [30, 11]
    assert result.loc[0, "share_urban_centre"] == 0.5


def test_towns_take_the_largest_urban_cluster_class_ties_to_the_denser():
    result = frame_of(
        urban_centre=[300.0, 0.0, 0.0, 0.0],
        dense_urban_cluster=[100.0, 0.0, 200.0, 0.0],
        semi_dense_urban_cluster=[0.0, 300.0, 0.0, 0.0],
        suburban=[250.0, 300.0, 200.0, 600.0],
        low_density_rural=[349.0, 400.0, 599.0, 400.0],
    )
    assert result["degurba_l1"].tolist() == [2, 2, 1, 2]
    # 1: 22 and 21 tie at 300 -> 22 (denser); 3: 21 clearly largest
    assert result["degurba_l2"].tolist() == [21, 22, 12, 21]


def test_rural_units_take_the_largest_rural_class_ties_to_the_denser():
    result = frame_of(
        rural_cluster=[300.0, 100.0, 0.0],
        low_density_rural=[300.0, 500.0, 0.0],
        very_low_density_rural=[0.0, 100.0, 50.0],
    )
    assert result["degurba_l1"].tolist() == [1, 1, 1]
    assert result["degurba_l2"].tolist() == [13, 12, 11]


def test_unit_without_population_is_mostly_uninhabited_and_water_is_left_out():
    result = frame_of(water=[0.0, 0.0], urban_centre=[0.0, 10.0])
    assert (result.loc[0, "degurba_l1"], result.loc[0, "degurba_l2"]) == (1, 11)
    assert np.isnan(result.loc[0, "share_urban_centre"])
    # Area weights: a unit that is mostly lake but whose land is urban centre is a city.
    areas = pd.DataFrame([{
        "area_km2_urban_centre": 6.0, "area_km2_dense_urban_cluster": 0.0,
        "area_km2_semi_dense_urban_cluster": 0.0, "area_km2_suburban": 0.0,
        "area_km2_rural_cluster": 0.0, "area_km2_low_density_rural": 0.0,
        "area_km2_very_low_density_rural": 4.0, "area_km2_water": 50.0, "nodata_km2": 0.0,
    }])
    classified = classify_units(areas)
    assert classified.loc[0, "degurba_weights"] == "area"
    assert classified.loc[0, "share_urban_centre"] == pytest.approx(0.6)
    assert (classified.loc[0, "degurba_l1"], classified.loc[0, "degurba_l2"]) == (3, 30)
    assert result.loc[0, "degurba_weights"] == "population"


def test_degurba_units_on_a_grid_end_to_end():
    units = units_54009(
        shapely.union(cell_box(0, 0), cell_box(1, 0)),  # 1000 in UC, 20 very low -> city
        shapely.union(cell_box(0, 1), cell_box(0, 2)),  # 400 DUC, 80 low rural -> dense town
        cell_box(1, 1),  # water only -> nobody
    )
    result = degurba_units(units, CODES, WINDOW, POPULATION)
    assert result["adcode"].tolist() == ["u0", "u1", "u2"]
    assert result["degurba_l2"].tolist() == [30, 23, 11]
    assert result["degurba_l1"].tolist() == [3, 2, 1]
    assert result["degurba_l2_name"].tolist() == ["city", "dense town", "mostly uninhabited area"]
    assert result.loc[1, "pop_total"] == pytest.approx(480.0)


# --- flexurba's unit options (DoU_classify_units) -----------------------------------------------


def _rules(**units):
    from dataclasses import replace

    from gis.degurba.rules import Rules

    return replace(Rules(), units=replace(Rules().units, **units))


def test_cell_centres_count_a_cell_wholly_for_the_unit_holding_its_centre():
    units = units_54009(
        shapely.union(cell_box(0, 0, x_to=0.6), cell_box(0, 1, x_to=0.4)),  # holds the centre of (0, 0) only
        shapely.union(cell_box(0, 0, x_from=0.6), cell_box(0, 1, x_from=0.4)),  # centres of (0, 1)
        cell_box(0, 2, x_to=0.3, y_to=0.3),  # no centre: takes the cell it touches
    )
    coverage = class_totals(units, CODES, WINDOW, POPULATION)
    centres = class_totals(units, CODES, WINDOW, POPULATION, cell_weights="cell_centres")
    assert coverage.loc[0, "pop_urban_centre"] == pytest.approx(600.0) and coverage.loc[0, "pop_dense_urban_cluster"] == pytest.approx(160.0)
    assert centres.loc[0, "pop_urban_centre"] == 1000.0 and centres.loc[0, "pop_dense_urban_cluster"] == 0.0
    assert centres.loc[1, "pop_urban_centre"] == 0.0 and centres.loc[1, "pop_dense_urban_cluster"] == 400.0
    assert centres.loc[2, "pop_low_density_rural"] == 80.0
    frame = degurba_units(units, CODES, WINDOW, POPULATION, rules=_rules(cell_weights="cell_centres"))
    assert frame["degurba_l2"].tolist() == [30, 23, 12]


def test_unit_without_population_by_land_area():
    units = units_54009(shapely.union(cell_box(0, 2), cell_box(1, 1)))  # low density (80) and water
    empty = np.where(np.isfinite(POPULATION), 0.0, np.nan)
    assert degurba_units(units, CODES, WINDOW, empty)["degurba_l2"].item() == 11  # ours: nobody -> 11
    frame = degurba_units(units, CODES, WINDOW, empty, rules=_rules(no_population="land_area"))
    assert frame["degurba_l2"].item() == 12 and bool(frame["degurba_by_area"].item())  # 1 km² low density (water left out)
    assert "area_km2_urban_centre" not in frame.columns


@pytest.mark.parametrize(
    "shares, largest, combined, pairwise",
    [
        # towns: dense 30, semi-dense 10, suburban 35 (+ 25 rural)
        (dict(dense_urban_cluster=30, semi_dense_urban_cluster=10, suburban=35, low_density_rural=25), 21, 22, 23),
        # UC 20 + dense 31 >= 50 %: dense town for combined shares; largest: suburban 40
        (dict(urban_centre=20, dense_urban_cluster=31, suburban=40, very_low_density_rural=9), 21, 23, 21),
        # rural: rural cluster 30, low 35, very low 35 (tie -> denser): ours 12; combined: village? 30 < 50 -> dispersed
        (dict(rural_cluster=30, low_density_rural=35, very_low_density_rural=35), 12, 12, 12),
        # rural: very low 55 -> mostly uninhabited for all
        (dict(rural_cluster=20, low_density_rural=25, very_low_density_rural=55), 11, 11, 11),
        # rural: clusters 45 + towns 10 -> village for combined shares; largest: 45 and 45, tied -> the denser (13)
        (dict(rural_cluster=45, suburban=10, very_low_density_rural=45), 13, 13, 13),
    ],
)
def test_level2_unit_rules_of_flexurba(shares, largest, combined, pairwise):
    row = {f"pop_{name}": 0.0 for name in ("urban_centre", "dense_urban_cluster", "semi_dense_urban_cluster", "suburban",
                                            "rural_cluster", "low_density_rural", "very_low_density_rural", "water")}
    row.update({f"pop_{name}": float(value) for name, value in shares.items()})
    totals = pd.DataFrame([row])
    got = [classify_units(totals, _rules(level2=rule))["degurba_l2"].item() for rule in ("largest_share", "combined_shares", "pairwise")]
    assert got == [largest, combined, pairwise]


def test_dissolve_units_by_an_attribute():
    from gis.degurba.zonal import dissolve_units
    from gis.errors import GisError

    units = units_54009(cell_box(0, 0), cell_box(0, 1), cell_box(0, 2))
    units["district"] = ["a", "a", "b"]
    merged = dissolve_units(units, "district")
    assert merged["district"].tolist() == ["a", "b"]
    totals = class_totals(merged, CODES, WINDOW, POPULATION)
    assert totals.loc[0, "pop_urban_centre"] == pytest.approx(1000.0) and totals.loc[0, "pop_dense_urban_cluster"] == pytest.approx(400.0)
    with pytest.raises(GisError, match="--dissolve-by county: no such column"):
        dissolve_units(units, "county")
