"""Property-based: generated tables thrown at ``gis check`` (issue 14).

Tables vary in encoding, separator, how numbers are written (plain, thousands separators,
full-width digits, exponents, %, signs, missing markers, garbage, infinities, 400-digit cells)
and in the noise around unit names. Whatever comes in: the CLI exits 0 or 2 and never raises,
every row and every cell is accounted for in the report, and a value it accepts is exactly
the number that was written.
"""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gis.cli import main
from gis.errors import GisError
from gis.tables.join import load_user_tables
from gis.tables.report import JoinError

NAMES = ["淳安县", "淳安", "建德市", "桐庐", "富阳区", "富阳市", "杭州市临安区", "鹿城区", "普陀", "不存在县", "全省", "合计"]
MISSING = ["", "—", "…", "-", "NA", "n/a"]
FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


@st.composite
def written_number(draw):
    """(cell text, the number it means or None for missing, or NaN for 'not a valid number')."""
    kind = draw(st.sampled_from(["plain", "thousands", "full_width", "exponent", "percent", "missing", "garbage", "huge"]))
    value = draw(st.floats(min_value=-1e7, max_value=1e7, allow_nan=False).map(lambda v: round(v, 2)))
    if kind == "plain":
        return repr(value), value
    if kind == "thousands":
        return f"{value:,.2f}", float(f"{value:.2f}")
    if kind == "full_width":
        return repr(value).translate(FULL_WIDTH), value
    if kind == "exponent":
        return f"{value:e}", float(f"{value:e}")
    if kind == "percent":
        return f"{value}%", math.nan  # rural_income is in yuan: a % sign is an error
    if kind == "missing":
        return draw(st.sampled_from(MISSING)), None
    if kind == "huge":
        return draw(st.sampled_from(["inf", "1e400", "-1e999", "9" * 400, "NaN%"])), math.nan
    return draw(st.text(alphabet="abc,.=@+-#年元 ", min_size=1, max_size=8)), math.nan


@st.composite
def noisy_name(draw):
    name = draw(st.sampled_from(NAMES))
    left = draw(st.sampled_from(["", " ", "\u3000", "\u00a0"]))
    right = draw(st.sampled_from(["", " ", "\u3000"]))
    return left + name + right


@st.composite
def table(draw):
    rows = draw(st.lists(st.tuples(noisy_name(), written_number()), min_size=1, max_size=8))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030"]))
    separator = draw(st.sampled_from([",", "\t"]))
    return rows, encoding, separator


def _quote(cell: str, separator: str) -> str:
    return f'"{cell}"' if separator in cell or '"' in cell else cell


def _write(tmp_path, rows, encoding, separator):
    lines = [separator.join(["地区", "rural_income"])]
    lines += [separator.join([_quote(name, separator), _quote(cell, separator)]) for name, (cell, _) in rows]
    try:
        data = ("\n".join(lines) + "\n").encode(encoding)
    except UnicodeEncodeError:
        assume(False)
    path = tmp_path / "generated.csv"
    path.write_bytes(data)
    return path


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(generated=table())
def test_check_never_raises_past_the_cli(tmp_path, generated):
    path = _write(tmp_path, *generated)
    result = CliRunner().invoke(main, ["check", "--data", str(path), "--year", "2020", "--allow-unmatched"])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output


@SETTINGS
@given(generated=table())
def test_every_cell_is_accounted_for_and_accepted_values_round_trip(tmp_path, zhejiang, generated):
    rows, _, _ = generated
    path = _write(tmp_path, *generated)
    try:
        long, report = load_user_tables([path], zhejiang, allow_unmatched=True, default_year=2020)
    except JoinError as error:
        long, report = None, error.report
    except GisError:
        return  # a whole-file problem (no header row …): one line, nothing to count
    (file,) = report.files
    assert file.rows_in == file.rows_matched + file.rows_reported == len(rows)
    assert file.values_read == file.values_kept + file.values_missing + file.values_reported + file.values_errors == len(rows)
    if long is None:
        return
    supplied = long[~long["source"].str.startswith("derived")]
    assert len(supplied) == file.values_kept
    for value, source in zip(supplied["value"], supplied["source"]):
        row = int(source.rsplit("row ", 1)[1])
        cell, meant = rows[row - 2][1]
        assert meant is not None and not math.isnan(meant), f"accepted {cell!r}"
        assert value == meant, f"{cell!r} became {value!r}"
        assert value >= 0  # rural_income's range


@pytest.mark.parametrize("cell, meant", [("1,234.50", 1234.5), ("１２３", 123.0), ("1e3", 1000.0), ("+7", 7.0)])
def test_examples_round_trip(tmp_path, zhejiang, cell, meant):
    path = _write(tmp_path, [("淳安", (cell, meant))], "utf-8", ",")
    long, _ = load_user_tables([path], zhejiang, default_year=2020)
    assert long.loc[long["indicator"] == "rural_income", "value"].tolist() == [meant]
