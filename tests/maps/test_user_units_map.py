"""``gis map --units FILE`` and map specs with ``layer = "units"``: pages of a user's own
polygon layer (townships), without a build."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gis.cli import main
from support.maps import embedded_payload
from support.townships import write_townships


@pytest.fixture(scope="module")
def classified(tmp_path_factory):
    folder = tmp_path_factory.mktemp("towns-map")
    units, raster = write_townships(folder)
    out = folder / "towns_degurba.gpkg"
    result = CliRunner().invoke(main, ["degurba", "units", "--population", str(raster), "--units", str(units), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return folder, units, out


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def test_units_without_a_spec_draw_their_degurba_map_named_and_with_their_columns(classified):
    folder, _, out = classified
    result = run("map", "--units", out, "--out", folder / "maps")
    assert result.exit_code == 0, result.output
    page = (folder / "maps" / "units_degurba.html").read_text(encoding="utf-8")
    config, units = embedded_payload(page)
    features = {f["properties"]["n"]: f["properties"] for f in units["features"]}
    assert len(features) == 20 and "第7镇" in features  # named by 乡镇名称 (no 'name' column in the file)
    popup = " ".join(str(row) for row in features["第7镇"]["pop"])
    assert "town_code" in popup and "330106007000" in popup and "常住人口" in popup
    assert (folder / "maps" / "index.html").exists()
    assert "out.gpkg" not in page and "towns_degurba.gpkg" in page  # the file is cited as the data source
    # The footer names the user's file as the source of the boundaries, not AMap's.
    assert "单元边界来自用户提供的文件" in page and "行政边界来自高德地图" not in page


def test_a_spec_of_the_users_own_column_with_its_units_key(classified, tmp_path):
    folder, units, _ = classified
    spec = tmp_path / "towns_people.toml"
    spec.write_text(f'''title_zh = "乡镇常住人口"
title_en = "Residents of townships"
description_zh = "用户的乡镇。"
description_en = "The user's townships."
layer = "units"
units = "{units.as_posix()}"

[[views]]
label_zh = "常住人口"
label_en = "Residents"
column = "常住人口"
unit = "persons"
scheme = "quantiles"
classes = 4
''', encoding="utf-8")
    result = run("map", spec, "--out", tmp_path / "maps")
    assert result.exit_code == 0, result.output
    _, units_json = embedded_payload((tmp_path / "maps" / "towns_people.html").read_text(encoding="utf-8"))
    assert len({str(f["properties"]["k"][0]) for f in units_json["features"]}) == 4
    # --units overrides the spec's file (the classified output holds the column too).
    result = run("map", spec, "--units", folder / "towns_degurba.gpkg", "--out", tmp_path / "maps2")
    assert result.exit_code == 0, result.output


def test_user_layer_mistakes_are_one_line(classified, tmp_path):
    folder, units, _ = classified
    assert "give map specs (SPECS…), or --units FILE" in run("map", "--out", tmp_path / "m").output
    spec = tmp_path / "bad.toml"
    spec.write_text('title_zh = "a"\ntitle_en = "a"\ndescription_zh = "a"\ndescription_en = "a"\nlayer = "counties"\n'
                    'units = "x.gpkg"\n[[views]]\nlabel_zh = "a"\nlabel_en = "a"\ncolumn = "x"\nscheme = "categories"\ncategories = "@data"\n',
                    encoding="utf-8")
    result = run("map", spec, "--out", tmp_path / "m")
    assert result.exit_code == 2 and "only with layer = \"units\"" in result.output
    no_file = tmp_path / "nofile.toml"
    no_file.write_text(spec.read_text(encoding="utf-8").replace('layer = "counties"\nunits = "x.gpkg"\n', 'layer = "units"\n'), encoding="utf-8")
    result = run("map", no_file, "--out", tmp_path / "m")
    assert result.exit_code == 2 and "needs a polygon file: --units FILE" in result.output
