"""Assemble the tables that become GeoPackage layers and map inputs.

:func:`build_layers` joins a province's boundaries, planning groupings and indicator values
(shipped seed values plus any user tables) into one frame per layer ``source`` named in
``layers/*.toml``: ``province``, ``prefectures``, ``counties`` (GeoDataFrames, EPSG:4326),
``indicators`` (long form) and ``sources`` (where every column comes from). Degree of
Urbanisation results, when given, are merged onto counties and prefectures and add the
``degurba_grid`` layer, the ``degurba_rules`` table and, with census weights, the
``degurba_class_density`` table; national, 广东 and 海南 builds add the ``maritime_line``.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from gis.errors import GisError
from gis.maps.china import maritime_line_table, needs_standard
from gis.tables.indicators import LONG_COLUMNS, registry, to_wide
from gis.tables.join import cited_files
from gis.units.boundaries import Boundaries
from gis.units.planning import add_planning_attributes, grouping_sources

LEVEL_FRAMES = ("province", "prefectures", "counties")


def combine_indicators(*tables: pd.DataFrame) -> pd.DataFrame:
    """Concatenate long indicator tables; two values for one unit, year and indicator is an error.

    The error names both sources, so the user knows which of their rows collides with which.
    """
    frames = [t[LONG_COLUMNS] for t in tables if t is not None and not t.empty]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in LONG_COLUMNS})
    combined = pd.concat(frames, ignore_index=True)
    duplicated = combined[combined.duplicated(["adcode", "year", "indicator"], keep=False)]
    if not duplicated.empty:
        key = duplicated.iloc[0]
        clash = duplicated[
            (duplicated["adcode"] == key["adcode"])
            & (duplicated["year"] == key["year"])
            & (duplicated["indicator"] == key["indicator"])
        ]
        raise GisError(
            f"two values for {key['indicator']} {key['year']} of {key['adcode']} {key['name']}: "
            + " and ".join(f"{v:g} ({s})" for v, s in zip(clash["value"], clash["source"]))
        )
    return combined


def drop_overridden(shipped: pd.DataFrame, user: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Shipped values that a user's table also gives (same unit, year and indicator) give way
    to the user's; returns the shipped rows kept and one message per value replaced, naming
    both values and sources, so nothing is replaced unreported."""
    key = ["adcode", "year", "indicator"]
    if shipped.empty or user.empty:
        return shipped, []
    clash = shipped.merge(user[key + ["value", "source"]], on=key, how="inner", suffixes=("", "_user"))
    messages = [
        f"{row.name} ({row.adcode}) {row.indicator} {row.year}: your value {row.value_user:g} ({row.source_user}) "
        f"replaces the shipped {row.value:g} ({row.source})"
        for row in clash.itertuples()
    ]
    replaced = shipped.set_index(key).index.isin(clash.set_index(key).index)
    return shipped[~replaced], messages


def _with_wide_indicators(frame: gpd.GeoDataFrame, long: pd.DataFrame) -> gpd.GeoDataFrame:
    wide = to_wide(long, frame["adcode"])
    return frame.merge(wide, on="adcode", how="left")


def _source_rows(layer: str, long: pd.DataFrame, adcodes: pd.Series) -> list[dict]:
    rows = long[long["adcode"].isin(set(adcodes))]
    column = rows["indicator"] + "_" + rows["year"].astype(str)
    # A user's value cites "<file>, row N"; per column the file is the source (rows stay in
    # the indicators table).
    grouped = rows.assign(column=column, source=cited_files(rows["source"])).groupby("column")["source"].unique()
    return [
        {"layer": layer, "column": name, "source": "; ".join(sorted(sources))}
        for name, sources in grouped.items()
    ]


def _with_census_notes(frame: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """``census_note``: why a unit's census figures need a word (renamed since the census, or a
    development zone the tabulation lists apart); only when some unit of the frame has one."""
    from gis.tables.census import census_unit_notes

    notes = census_unit_notes()
    notes = notes[notes["level"] == level].groupby("adcode")["note"].agg("；".join)
    if not frame["adcode"].isin(notes.index).any():
        return frame
    return frame.assign(census_note=frame["adcode"].map(notes))


def build_layers(
    boundaries: Boundaries,
    indicators: pd.DataFrame,
    degurba=None,
) -> dict[str, pd.DataFrame]:
    """One table per layer source, ready to write or map.

    Parameters
    ----------
    boundaries
        From :func:`gis.units.boundaries.load_boundaries` (EPSG:4326).
    indicators
        Long-form indicator values (``gis.tables.indicators.LONG_COLUMNS``), e.g. from
        :func:`combine_indicators`.
    degurba
        Optional Degree of Urbanisation result with ``counties`` / ``prefectures`` frames
        keyed by ``adcode``, ``grid_polygons`` (EPSG:4326) and ``source`` (attribution).
    """
    boundaries = add_planning_attributes(boundaries)
    tables: dict[str, pd.DataFrame] = {
        "province": _with_wide_indicators(boundaries.province, indicators),
        "prefectures": _with_wide_indicators(boundaries.prefectures, indicators),
        "counties": _with_wide_indicators(boundaries.counties, indicators),
    }

    tables["prefectures"] = _with_census_notes(tables["prefectures"], "prefecture")
    tables["counties"] = _with_census_notes(tables["counties"], "county")

    sources = []
    for layer in LEVEL_FRAMES:
        sources.append({"layer": layer, "column": "geometry, area_km2", "source": boundaries.source})
        sources += _source_rows(layer, indicators, tables[layer]["adcode"])
        if "census_note" in tables[layer].columns:
            sources.append({"layer": layer, "column": "census_note", "source": "gis/data/census/unit_notes.csv"})
    for layer in LEVEL_FRAMES:
        sources += [{"layer": layer, **row} for row in grouping_sources(tables[layer].columns, boundaries.province["adcode"])]

    if degurba is not None:
        for layer in ("counties", "prefectures"):
            tables[layer] = tables[layer].merge(getattr(degurba, layer), on="adcode", how="left")
            sources.append({"layer": layer, "column": "degurba_*", "source": degurba.source})
        class_density = getattr(degurba, "class_density", None)
        if class_density is not None:
            tables["degurba_class_density"] = class_density
            sources.append({"layer": "degurba_class_density", "column": "all", "source": degurba.source})
        tables["degurba_grid"] = degurba.grid_polygons
        sources.append({"layer": "degurba_grid", "column": "all", "source": degurba.source})
        rules = getattr(degurba, "rules", None)
        if rules is not None:
            from gis.degurba.rules import rules_table

            tables["degurba_rules"] = rules_table(rules, stage_one_applies=degurba.stage_one_applies)
            sources.append({"layer": "degurba_rules", "column": "all", "source": (
                f"rules {rules.name}; manual_2021: Applying the Degree of Urbanisation, 2021 methodological manual"
            )})

    labels = registry()[["label_zh", "label_en"]]
    tables["indicators"] = (
        indicators.merge(labels, left_on="indicator", right_index=True, how="left")
        .sort_values(["adcode", "indicator", "year"])
        .reset_index(drop=True)[["adcode", "name", "year", "indicator", "label_zh", "label_en", "value", "unit", "source"]]
    )
    if needs_standard(boundaries.province["adcode"]):  # national, 广东, 海南: see gis/maps/china.py
        tables["maritime_line"] = maritime_line_table()
        sources.append({"layer": "maritime_line", "column": "all", "source": tables["maritime_line"]["source"].iloc[0]})
    tables["sources"] = pd.DataFrame(sources, columns=["layer", "column", "source"])
    return tables

