"""Hostile and clumsy tables: non-finite numbers, broken encodings, odd XLSX files, and a
report whose counts add up (issue 14, items 3, 8 and 10)."""

from __future__ import annotations

import re
import shutil
import zipfile

import openpyxl
import pytest
from click.testing import CliRunner

from gis.cli import main
from gis.tables.join import load_user_tables
from gis.tables.read import parse_number, read_table
from gis.tables.report import JoinError


def _assert_adds_up(report):
    for f in report.files:
        assert f.rows_in == f.rows_matched + f.rows_reported
        assert f.values_read == f.values_kept + f.values_missing + f.values_reported + f.values_errors


@pytest.mark.parametrize("cell", ["1e400", "-1e400", "9" * 100_000, float("inf"), 10**400])
def test_parse_number_refuses_non_finite_numbers(cell):
    with pytest.raises(ValueError, match="not a finite number"):
        parse_number(cell)


@pytest.mark.parametrize("cell", ["inf", "1e400", "9" * 100_000, "Infinity"])
def test_infinite_cells_are_errors_naming_file_row_and_column(tmp_path, zhejiang, cell):
    path = tmp_path / "t.csv"
    path.write_text(f"地区,year,rural_income,urban_income\n淳安,2020,{cell},40000\n富阳区,2020,30000,45000\n", encoding="utf-8")
    with pytest.raises(JoinError) as caught:
        load_user_tables([path], zhejiang)
    message = str(caught.value)
    assert "t.csv, row 2, column 'rural_income'" in message
    assert len(message) < 400  # a 100 000-digit cell is cut in the message
    (file,) = caught.value.report.files
    assert (file.values_kept, file.values_errors) == (3, 1)
    _assert_adds_up(caught.value.report)


def test_a_bom_in_front_of_gbk_text_is_one_line_naming_the_row(tmp_path):
    path = tmp_path / "bom-gbk.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "地区,year,rural_income\n淳安,2020,21000\n".encode("gbk"))
    result = CliRunner().invoke(main, ["check", "--data", str(path)])
    assert result.exit_code == 2
    assert "bom-gbk.csv, row 1: starts with a UTF-8 byte-order mark" in result.output
    assert "Traceback" not in result.output


def _workbook(tmp_path, rows, name="t.xlsx"):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def _with_dimension(path, ref):
    """Rewrite the sheet's declared size (<dimension ref=…>), as some writers get it wrong."""
    patched = path.with_name("patched-" + path.name)
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(patched, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
                assert count == 1
            target.writestr(item, data)
    shutil.move(patched, path)
    return path


def test_an_xlsx_with_a_wrong_declared_size_is_read_whole(tmp_path, zhejiang):
    rows = [["地区", "year", "rural_income"]] + [[n, 2020, 20000 + i] for i, n in enumerate(["淳安", "建德", "桐庐", "临安", "富阳"])]
    path = _with_dimension(_workbook(tmp_path, rows), "A1:B5")  # says 4 data rows and 2 columns
    assert len(read_table(path).rows) == 5
    long, report = load_user_tables([path], zhejiang)
    (file,) = report.files
    assert (file.rows_in, file.values_read, file.values_kept) == (5, 5, 5)
    assert sorted(long["value"]) == [20000, 20001, 20002, 20003, 20004]


def test_error_and_uncached_formula_cells_are_errors_not_missing(tmp_path, zhejiang):
    rows = [["地区", "year", "rural_income", "urban_income"],
            ["淳安", 2020, "#DIV/0!", 40000],
            ["建德", 2020, "=C2*2", None],
            ["桐庐", 2020, 25000, "—"]]
    path = _workbook(tmp_path, rows)
    with pytest.raises(JoinError) as caught:
        load_user_tables([path], zhejiang)
    report = caught.value.report
    (file,) = report.files
    assert (file.values_read, file.values_kept, file.values_missing, file.values_errors) == (6, 2, 2, 2)
    _assert_adds_up(report)
    message = "; ".join(report.errors)
    assert "row 2, column 'rural_income': '#DIV/0!' is not a number" in message
    assert "row 3, column 'rural_income'" in message and "a formula without a cached value (=C2*2)" in message
    assert "6 cells = 2 kept + 2 missing (blank/—/…) + 0 reported + 2 errors" in report.summary()


def test_rows_that_fail_whole_still_account_for_their_cells(tmp_path, zhejiang):
    path = tmp_path / "t.csv"
    path.write_text("地区,year,rural_income,urban_income\n淳安,twenty,21000,40000\n建德,2020,22000,\n不存在县,2020,1,2\n",
                    encoding="utf-8")
    with pytest.raises(JoinError) as caught:
        load_user_tables([path], zhejiang, allow_unmatched=True)
    (file,) = caught.value.report.files
    assert (file.values_read, file.values_kept, file.values_missing, file.values_reported, file.values_errors) == (6, 1, 1, 2, 2)
    _assert_adds_up(caught.value.report)
