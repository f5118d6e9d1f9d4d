"""flexurba's own grid tests on its Belgian extract, with its parameters translated to our rules.

flexurba (R package, github cvmigero/flexurba, MIT licence) checks ``DoU_classify_grid`` on a
GHSL extract of Belgium (``inst/extdata/belgium/``: POP.tif persons, BUILT_S.tif and LAND.tif
m² per cell; 219 × 303 cells of the GHSL 1 km grid, ESRI:54009; GHSL data, European
Commission JRC, CC BY 4.0) at 50 sampled cells per parameter set
(``tests/testthat/test-classify-grid.R``, 1-based row-major cell indices). Neither the data nor
the expectations are copied into this repository: both are read at test time from a flexurba
checkout named by ``GIS_FLEXURBA_DIR`` (default ``../shared/flexurba`` beside the repository),
and the expectations are parsed from the R file itself, so every ``DoU_classify_grid``
expectation there is a case here. Without the checkout the tests are skipped and say why.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from gis.degurba.classify import classify_grid
from gis.degurba.rules import flexurba_rules

REPO = Path(__file__).resolve().parents[2]


def flexurba_dir() -> Path:
    return Path(os.environ.get("GIS_FLEXURBA_DIR") or REPO.parent / "shared" / "flexurba")


def _missing_reason() -> str | None:
    root = flexurba_dir()
    needed = [root / "inst/extdata/belgium" / name for name in ("POP.tif", "BUILT_S.tif", "LAND.tif")]
    needed.append(root / "tests/testthat/test-classify-grid.R")
    missing = [str(path) for path in needed if not path.is_file()]
    if not missing:
        return None
    reason = (
        f"no flexurba checkout at {root} ({len(missing)} of inst/extdata/belgium/POP.tif, BUILT_S.tif, LAND.tif, "
        "tests/testthat/test-classify-grid.R missing): set GIS_FLEXURBA_DIR to a checkout of github "
        "cvmigero/flexurba, or place one at ../shared/flexurba beside the repository"
    )
    if os.environ.get("CI") == "true":
        # Said out loud in CI (the warnings summary; -ra lists the skips too): the data should
        # be placed in the shared folder.
        warnings.warn(f"flexurba Belgium tests skipped: {reason}", stacklevel=1)
    return reason


MISSING = _missing_reason()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


# --- reading flexurba's R test file ------------------------------------------------------------


def _closing(text: str, start: int) -> int:
    """Index of the parenthesis closing the one opened just before ``start``."""
    depth = 1
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise ValueError("unbalanced parentheses")


def _r_value(text: str):
    text = text.strip()
    if text in ("TRUE", "FALSE"):
        return text == "TRUE"
    if text.startswith(("'", '"')):
        return text[1:-1]
    if text.startswith("system.file("):
        return "<flexurba data>"
    number = float(text)
    return int(number) if number.is_integer() else number


def _r_vector(text: str) -> list:
    return [_r_value(item) for item in text.split(",") if item.strip()]


def _r_list(text: str) -> dict:
    items, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return {key.strip(): _r_value(value) for key, value in (item.split("=", 1) for item in items if item.strip())}


def parse_expectations(text: str) -> list[dict]:
    """Every ``expect_equal(terra::values(DoU_classify_grid(...))[randomi], c(...))`` (and the
    deprecated ``classify_grid``) of test-classify-grid.R: its parameters, level, class values,
    expected values and the sampled cells."""
    text = re.sub(r"#[^\n]*", "", text)
    randomi = [int(v) for v in _r_vector(re.search(r"randomi\s*<-\s*c\(([^)]*)\)", text).group(1))]
    cases = []
    for match in re.finditer(r"expect_equal\(\s*terra::values\(\s*((?:DoU_)?classify_grid)\(", text):
        call_end = _closing(text, match.end())
        call = text[match.end():call_end]
        rest = text[call_end:]
        expected = re.match(r"\s*\)\s*\)\s*\[randomi\]\s*,\s*c\(([^)]*)\)", rest)
        parameters = {}
        found = re.search(r"parameters\s*=\s*list\(", call)
        if found:
            parameters = _r_list(call[found.end():_closing(call, found.end())])
        values = re.search(r"values\s*=\s*c\(([^)]*)\)", call)
        level1 = not re.search(r"level1\s*=\s*FALSE", call)
        line = text[:match.start()].count("\n") + 1
        cases.append(
            {
                "name": f"line {line}: {match.group(1)}(level {1 if level1 else 2}"
                + (", " + ", ".join(f"{k}={v}" for k, v in parameters.items()) if parameters else "") + ")",
                "parameters": parameters,
                "level1": level1,
                "values": None if values is None else _r_vector(values.group(1)),
                "expected": _r_vector(expected.group(1)),
                "cells": randomi,
            }
        )
    return cases


def _cases() -> list[dict]:
    if MISSING is not None:
        return []
    return parse_expectations((flexurba_dir() / "tests/testthat/test-classify-grid.R").read_text(encoding="utf-8"))


CASES = _cases()


# --- the grid ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def belgium():
    import rasterio

    folder = flexurba_dir() / "inst/extdata/belgium"

    def read(name):
        with rasterio.open(folder / f"{name}.tif") as source:
            values = source.read(1, masked=True)
            cell_m2 = abs(source.transform.a * source.transform.e)
            return values.astype("float64").filled(np.nan), cell_m2

    population, _ = read("POP")
    built, cell_m2 = read("BUILT_S")
    land, _ = read("LAND")
    return population, land / cell_m2, built / cell_m2  # m² per cell -> shares, as flexurba


#: Our codes for flexurba's class values (Level 2 codes are GHS-SMOD's in both; Level 1 water is
#: flexurba's 4th value, our Level 2 code 10 and Level 1 code 1).
LEVEL1_ORDER = ("urban centre", "urban cluster", "rural", "water")
LEVEL2_CODES = (30, 23, 22, 21, 13, 12, 11, 10)


def observed(classes, case) -> list:
    """Our classes at the sampled cells in flexurba's values."""
    cells = np.asarray(case["cells"]) - 1  # 1-based, row-major
    level2 = classes.level2.ravel()[cells]
    if not case["level1"]:
        values = case["values"] or list(LEVEL2_CODES)
        lookup = dict(zip(LEVEL2_CODES, values))
        return [lookup.get(int(code), f"nodata({code})") for code in level2]
    values = case["values"] or [3, 2, 1, 0]
    level1 = classes.level1.ravel()[cells]
    out = []
    for l1, l2 in zip(level1, level2):
        if l2 == 10:
            out.append(values[3])
        else:
            out.append({3: values[0], 2: values[1], 1: values[2]}.get(int(l1), f"nodata({l1})"))
    return out


def test_the_r_file_has_the_expectations_we_port():
    # 3 Level 2 sets, 5 Level 1 sets and the deprecated classify_grid, 2 of "the different
    # parameters": if flexurba adds or removes one, this count says so.
    assert len(CASES) == 11
    assert all(len(case["expected"]) == len(case["cells"]) == 50 for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_flexurba_expectation(belgium, case):
    population, land, built = belgium
    rules = flexurba_rules(case["parameters"], level1=case["level1"])
    classes = classify_grid(population, land_share=land, built_share=built, rules=rules)
    got = observed(classes, case)
    wrong = [
        f"cell {cell}: flexurba {want}, ours {have}"
        for cell, want, have in zip(case["cells"], case["expected"], got) if want != have
    ]
    assert not wrong, f"{len(wrong)} of 50 cells differ ({rules.describe()}): " + "; ".join(wrong)


def test_water_cell_count_of_flexurba(belgium):
    # DoU_classify_grid_water(water_land_threshold = 0.6, water_pop_threshold = 1,
    # water_built_threshold = 0.2): flexurba counts 63 734 cells that are not water.
    text = (flexurba_dir() / "tests/testthat/test-classify-grid.R").read_text(encoding="utf-8")
    found = re.search(
        r"DoU_classify_grid_water\(\s*data = system\.file\([^)]*\),\s*water_land_threshold = ([\d.]+),\s*water_pop_threshold = ([\d.]+),"
        r"\s*water_built_threshold = ([\d.]+),\s*value\s*=\s*1\s*\)\)\s*%>%\s*is.na\(\)\s*%>%\s*sum,\s*(\d+)\)",
        text,
    )
    land_below, population_at_most, built_at_most, not_water = (float(v) for v in found.groups())
    from gis.degurba.classify import water_cells
    from gis.degurba.rules import WaterRules

    population, land, built = belgium
    rules = WaterRules(land_share_below=land_below, population_at_most=population_at_most,
                       built_share_at_most=built_at_most, nodata_population="water")
    water = water_cells(population, land, built, np.isfinite(population), rules)
    assert int((~water).sum()) == int(not_water)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_chunked_engine_gives_the_same_belgian_grid(belgium, case):
    from gis.degurba.chunked import classify_grid_chunked

    population, land, built = belgium
    rules = flexurba_rules(case["parameters"], level1=case["level1"])
    expected = classify_grid(population, land_share=land, built_share=built, rules=rules)
    with classify_grid_chunked(population, land_share=land, built_share=built, rules=rules, chunks=(64, 80)) as chunked:
        np.testing.assert_array_equal(chunked.level2.compute(), expected.level2)
        np.testing.assert_array_equal(chunked.level1.compute(), expected.level1)


def parse_error_expectations(text: str) -> list[dict]:
    """Every ``expect_error(DoU_classify_grid(...))`` with a ``parameters = list(...)``."""
    text = re.sub(r"#[^\n]*", "", text)
    cases = []
    for match in re.finditer(r"expect_error\(\s*DoU_classify_grid\(", text):
        call = text[match.end():_closing(text, match.end())]
        found = re.search(r"\bparameters\s*=\s*list\(", call)
        if found:
            body = call[found.end():_closing(call, found.end())]
            cases.append({"parameters": _r_list(body.replace("NULL", "'NULL'")),
                          "level1": not re.search(r"level1\s*=\s*FALSE", call)})
    return cases


def test_parameters_flexurba_refuses_are_refused_here():
    # flexurba's other expect_error calls misspell the argument ("paramters") or pass values = 5:
    # R refuses the call itself, there is nothing to translate. UC_built_threshold = "optimal"
    # with built_optimal_data = NULL is refused by flexurba for want of data; ours computes the
    # optimal share from the grid's own built-up raster (README), so it is accepted.
    from gis.errors import GisError

    text = (flexurba_dir() / "tests/testthat/test-classify-grid.R").read_text(encoding="utf-8")
    cases = parse_error_expectations(text)
    refused = [case for case in cases if case["parameters"].get("built_optimal_data") != "NULL"]
    assert len(cases) == 7 and len(refused) == 6
    for case in refused:
        with pytest.raises(GisError) as error:
            flexurba_rules(case["parameters"], level1=case["level1"])
        assert "\n" not in str(error.value)
    optimal = [case for case in cases if case not in refused][0]
    assert flexurba_rules(optimal["parameters"], level1=optimal["level1"]).urban_centre.built_share == "optimal"
