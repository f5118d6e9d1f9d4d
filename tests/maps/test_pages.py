"""Pages of a run with several provinces drawn by worker processes (gis/maps/pages.py), and
each province's layers cut from the national ones.

Three small provinces together (上海, 天津, 澳门; real boundaries, synthetic DEGURBA classes,
see tests/support/maps_china.py) make four groups of pages (each province's county pages, the
prefecture pages), enough for the workers.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from gis.errors import GisError
from gis.maps import _province_layers, default_spec_paths, pages, render_maps
from support.maps import synthetic_grid
from support.maps_china import china_layers

CODES = ("310000", "120000", "820000")


@pytest.fixture(scope="module")
def layers():
    return china_layers(codes=CODES)


def _render(layers, out: Path, workers: int, **options):
    notes = []
    written = render_maps(default_spec_paths(), layers, out, workers=workers, place=("全国", "China"),
                          on_note=lambda path, message: notes.append((path.name, message)), **options)
    return written, notes


def test_workers_write_the_same_pages_and_notes_in_the_same_order(layers, tmp_path, monkeypatch):
    drawn_by = tmp_path / "pids"
    draw_page = pages.draw_page

    def draw_and_say_where(*args):
        with open(drawn_by, "a") as record:
            record.write(f"{os.getpid()}\n")
        return draw_page(*args)

    monkeypatch.setattr(pages, "draw_page", draw_and_say_where)
    serial, serial_notes = _render(layers, tmp_path / "serial", workers=1)
    assert set(drawn_by.read_text().split()) == {str(os.getpid())}
    drawn_by.unlink()
    parallel, parallel_notes = _render(layers, tmp_path / "parallel", workers=2)
    again, again_notes = _render(layers, tmp_path / "again", workers=2)  # a second pool, same process
    workers = set(drawn_by.read_text().split()) - {str(os.getpid())}
    assert len(workers) >= 2 and str(os.getpid()) not in drawn_by.read_text().split()

    names = [path.name for path in serial]
    assert "county_degurba_shanghai.html" in names and names[-1] == "index.html"
    assert [path.name for path in parallel] == names == [path.name for path in again]
    assert parallel_notes == serial_notes == again_notes
    assert any("map skipped" in message for _, message in serial_notes)  # skipped in a worker, said once
    for path in serial:
        assert (tmp_path / "parallel" / path.name).read_bytes() == path.read_bytes(), path.name
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name
    assert not [p for p in (tmp_path / "parallel").iterdir() if "partial" in p.name]


def test_an_error_in_a_worker_is_the_same_one_line_error(layers, tmp_path, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    errors = []
    for workers in (1, 2):
        with pytest.raises(GisError) as raised:
            _render(layers, tmp_path / str(workers), workers=workers, basemap="tianditu")
        errors.append(raised.value)
        assert not [p for p in (tmp_path / str(workers)).glob("*") if "partial" in p.name]
    assert type(errors[0]) is type(errors[1]) is GisError
    assert str(errors[0]) == str(errors[1]) and "TIANDITU_KEY" in str(errors[1]) and "\n" not in str(errors[1])


def test_each_province_gets_the_grid_cells_cx_would_select(layers):
    west, south, east, north = layers["province"].total_bounds
    grid = synthetic_grid((west - 0.5, south - 0.5, east + 0.5, north + 0.5), cell=0.25)
    grid = gpd.GeoDataFrame(
        pd.concat([grid, gpd.GeoDataFrame({"degurba_l2": [30, 30]}, geometry=[None, shapely.Polygon()], crs=grid.crs)],
                  ignore_index=True),
        crs=grid.crs,
    )
    parts = _province_layers({**layers, "degurba_grid": grid})
    assert [code for code, *_ in parts] == list(layers["province"]["adcode"])
    for code, _name, name_en, _slug, part in parts:
        province = layers["province"][layers["province"]["adcode"] == code]
        p_west, p_south, p_east, p_north = province.total_bounds
        expected = grid.cx[p_west:p_east, p_south:p_north]
        assert len(expected) and part["degurba_grid"].index.tolist() == expected.index.tolist(), name_en
        assert set(part["counties"]["province_adcode"]) == {code} == set(part["prefectures"]["province_adcode"])
        assert len(part["counties"]) == (layers["counties"]["province_adcode"] == code).sum()
    assert {slug for *_, slug, _ in parts} == {"shanghai", "tianjin", "macao"}
