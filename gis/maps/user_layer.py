"""Maps of a user's own polygon layer (map specs with ``layer = "units"``).

:func:`user_map_layer` turns a file read by :func:`gis.units.user_units.read_user_units`
into what the page renderer draws: EPSG:4326 polygons with a ``name`` for labels (the
file's name column, :func:`gis.outputs.units_style.name_column`, when it has no ``name``),
every column of the file kept for views and popups. :func:`default_units_spec` is the
shipped ``gis/assets/maps/units_degurba.toml`` with the file's own columns in its popup.
"""

from __future__ import annotations

from dataclasses import replace

import geopandas as gpd
import pandas as pd

from gis.maps.spec import FieldLabel, MapSpec

#: At most this many of the file's own columns are put in the default popup.
POPUP_COLUMNS = 8


def user_map_layer(frame: gpd.GeoDataFrame, source: str) -> dict[str, pd.DataFrame]:
    """Layers for :func:`gis.maps.render_maps`: ``units`` (the file's polygons in EPSG:4326,
    ``name`` added from its name column if missing) and ``sources`` citing ``source`` (the
    file) for every column drawn."""
    from gis.outputs.units_style import name_column

    frame = frame.to_crs("EPSG:4326")
    if "name" not in frame.columns:
        label = name_column(frame)
        if label is not None:
            frame = frame.assign(name=frame[label].to_numpy())
    sources = pd.DataFrame([{"layer": "units", "column": "*", "source": source}])
    return {"units": frame, "sources": sources}


def default_units_spec(frame: gpd.GeoDataFrame) -> MapSpec:
    """The shipped units map, its popup opening with the file's own columns (up to
    :data:`POPUP_COLUMNS`, labelled by their names)."""
    from gis.maps.analysis import analysis_spec

    spec = analysis_spec("units_degurba")
    ours = set(spec.popup_fields) | {"name", frame.geometry.name}
    own = [c for c in frame.columns if c not in ours and not str(c).startswith(("degurba_", "pop_", "share_", "area_km2_"))][:POPUP_COLUMNS]
    fields = {**{c: FieldLabel(str(c), str(c)) for c in own}, **spec.fields}
    return replace(spec, popup_fields=tuple(own) + spec.popup_fields, fields=fields)
