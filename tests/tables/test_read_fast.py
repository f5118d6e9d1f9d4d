"""The fast CSV reader (pandas' C tokenizer, by column) reads every file exactly as the
row-by-row :mod:`csv` reader does: same header, cells, row numbers, skipped rows and errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gis.tables.read as read
from gis.errors import GisError


def _both(tmp_path, monkeypatch, data: bytes):
    """(fast result, csv result) of reading ``data``; a result is the table's parts or the error."""
    path = tmp_path / "t.csv"
    path.write_bytes(data)

    def outcome():
        try:
            table = read.read_table(path)
        except GisError as error:
            return ("error", str(error))
        return (table.encoding, table.header, table.header_row, table.rows, table.skipped_rows)

    fast = outcome()
    with monkeypatch.context() as patched:
        patched.setattr(read, "_csv_columns_fast", lambda raw, text, delimiter: None)
        slow = outcome()
    return fast, slow


TRICKY = [
    "地区,rural_income\n淳安,1\n",
    "表1 标题\n\n地区,year,rural_income\r\n淳安,2020,\"1,234\"\r\n,,\r\n注：合成数据\r\n",
    "# comment\n地区,rural_income,\n淳安,1\n建德\n桐庐,2,\n",
    "地区,rural_income\n淳安,1,9\n",  # a value right of the last headed column
    "地区,rural_income\n\"淳\n安\",1\n建德,2\n",  # a quoted line break: rows below it shift
    "地区,rural_income\r淳安,1\r建德,2",  # old Mac line ends, no final line break
    "地区\trural_income\n淳安\t\"1,5\"\n\"a\"\"b\"\t3\n",
    "地区,rural_income\nab\"c,\"q\"x\n \n",
    "\ufeff地区,rural_income\n淳安,1\n",  # a byte-order mark inside UTF-8 text
    "标题\n说明\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_fast_reader_matches_the_csv_module(tmp_path, monkeypatch, text):
    fast, slow = _both(tmp_path, monkeypatch, text.encode("utf-8"))
    assert fast == slow


def test_quoted_line_break_keeps_the_spreadsheet_row_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("地区,rural_income\n\"淳\n安\",1\n建德,2\n", encoding="utf-8")
    assert [row for row, _ in read.read_table(path).rows] == [2, 4]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.lists(st.sampled_from(["地区", "rural_income", "淳安", "注：x", "1", ",", "\t", '"', "\n", "\r", "\r\n", " ", "\u3000", "—"]),
                    max_size=40).map("".join),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
def test_fast_reader_matches_the_csv_module_on_generated_text(tmp_path, monkeypatch, body, encoding):
    fast, slow = _both(tmp_path, monkeypatch, ("地区,rural_income\n" + body).encode(encoding))
    assert fast == slow


def test_the_fast_reader_is_used_unless_records_span_lines():
    plain = "地区,rural_income\r\n淳安,\"1,234\"\r\n\r\n注：x\r\n"
    rows, columns = read._csv_columns_fast(plain.encode("gbk"), plain, ",")
    assert rows.tolist() == [1, 2, 3, 4]
    assert [c.tolist() for c in columns[:2]] == [["地区", "淳安", "", "注：x"], ["rural_income", "1,234", "", ""]]
    assert all(cell == "" for c in columns[2:] for cell in c)  # the quoted comma counted as a column: empty
    spanning = "地区,rural_income\n\"淳\n安\",1\n"
    assert read._csv_columns_fast(spanning.encode(), spanning, ",") is None
