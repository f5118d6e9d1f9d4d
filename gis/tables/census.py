"""2020 census resident population shipped with the package (``gis/data/census/``).

:func:`census_population` gives one row per unit and level, as the boundary index holds them
(``province`` / ``prefecture`` / ``county``; the key is ``(adcode, level)``, see the data's
README). Zones a source reports on their own (``population_2020_other.csv``: 西湖风景名胜区,
温州经济技术开发区) live inside one county's polygon; for the population *inside a polygon*
their figure is added to that county and the source says so, so that the counties of a
prefecture still add up to it.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from gis.tables.indicators import _data_file

#: Year of the shipped census figures (第七次全国人口普查, census date 2020-11-01).
CENSUS_YEAR = 2020
TOTAL_COLUMNS = ["adcode", "level", "name", "year", "value", "source"]


@lru_cache(maxsize=1)
def census_population() -> pd.DataFrame:
    """Resident population 2020 per unit (persons), with the zones inside a county added.

    Columns :data:`TOTAL_COLUMNS`: ``adcode`` (str), ``level`` (``province`` /
    ``prefecture`` / ``county``), ``name``, ``year`` (2020), ``value`` (float, persons),
    ``source`` (the publication; for a county holding a separately reported zone, also the
    zone, its figure and file).
    """
    with _data_file("census", "population_2020.csv").open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype={"adcode": str, "name": str, "level": str})
    with _data_file("census", "population_2020_other.csv").open(encoding="utf-8") as f:
        zones = pd.read_csv(f, dtype={"within_adcode": str, "prefecture_adcode": str})
    table = table[table["indicator"] == "resident_population"].copy()
    table["value"] = table["value"].astype("float64")
    for zone in zones.itertuples():
        at = (table["adcode"] == zone.within_adcode) & (table["level"] == "county")
        table.loc[at, "value"] += float(zone.value)
        table.loc[at, "source"] = (
            table.loc[at, "source"]
            + f"; plus {zone.name} {int(zone.value)} inside its polygon (population_2020_other.csv: {zone.source})"
        )
    table["year"] = table["year"].astype("int64")
    return table[TOTAL_COLUMNS].reset_index(drop=True)


#: Indicators the census county tabulations give for every unit they cover (see
#: ``gis/data/census/README.md``, "Census indicators").
def census_indicator_names() -> list[str]:
    """The indicators of :func:`census_indicators`, in the order of the data file."""
    return list(dict.fromkeys(_census_indicator_rows()["indicator"]))


@lru_cache(maxsize=1)
def _census_indicator_rows() -> pd.DataFrame:
    with _data_file("census", "indicators.csv").open(encoding="utf-8") as f:
        table = pd.read_csv(f, dtype={"adcode": str, "level": str, "name": str, "indicator": str, "cell": str})
    with _data_file("census", "sources.csv").open(encoding="utf-8") as f:
        sources = dict(pd.read_csv(f, dtype=str).itertuples(index=False, name=None))
    from gis.tables.indicators import registry

    units = registry()["unit"]
    table["value"] = table["value"].astype("float64")
    table["year"] = table["year"].astype("int64")
    table["unit"] = table["indicator"].map(units)
    # The cell names the transcription row(s) ("2020 行40; 2010 行39", "panel 行12"); the source
    # is the publication(s) those rows are from — one text per column, so maps cite it once.
    first = table["cell"].str[:4].map({"2020": "2020", "2010": "2010", "pane": "panel"})
    both = table["cell"].str.contains("; 2010", regex=False)
    table["source"] = first.map(sources).where(~both, sources["2020; 2010"])
    return table


def census_indicators(province: str = "all") -> pd.DataFrame:
    """Census indicators (long form, :data:`gis.tables.indicators.LONG_COLUMNS` plus ``level``
    and ``cell``) for the units of ``province`` (a 6-digit code) or of every province (``"all"``).

    Values are computed from the counts of the 2010 and 2020 county tabulations (formulas in
    the registry's ``note``); ``cell`` names the transcription row each comes from. Units the
    tabulations do not fit are absent (``gis/data/census/absent.csv`` says why).
    """
    table = _census_indicator_rows()
    if str(province) != "all":
        table = table[table["adcode"].str[:2] == str(province)[:2]]
    return table.reset_index(drop=True)


@lru_cache(maxsize=1)
def census_absent() -> pd.DataFrame:
    """Units (and years, indicators) the census indicators leave out, with the reason in
    planners' words (``gis/data/census/absent.csv``)."""
    with _data_file("census", "absent.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def census_unit_notes() -> pd.DataFrame:
    """Notes on units whose census figures need a word: renamed since the census, or counted
    without a development zone that the tabulation lists apart (``unit_notes.csv``)."""
    with _data_file("census", "unit_notes.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)
