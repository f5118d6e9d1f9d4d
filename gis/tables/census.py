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
