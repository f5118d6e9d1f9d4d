"""Specs and outputs that collide, round 3 (issue 23, cases 7, 8 and 14): a map spec named like
the index page, a build whose --population is one of its own outputs, layer names GeoPackage or
SQLite reserve or that differ only in case."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from gis.cli import main
from gis.errors import GisError
from gis.maps.spec import load_spec
from gis.outputs.layer_specs import load_layer_specs
from gis.specs import specs_dir


def _cli(*args: str):
    return CliRunner().invoke(main, list(args))


# Case 7: index.toml would be overwritten by the index page; reserved in any case.

@pytest.mark.parametrize("stem", ["index", "Index", "INDEX"])
def test_a_map_spec_named_like_the_index_page_is_refused(tmp_path, stem):
    spec = tmp_path / f"{stem}.toml"
    shutil.copy(specs_dir("maps") / "county_degurba.toml", spec)
    with pytest.raises(GisError, match=rf"{stem}.toml: the name '{stem}' is reserved \({stem}.html is the page listing the maps\)"):
        load_spec(spec)
    maps_dir = tmp_path / "maps"
    maps_dir.mkdir()
    shutil.copy(spec, maps_dir / spec.name)
    result = _cli("build", "--out", str(tmp_path / "out"), "--maps-dir", str(maps_dir), "--no-degurba")
    assert result.exit_code == 2
    assert "is reserved" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out" / "zhejiang.gpkg").exists()  # refused before any work


# Case 8: an input inside --out is never written over and never removed as stale.

def test_a_builds_own_output_given_as_input_is_refused_and_kept(tmp_path, built_zhejiang):
    source, _ = built_zhejiang
    out = tmp_path / "out"
    out.mkdir()
    estimate = out / "zhejiang_population_estimate.tif"
    shutil.copy(source / "zhejiang_population_estimate.tif", estimate)
    before = estimate.read_bytes()
    result = _cli("build", "--population", str(estimate), "--out", str(out), "--overwrite")
    assert result.exit_code == 2, result.output
    assert f"--population {estimate} is also a file this run would remove" in result.output
    assert estimate.read_bytes() == before
    # The same file under another name (a hard link) is the same input.
    link = tmp_path / "linked.tif"
    os.link(estimate, link)
    result = _cli("build", "--population", str(link), "--out", str(out), "--overwrite")
    assert result.exit_code == 2 and "is also a file this run would remove" in result.output
    assert estimate.exists()


def test_a_table_given_as_a_page_of_gis_map_is_refused(tmp_path):
    out = tmp_path / "maps"
    out.mkdir()
    table = out / "county_degurba.html"  # a (badly named) table where the page would go
    table.write_text("地区,year,urban_income\n淳安,2020,40000\n", encoding="utf-8")
    result = _cli("map", str(specs_dir("maps") / "county_degurba.toml"), "--data", str(table), "--out", str(out), "--overwrite")
    assert result.exit_code == 2
    assert "--data" in result.output and "is also a file this run would write" in result.output
    assert table.read_text(encoding="utf-8").startswith("地区")


# Case 14: layer names are GeoPackage table names.

def _layers_with(tmp_path: Path, name: str, file: str = "zz_extra.toml") -> Path:
    folder = tmp_path / "layers"
    shutil.copytree(specs_dir("layers"), folder, ignore=shutil.ignore_patterns("*.md"))
    text = (folder / "counties.toml").read_text(encoding="utf-8")
    (folder / file).write_text(text.replace('name = "counties"', f"name = {name!r}".replace("'", '"'), 1), encoding="utf-8")
    return folder


@pytest.mark.parametrize("name, expected", [
    ("COUNTIES", r"layer name 'COUNTIES' is also used by .*counties.toml \('counties': GeoPackage layer names are case-insensitive\)"),
    ("layer_styles", r"'layer_styles' is reserved by GeoPackage/SQLite"),
    ("gpkg_contents", r"'gpkg_contents' is reserved by GeoPackage/SQLite"),
    ("GPKG_extensions", r"'GPKG_extensions' is reserved by GeoPackage/SQLite"),
    ("sqlite_sequence", r"'sqlite_sequence' is reserved by GeoPackage/SQLite"),
    ("rtree_counties_geom", r"'rtree_counties_geom' is reserved by GeoPackage/SQLite"),
    ("", r"the layer name is empty"),
    ("  ", r"the layer name is empty"),
])
def test_reserved_and_case_duplicate_layer_names_are_refused(tmp_path, name, expected):
    folder = _layers_with(tmp_path, name)
    with pytest.raises(GisError, match=expected):
        load_layer_specs(folder)


def test_a_bad_layer_name_stops_the_build_in_one_line(tmp_path):
    folder = _layers_with(tmp_path, "Counties")
    result = _cli("build", "--out", str(tmp_path / "out"), "--layers-dir", str(folder), "--no-degurba")
    assert result.exit_code == 2
    assert "GeoPackage layer names are case-insensitive" in result.output
    assert "Traceback" not in result.output
