"""Reading users' tables: encodings, layouts, Chinese number formats and header recognition."""

from __future__ import annotations

import openpyxl
import pytest

from gis.errors import GisError
from gis.tables.read import classify_column, detect_encoding, parse_number, read_table

TEXT = "地区,农村常住居民人均可支配收入_2020\n淳安县,\"1,234\"\n"


@pytest.mark.parametrize("encoding, expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk"), ("gb18030", "gbk")])
def test_encoding_is_detected_and_named(tmp_path, encoding, expected):
    # GB18030 text that uses only GBK characters is byte-identical to GBK: reported as gbk.
    path = tmp_path / "t.csv"
    path.write_bytes(TEXT.encode(encoding))
    table = read_table(path)
    assert table.encoding == expected
    assert table.header == ["地区", "农村常住居民人均可支配收入_2020"]
    assert table.rows == [(2, ["淳安县", "1,234"])]


def test_gb18030_only_characters_are_read_as_gb18030(tmp_path):
    # 𠀀 (U+20000) exists in GB18030 but not in GBK.
    path = tmp_path / "t.csv"
    path.write_bytes("地区,note\n𠀀县,1\n".encode("gb18030"))
    assert detect_encoding(path.read_bytes()) == "gb18030"
    assert read_table(path).rows[0][1][0] == "𠀀县"


def test_undecodable_bytes_name_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xff\xfe\x00\x81\xff")
    with pytest.raises(GisError, match=r"bad\.csv: cannot decode the file as UTF-8, GBK or GB18030"):
        read_table(path)


def test_title_rows_comments_blanks_and_footnotes_are_kept_aside_with_row_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("# comment\n表1 标题\n地区,rural_income\n淳安,1\n,\n注：合成数据\n", encoding="utf-8")
    table = read_table(path)
    assert table.header_row == 3
    assert [r for r, _ in table.rows] == [4]
    assert table.skipped_rows == [(1, "comment"), (2, "title above the header"), (5, "blank"), (6, "footnote '注：合成数据'")]


def test_xlsx_rows_are_numbered_as_excel_shows_them(tmp_path):
    path = tmp_path / "t.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["表 标题"])
    sheet.append([])
    sheet.append(["adcode", "rural_income", "year"])
    sheet.append([330127, 1234.5, 2020])
    book.save(path)
    table = read_table(path)
    assert table.encoding == "xlsx"
    assert table.header_row == 3
    assert table.rows == [(4, [330127, 1234.5, 2020])]


def test_no_header_and_unsupported_files_are_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(GisError, match=r"t\.csv: no header row naming the units; expected a column headed adcode"):
        read_table(path)
    with pytest.raises(GisError, match=r"old Excel \.xls files are not read"):
        (tmp_path / "t.xls").write_bytes(b"x")
        read_table(tmp_path / "t.xls")


def test_values_right_of_the_header_are_an_error(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("地区,rural_income\n淳安,1,99\n", encoding="utf-8")
    with pytest.raises(GisError, match=r"t\.csv, row 2: 1 value\(s\) right of the last headed column \(first: '99'\)"):
        read_table(path)


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("1,234", (1234.0, False)),
        ("1，234", (1234.0, False)),
        ("１２３", (123.0, False)),
        ("１，２３４．５", (1234.5, False)),
        ("12.5%", (12.5, True)),
        ("12.5％", (12.5, True)),
        ("−3.2", (-3.2, False)),
        ("－3", (-3.0, False)),
        (" 42 ", (42.0, False)),
        (1234, (1234.0, False)),
        (12.5, (12.5, False)),
        ("—", (None, False)),
        ("——", (None, False)),
        ("-", (None, False)),
        ("－", (None, False)),
        ("…", (None, False)),
        ("", (None, False)),
        (None, (None, False)),
    ],
)
def test_numbers_as_chinese_tables_write_them(cell, expected):
    assert parse_number(cell) == expected


@pytest.mark.parametrize(
    "cell, reason", [("12,34", "commas that are not thousands separators"), ("abc", "not a number"), ("1.2.3", "not a number"), (True, "TRUE/FALSE")]
)
def test_unparseable_numbers_say_why(cell, reason):
    with pytest.raises(ValueError, match=reason):
        parse_number(cell)


@pytest.mark.parametrize(
    "header, indicator, year, unit",
    [
        ("rural_income", "rural_income", None, None),
        ("农村常住居民人均可支配收入", "rural_income", None, None),
        ("rural_income_2020", "rural_income", 2020, None),
        ("农村常住居民人均可支配收入_2020", "rural_income", 2020, None),
        ("2020年农村常住居民人均可支配收入", "rural_income", 2020, None),
        ("农村常住居民人均可支配收入（2020年）", "rural_income", 2020, None),
        ("2020年农村常住居民人均可支配收入(元)", "rural_income", 2020, "元"),
        ("60岁及以上人口比重(%)", "share_aged_60plus", None, "%"),
        ("RURAL_INCOME_2021", "rural_income", 2021, None),
    ],
)
def test_indicator_headers_by_name_label_year_and_unit(header, indicator, year, unit):
    column = classify_column(header)
    assert (column.indicator, column.year, column.header_unit) == (indicator, year, unit)


def test_unknown_header_is_not_an_indicator():
    assert classify_column("农民收入") is None
