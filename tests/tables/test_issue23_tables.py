"""Hostile and clumsy tables, round 3 (issue 23, cases 2, 4, 9 and the smaller items): Excel
percent formats, workbooks of several sheets, years written 2020.0, a pasted row of thousands of
unknown headers and a cell longer than csv's field limit."""

from __future__ import annotations

import openpyxl
import pytest
from click.testing import CliRunner

from gis.cli import main
from gis.tables.join import load_user_tables
from gis.tables.read import read_table
from gis.tables.report import JoinError


def _book(path, sheets, percent_cells=()):
    """A workbook of ``{title: rows}``; ``percent_cells`` = (title, row, column) formatted 0.0%."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    for title, row, column in percent_cells:
        book[title].cell(row, column).number_format = "0.0%"
    book.save(path)
    return path


# Case 2: a cell holding 0.253 formatted 0.0% (Excel shows 25.3 %) is 25.3 for a percent indicator.

def test_percent_formatted_cells_are_read_as_excel_shows_them(tmp_path, zhejiang):
    path = _book(tmp_path / "ageing.xlsx", {"data": [
        ["地区", "year", "share_aged_60plus_rural", "urban_income"],
        ["淳安", 2020, 0.253, 40000],
        ["建德", 2020, 0.301, 41000],
    ]}, percent_cells=[("data", 2, 3), ("data", 3, 3)])
    long, report = load_user_tables([path], zhejiang)
    share = long[long["indicator"] == "share_aged_60plus_rural"].set_index("name")["value"]
    assert share["淳安县"] == pytest.approx(25.3, abs=1e-9)
    assert share["建德市"] == pytest.approx(30.1, abs=1e-9)
    assert long.loc[long["indicator"] == "urban_income", "value"].tolist() == [40000, 41000]  # plain cells untouched
    (file,) = report.files
    assert file.percent_cells == 2
    assert "2 cell(s) formatted as a percentage in Excel" in report.summary()
    assert not any("lies in 0–1" in w for w in report.warnings)  # 25.3 and 30.1 are percent already


def test_a_percent_indicator_with_every_value_in_0_1_is_a_warning(tmp_path, zhejiang):
    path = _book(tmp_path / "fractions.xlsx", {"data": [
        ["地区", "year", "share_aged_60plus_rural"], ["淳安", 2020, 0.253], ["建德", 2020, 0.301]]})
    long, report = load_user_tables([path], zhejiang)
    assert long["value"].tolist() == [0.253, 0.301]  # kept as written: a warning, not a guess
    (warning,) = [w for w in report.warnings if "share_aged_60plus_rural" in w]
    assert "fractions.xlsx" in warning and "lies in 0–1" in warning and "multiply them by 100" in warning


def test_a_percent_format_on_a_yuan_indicator_is_an_error_naming_the_cell(tmp_path, zhejiang):
    path = _book(tmp_path / "yuan.xlsx", {"data": [["地区", "year", "urban_income"], ["淳安", 2020, 0.5]]},
                 percent_cells=[("data", 2, 3)])
    with pytest.raises(JoinError, match=r"yuan.xlsx, row 2, column 'urban_income': 0.5 \(formatted as 50 % in Excel\), but urban_income is in yuan"):
        load_user_tables([path], zhejiang)


# Case 4 (tables): the sheet read is named, the others listed, --sheet chooses.

def test_other_sheets_are_named_and_sheet_chooses_one(tmp_path, zhejiang):
    path = _book(tmp_path / "years.xlsx", {
        "2020": [["地区", "year", "urban_income"], ["淳安", 2020, 40000]],
        "2019": [["地区", "year", "urban_income"], ["淳安", 2019, 38000]],
        "说明": [["注：数据来源统计年鉴"]],
    })
    long, report = load_user_tables([path], zhejiang)
    assert long["year"].tolist() == [2020]
    summary = report.summary()
    assert "sheet '2020'" in summary
    assert "other sheets, not read: '2019', '说明' (choose one with --sheet)" in summary
    long, report = load_user_tables([path], zhejiang, sheet="2019")
    assert long["value"].tolist() == [38000]
    result = CliRunner().invoke(main, ["check", "--data", str(path), "--sheet", "2019"])
    assert result.exit_code == 0, result.output
    assert "sheet '2019'" in result.output
    result = CliRunner().invoke(main, ["check", "--data", str(path), "--sheet", "2018"])
    assert result.exit_code == 2
    assert "years.xlsx: no sheet '2018' (--sheet); the workbook has '2020', '2019', '说明'" in result.output
    assert read_table(path, sheet="2019").other_sheets == ["2020", "说明"]


# Case 9: 2020.0 (what pandas writes for a year column with a blank) is 2020; 2020.5 is refused.

def test_a_year_written_2020_0_is_2020_and_2020_5_is_refused_naming_the_row(tmp_path, zhejiang):
    path = tmp_path / "pandas.csv"
    path.write_text("地区,year,urban_income\n淳安,2020.0,40000\n建德,2019.00,41000\n", encoding="utf-8")
    long, _ = load_user_tables([path], zhejiang)
    assert sorted(long["year"].tolist()) == [2019, 2020]
    path.write_text("地区,year,urban_income\n淳安,2020.0,40000\n建德,2020.5,41000\n", encoding="utf-8")
    with pytest.raises(JoinError, match=r"pandas.csv, row 3: year '2020.5' is not a year like 2020"):
        load_user_tables([path], zhejiang)
    book = _book(tmp_path / "floats.xlsx", {"data": [["地区", "year", "urban_income"], ["淳安", 2020.0, 40000]]})
    assert load_user_tables([book], zhejiang)[0]["year"].tolist() == [2020]


# Smaller: thousands of unknown headers (message and time capped); a cell over csv's 128 KB limit.

def test_thousands_of_unknown_headers_give_a_short_message_with_the_count(tmp_path, zhejiang):
    path = tmp_path / "wide.csv"
    headers = [f"h{i}" for i in range(20_000)]
    path.write_text("地区,year," + ",".join(headers) + "\n淳安,2020," + ",".join("1" for _ in headers) + "\n", encoding="utf-8")
    with pytest.raises(JoinError) as caught:
        load_user_tables([path], zhejiang)
    message = str(caught.value)
    assert "wide.csv, row 1: unknown column(s): column 3 'h0'; column 4 'h1'" in message
    assert "and 19992 more (20000 in all)" in message
    assert len(message) < 2000


def test_a_cell_longer_than_the_csv_field_limit_is_read(tmp_path, zhejiang):
    path = tmp_path / "notes.csv"
    note = "长" * 140_000  # 140 000 characters, past csv's limit of 131 072
    path.write_text(f"地区,year,urban_income,备注\n淳安,2020,40000,{note}\n建德,2020,41000,\"a\nquoted break\"\n", encoding="utf-8")
    table = read_table(path)
    assert table.columns[3][0] == note
    long, report = load_user_tables([path], zhejiang)
    assert long["value"].tolist() == [40000, 41000]
    assert report.files[0].ignored_columns == ["备注"]
