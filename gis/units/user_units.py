"""Reading users' own polygon files (townships, planning zones, …): one reader for every command.

:func:`read_user_units` opens a GeoPackage, GeoJSON, Shapefile (or anything GDAL reads) and
checks it before any slow work:

- **Layers.** ``layer`` picks one; a file with several spatial layers and no ``layer`` is an
  error listing them (GDAL would silently give the first). The layer used is said.
- **Text encoding.** A Shapefile without a ``.cpg`` beside it does not say how its ``.dbf``
  text is encoded; GDAL then assumes ISO-8859-1 and GBK names (what Chinese Windows software
  writes) come back as mojibake (``ÉÏ³ÇÇø`` for 上城区). The ``.dbf`` bytes are tested as the
  CSV reader tests a table (:func:`gis.tables.read.detect_encoding`: UTF-8, GBK, GB18030) and
  the encoding found is said; bytes none of them decode are read with GDAL's default, said too.
- **Geometries.** Null or empty geometries are reported by feature number (1-based, in file
  order); the rest is used only with ``skip_invalid`` (``--skip-invalid``), never silently.
  Other geometry types than polygons, and a layer without CRS, are errors.

All attribute columns are kept in their order and types; :func:`attach_columns` puts ours
after them, renaming ours (``<name>_gis``) where a name is already the user's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis.errors import GisError

#: Suffix of one of our columns whose name the user's file already uses.
CLASH_SUFFIX = "_gis"
_POLYGONS = ("Polygon", "MultiPolygon")


def _quiet(message: str) -> None:
    pass


def spatial_layers(path: Path) -> list[str]:
    """Names of the layers of ``path`` that have geometries (attribute tables, such as a
    GeoPackage's ``layer_styles``, are left out)."""
    import pyogrio

    try:
        listed = pyogrio.list_layers(path)
    except Exception as error:  # pyogrio raises several types for unreadable files
        raise GisError(f"{path}: cannot read as a vector file ({error}); expected GeoPackage, GeoJSON or Shapefile polygons") from None
    return [str(name) for name, geometry in listed if geometry is not None]


def choose_layer(path: Path, layer: str | None, option: str = "--layer") -> str | None:
    """The layer of ``path`` to read: ``layer`` if it exists, the only spatial one, or an error
    naming them all when there are several and none was chosen."""
    names = spatial_layers(path)
    if layer is not None:
        if layer not in names:
            raise GisError(f"{path}: no layer {layer!r} ({option}); its layers: {', '.join(names) or 'none with geometries'}")
        return layer
    if not names:
        raise GisError(f"{path}: no layer with geometries; expected polygons")
    if len(names) > 1:
        raise GisError(f"{path}: {len(names)} layers ({', '.join(names)}); choose one with {option} NAME")
    return names[0]


def shapefile_encoding(path: Path) -> tuple[str | None, str]:
    """How to decode the ``.dbf`` text of the Shapefile ``path``: ``(encoding or None, note)``.

    A ``.cpg`` beside it decides (GDAL reads it; ``None``, no note). Otherwise the record bytes
    are tested: pure ASCII needs nothing; else UTF-8, GBK, GB18030 as CSV tables are
    (:func:`gis.tables.read.detect_encoding`); bytes none of these decode are left to GDAL's
    default (the ``.dbf`` language id, else ISO-8859-1), and the note says so.
    """
    from gis.tables.read import detect_encoding

    if not path.suffix.lower() == ".shp":
        return None, ""
    siblings = {p.suffix.lower(): p for p in path.parent.glob(path.stem + ".*") if p.stem == path.stem}
    if ".cpg" in siblings or ".dbf" not in siblings:
        return None, ""
    raw = siblings[".dbf"].read_bytes()
    if len(raw) < 32:
        return None, ""
    header_length = int.from_bytes(raw[8:10], "little")
    records = raw[header_length:]
    if records.isascii():
        return None, ""
    try:
        encoding = detect_encoding(records.rstrip(b"\x1a"))
    except ValueError:
        return (
            None,
            f"{path.name}: no .cpg file and its text is not UTF-8, GBK or GB18030; "
            "read with GDAL's default (ISO-8859-1 unless the .dbf names one): check the names",
        )
    encoding = "utf-8" if encoding == "utf-8-sig" else encoding
    return encoding, f"{path.name}: no .cpg file; text read as {encoding.upper()} (detected; add a .cpg holding {encoding.upper()} to say so)"


def _feature_list(rows: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(r) + 1) for r in rows[:limit])
    return shown + (f", … ({len(rows)} in all)" if len(rows) > limit else "")


def read_user_units(
    path: str | Path,
    layer: str | None = None,
    skip_invalid: bool = False,
    option: str = "--units",
    on_note: Callable[[str], None] = _quiet,
) -> gpd.GeoDataFrame:
    """A user's polygons from ``path`` (any CRS), every attribute column kept.

    Parameters
    ----------
    path
        GeoPackage, GeoJSON, Shapefile or any polygon file GDAL reads.
    layer
        Layer to read; required when the file has several spatial layers.
    skip_invalid
        Leave out features with a null or empty geometry (reported by ``on_note``) instead of
        refusing the file.
    option
        The command-line option that named the file, used in messages.
    on_note
        Called with one line for each thing the user should know (layer used, encoding
        detected, features left out).

    Returns
    -------
    GeoDataFrame
        The features in file order, index reset when some were left out. Raises
        :class:`GisError` naming the file, layer or feature for anything unusable.
    """
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise GisError(f"{option} {path}: no such file; expected a polygon file (GeoPackage, GeoJSON, Shapefile)")
    chosen = choose_layer(path, layer)
    names = spatial_layers(path)
    if len(names) > 1:
        on_note(f"{path.name}: layer {chosen} (of {', '.join(names)})")
    encoding, note = shapefile_encoding(path)
    if note:
        on_note(note)
    try:
        frame = pyogrio.read_dataframe(path, layer=chosen, encoding=encoding)
    except Exception as error:
        raise GisError(f"{path}: cannot read layer {chosen} ({error}); expected polygons") from None
    if frame.crs is None:
        raise GisError(f"{path}: the layer has no CRS; expected polygons with a declared CRS (e.g. EPSG:4326)")
    geometries = frame.geometry.to_numpy()
    import shapely

    unusable = shapely.is_missing(geometries) | shapely.is_empty(geometries)
    if unusable.any():
        rows = np.flatnonzero(unusable)
        what = f"{path}: {len(rows)} of {len(frame)} features have a null or empty geometry (feature {_feature_list(rows)})"
        if not skip_invalid:
            raise GisError(f"{what}; mend them, or give --skip-invalid to go on without them")
        on_note(f"{what}: left out (--skip-invalid)")
        frame = frame[~unusable].reset_index(drop=True)
        if frame.empty:
            raise GisError(f"{path}: no feature with a geometry left; expected polygons")
    types = frame.geom_type
    other = ~types.isin(_POLYGONS)
    if other.any():
        rows = np.flatnonzero(other.to_numpy())
        raise GisError(f"{path}: expected polygons, found {sorted(set(types[other]))} (feature {_feature_list(rows)})")
    return frame


def attach_columns(user: pd.DataFrame, ours: pd.DataFrame, on_note: Callable[[str], None] = _quiet,
                   where: str = "--units") -> pd.DataFrame:
    """The user's attribute columns (all, in order and types; geometry left out), then ``ours``.

    One of our columns whose name the user's frame already has (case-insensitively, as
    GeoPackage and Shapefile compare names) becomes ``<name>_gis`` (then ``_gis2`` …), said in
    one note; rows must be in the same order.
    """
    geometry = user.geometry.name if isinstance(user, gpd.GeoDataFrame) else None
    kept = pd.DataFrame(user.drop(columns=[geometry]) if geometry else user).reset_index(drop=True)
    taken = {c.lower() for c in user.columns}
    renames = {}
    for column in ours.columns:
        if column.lower() not in taken:
            taken.add(column.lower())
            continue
        new, n = f"{column}{CLASH_SUFFIX}", 2
        while new.lower() in taken:
            new, n = f"{column}{CLASH_SUFFIX}{n}", n + 1
        taken.add(new.lower())
        renames[column] = new
    if renames:
        on_note(f"{where}: your column(s) {', '.join(renames)} kept as they are; ours renamed "
                + ", ".join(f"{a} -> {b}" for a, b in renames.items()))
    return pd.concat([kept, ours.rename(columns=renames).reset_index(drop=True)], axis=1)
