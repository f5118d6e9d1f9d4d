"""Joining users' tables: every shape and encoding, matching, the crosswalk and every failure."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from gis.errors import GisError
from gis.tables.crosswalk import crosswalk
from gis.tables.indicators import LONG_COLUMNS
from gis.tables.join import load_user_tables
from gis.tables.names import name_stem
from gis.tables.report import JoinError

ENCODINGS = ("utf-8", "utf-8-sig", "gbk", "gb18030")

# The same three values in each layout: 淳安县 rural and urban income 2020, 富阳区 rural 2020.
SHAPES = {
    "wide": '地区,year,农村常住居民人均可支配收入,urban_income\n淳安,2020,"21,000",40000\n富阳区,2020,30000,—\n',
    "wide by year": '地区,rural_income_2020,2020年城镇常住居民人均可支配收入(元)\n淳安县,21000,"40,000"\n富阳,30000,\n',
    "long": (
        'adcode,year,indicator,value,unit\n330127,2020,rural_income,21000,元\n'
        '330127,2020,城镇常住居民人均可支配收入,40000,yuan\n330111,2020,rural_income,"30,000",元\n'
    ),
}
EXPECTED = {("330127", 2020, "rural_income"): 21000.0, ("330127", 2020, "urban_income"): 40000.0, ("330111", 2020, "rural_income"): 30000.0}


def write_csv(tmp_path, text, encoding="utf-8", name="t.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(tmp_path, text, name="t.xlsx"):
    """The CSV text as a worksheet (numbers as numbers, as a user's Excel file has them)."""
    import csv
    import io

    book = openpyxl.Workbook()
    sheet = book.active
    for row in csv.reader(io.StringIO(text)):
        sheet.append([float(c) if c.replace(".", "").isdigit() else (c or None) for c in row])
    path = tmp_path / name
    book.save(path)
    return path


def supplied(long):
    rows = long[~long["source"].str.startswith("derived")]
    return {(a, y, i): v for a, y, i, v in zip(rows["adcode"], rows["year"], rows["indicator"], rows["value"])}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_in_every_encoding_gives_the_same_rows(tmp_path, zhejiang, shape, encoding):
    path = write_csv(tmp_path, SHAPES[shape], encoding)
    long, report = load_user_tables([path], zhejiang)
    assert list(long.columns) == LONG_COLUMNS
    assert supplied(long) == EXPECTED
    (file,) = report.files
    assert file.layout == shape
    assert file.encoding == ("gbk" if encoding == "gb18030" else encoding)
    assert file.rows_in == file.rows_matched + file.rows_reported
    assert file.values_read == file.values_kept + file.values_missing + file.values_reported
    assert set(long[long["adcode"] == "330127"]["indicator"]) == {"rural_income", "urban_income", "income_ratio", "income_gap"}
    assert long.set_index(["adcode", "indicator"]).loc[("330127", "income_ratio"), "value"] == pytest.approx(40000 / 21000)
    assert long.set_index(["adcode", "indicator"]).loc[("330127", "rural_income"), "source"] == "t.csv, row 2"


@pytest.mark.parametrize("shape", SHAPES)
def test_every_shape_as_xlsx(tmp_path, zhejiang, shape):
    long, report = load_user_tables([write_xlsx(tmp_path, SHAPES[shape])], zhejiang)
    assert supplied(long) == EXPECTED
    assert report.files[0].encoding == "xlsx"
    assert "Excel workbook" in report.summary()


def test_default_year_for_a_wide_table_without_years(tmp_path, zhejiang):
    path = write_csv(tmp_path, "地区,rural_income\n淳安,21000\n")
    with pytest.raises(JoinError, match=r"t\.csv: no year — add a year \(年份\) column, name the columns like rural_income_2020, or pass --year"):
        load_user_tables([path], zhejiang)
    long, _ = load_user_tables([path], zhejiang, default_year=2019)
    assert supplied(long) == {("330127", 2019, "rural_income"): 21000.0}


def test_unmatched_row_fails_naming_file_row_value_and_closest_names(tmp_path, zhejiang):
    path = write_csv(tmp_path, "地区,rural_income_2020\n淳安,1\n淳按县,2\n杭州市区,3\n", "gbk")
    with pytest.raises(JoinError) as caught:
        load_user_tables([path], zhejiang)
    message = str(caught.value)
    assert message.startswith("2 row(s)/value(s) could not be joined")
    assert "t.csv, row 3: '淳按县' — no unit of this name in 浙江省; closest: 淳安县 (330127, 杭州市)" in message
    assert "t.csv, row 4: '杭州市区' — an aggregate row" in message
    assert "pass --allow-unmatched" in message
    assert caught.value.report.rows_in == 3


def test_allow_unmatched_keeps_the_rest_and_counts_every_row(tmp_path, zhejiang):
    path = write_csv(tmp_path, "地区,rural_income_2020\n淳安,1\n淳按县,2\n")
    long, report = load_user_tables([path], zhejiang, allow_unmatched=True)
    assert (report.rows_in, report.rows_matched, report.rows_reported) == (2, 1, 1)
    assert report.unmatched[0].row == 3 and report.unmatched[0].value == "淳按县"
    assert "rows: 2 in = 1 matched + 1 reported" in report.summary()
    assert supplied(long) == {("330127", 2020, "rural_income"): 1.0}


def test_ambiguous_names_name_the_candidates_and_a_prefecture_column_resolves_them(tmp_path, zhejiang):
    # Two counties called 鼓楼区 in different prefectures (as in a national table).
    counties = zhejiang.counties.copy()
    extra = counties.iloc[[0, 1]].copy()
    extra["adcode"] = ["330190", "330290"]
    extra["name"] = ["鼓楼区", "鼓楼区"]
    extra["prefecture_name"] = ["杭州市", "宁波市"]
    boundaries = zhejiang.replace(counties=pd.concat([counties, extra], ignore_index=True))
    path = write_csv(tmp_path, "地区,rural_income_2020\n鼓楼区,1\n")
    with pytest.raises(JoinError, match=r"ambiguous: 鼓楼区 could be 鼓楼区 \(330190, 杭州市\), 鼓楼区 \(330290, 宁波市\); add a prefecture column"):
        load_user_tables([path], boundaries)
    path = write_csv(tmp_path, "地区,所属地市,rural_income_2020\n鼓楼区,宁波,1\n")
    long, _ = load_user_tables([path], boundaries)
    assert list(long["adcode"]) == ["330290"]


def test_renamed_units_map_by_old_name_and_old_code(tmp_path, zhejiang):
    path = write_csv(tmp_path, "adcode,name,rural_income_2010\n,富阳市,1\n330185,,2\n330227,鄞县,3\n,萧山市,4\n")
    long, report = load_user_tables([path], zhejiang)
    assert supplied(long) == {
        ("330111", 2010, "rural_income"): 1.0,
        ("330112", 2010, "rural_income"): 2.0,
        ("330212", 2010, "rural_income"): 3.0,
        ("330109", 2010, "rural_income"): 4.0,
    }
    assert report.renamed["富阳市"] == "富阳区 (330111, 杭州市), was 富阳市 (330183) until 2014"
    assert "330185" in report.renamed
    # 萧山区 lost territory to 钱塘区 in 2021: a 2010 value is kept with a warning.
    assert any(w.startswith("萧山区 (330109, 杭州市) 2010: boundaries changed in 2021") for w in report.warnings)


def test_merged_and_split_units_are_reported_with_an_explanation(tmp_path, zhejiang):
    path = write_csv(tmp_path, "adcode,name,rural_income_2020,rural_income_2021\n,江干区,1,\n330103,,2,\n,余杭区,3,4\n,绍兴县,5,\n")
    long, report = load_user_tables([path], zhejiang, allow_unmatched=True)
    reasons = {r.value: r.reason for r in report.reported_rows}
    assert reasons["江干区"].startswith("merged away in 2021: 江干区 (330104) became part of 上城区 (330102, 杭州市), 钱塘区 (330114, 杭州市)")
    assert reasons["330103"].startswith("merged away in 2021: 下城区 (330103) became part of 拱墅区 (330105, 杭州市)")
    assert reasons["绍兴县"].startswith("split in 2013: 绍兴县 (330621) was divided between 柯桥区 (330603, 绍兴市), 越城区 (330602, 绍兴市)")
    # 余杭区 2020 is the old territory (余杭 + 临平): reported; its 2021 value is kept.
    (value,) = report.reported_values
    assert (value.row, value.column, value.year) == (4, "rural_income_2020", 2020)
    assert "split in 2021 into 余杭区 (330110, 杭州市), 临平区 (330113, 杭州市)" in value.reason
    assert supplied(long) == {("330110", 2021, "rural_income"): 4.0}
    assert (report.rows_in, report.rows_matched, report.rows_reported) == (4, 1, 3)


def test_code_and_name_that_disagree_are_reported(tmp_path, zhejiang):
    path = write_csv(tmp_path, "adcode,name,rural_income_2020\n330127,富阳,1\n")
    with pytest.raises(JoinError, match=r"row 2: '富阳' — code 330127 is 淳安县 but the name column says 富阳"):
        load_user_tables([path], zhejiang)


@pytest.mark.parametrize(
    "header, cell, message",
    [
        (
            "60岁及以上人口比重_2020",
            "120",
            r"t\.csv, row 2, column '60岁及以上人口比重_2020': '120' is outside the valid range 0\.\.100 percent of share_aged_60plus",
        ),
        ("rural_income_2020", "-5", r"t\.csv, row 2, column 'rural_income_2020': '-5' is outside the valid range 0\.\. yuan of rural_income"),
        ("rural_income_2020", "12%", r"t\.csv, row 2, column 'rural_income_2020': '12%' has a % sign, but rural_income is in yuan"),
        ("rural_income_2020", '"12,34"', r"t\.csv, row 2, column 'rural_income_2020': '12,34' is commas that are not thousands separators"),
        ("rural_income_2020(万元)", "3", r"t\.csv, row 2, column 'rural_income_2020\(万元\)': unit '万元', but rural_income is in yuan"),
    ],
)
def test_bad_values_name_file_row_column_and_value(tmp_path, zhejiang, header, cell, message):
    path = write_csv(tmp_path, f"地区,{header}\n淳安,{cell}\n")
    with pytest.raises(JoinError, match=message):
        load_user_tables([path], zhejiang, allow_unmatched=True)


def test_percent_sign_is_accepted_for_shares(tmp_path, zhejiang):
    path = write_csv(tmp_path, "地区,share_aged_65plus_2020\n淳安,18.5%\n")
    long, _ = load_user_tables([path], zhejiang)
    assert supplied(long) == {("330127", 2020, "share_aged_65plus"): 18.5}


def test_duplicates_name_both_rows_within_and_across_files(tmp_path, zhejiang):
    first = write_csv(tmp_path, "地区,rural_income_2020\n淳安,1\n淳安县,2\n", name="a.csv")
    with pytest.raises(JoinError, match=r"duplicate rural_income 2020 for 淳安县 \(330127\): a\.csv, row 2 and a\.csv, row 3"):
        load_user_tables([first], zhejiang)
    second = write_csv(tmp_path, "adcode,year,indicator,value\n330127,2020,rural_income,1\n", name="b.csv")
    third = write_csv(tmp_path, "地区,rural_income_2020\n淳安,1\n", name="c.csv")
    with pytest.raises(JoinError, match=r"duplicate rural_income 2020 for 淳安县 \(330127\): b\.csv, row 2 and c\.csv, row 2"):
        load_user_tables([second, third], zhejiang)


def test_unknown_columns_and_indicators_suggest_the_closest(tmp_path, zhejiang):
    path = write_csv(tmp_path, "地区,农村居民人均可支配收入_2020,备注\n淳安,1,x\n")
    with pytest.raises(
        JoinError, match=r"t\.csv, row 1: unknown column\(s\): column 2 '农村居民人均可支配收入_2020' \(closest indicators: .*农村常住居民人均可支配收入"
    ):
        load_user_tables([path], zhejiang)
    path = write_csv(tmp_path, "adcode,year,indicator,value\n330127,2020,rural_incme,1\n")
    with pytest.raises(JoinError, match=r"t\.csv, row 2, column 'indicator': unknown indicator 'rural_incme' \(closest: rural_income"):
        load_user_tables([path], zhejiang)


def test_ignored_columns_are_listed(tmp_path, zhejiang):
    path = write_csv(tmp_path, "序号,地区,rural_income_2020,备注\n1,淳安,1,synthetic\n")
    _, report = load_user_tables([path], zhejiang)
    assert report.files[0].ignored_columns == ["序号", "备注"]
    assert "ignored columns: 序号, 备注" in report.summary()


def test_a_supplied_ratio_that_disagrees_is_a_warning_and_is_kept(tmp_path, zhejiang):
    path = write_csv(
        tmp_path, "地区,urban_income_2020,rural_income_2020,income_ratio_2020,income_gap_2020\n淳安,40000,20000,2.1,20000\n建德,40000,20000,2.01,\n"
    )
    long, report = load_user_tables([path], zhejiang)
    values = long.set_index(["adcode", "indicator"])["value"]
    assert values[("330127", "income_ratio")] == 2.1  # kept as supplied
    assert values[("330182", "income_ratio")] == 2.01  # within 1 %: no warning
    assert values[("330182", "income_gap")] == 20000  # derived
    (warning,) = report.warnings
    assert warning.startswith("淳安县 (330127) 2020: supplied income_ratio 2.1 (t.csv, row 2) differs from urban_income / rural_income = 2 by more than 1%")
    assert report.derived == {"income_gap": 1}


def test_ageing_gaps_are_derived_rural_minus_urban(tmp_path, zhejiang):
    path = write_csv(tmp_path, "地区,share_aged_60plus_rural_2020,share_aged_60plus_urban_2020\n淳安,30.5,20.25\n")
    long, report = load_user_tables([path], zhejiang)
    row = long[long["indicator"] == "ageing_gap_60plus"].iloc[0]
    assert row["value"] == pytest.approx(10.25)
    assert row["unit"] == "percentage_points"
    assert row["source"].startswith("derived as share_aged_60plus_rural − share_aged_60plus_urban (t.csv, row 2")


def test_prefecture_level_and_province_rows(tmp_path, zhejiang):
    path = write_csv(tmp_path, "地市,year,income_ratio\n全省,2020,1.96\n杭州,2020,1.75\n宁波市,2020,1.72\n")
    long, _ = load_user_tables([path], zhejiang)
    assert supplied(long) == {("330000", 2020, "income_ratio"): 1.96, ("330100", 2020, "income_ratio"): 1.75, ("330200", 2020, "income_ratio"): 1.72}


def test_names_padded_with_full_width_spaces_and_autonomous_counties(tmp_path, zhejiang):
    path = write_csv(tmp_path, "地区,rural_income_2020\n桐　庐,1\n景宁,2\n景宁县,3\n", "gb18030")
    with pytest.raises(JoinError, match=r"duplicate rural_income 2020 for 景宁畲族自治县 \(331127\): t\.csv, row 3 and t\.csv, row 4"):
        load_user_tables([path], zhejiang)
    assert name_stem("景宁畲族自治县") == "景宁"


def test_crosswalk_codes_agree_with_todays_boundaries(zhejiang):
    """Every new code is a unit of today; a retired old code is not (unless the code lives on)."""
    today = set(zhejiang.counties["adcode"])
    table = crosswalk("330000")
    assert set(table["kind"]) <= {"renamed", "merged", "split", "boundary_changed"}
    for row in table.itertuples():
        assert set(row.new_adcode.split(";")) <= today, row
        assert row.source and row.verified, row
        if row.kind in ("merged",) or (row.kind == "renamed" and row.old_adcode != row.new_adcode):
            assert row.old_adcode not in today, row
        assert 2000 <= row.effective_year <= 2025


def test_a_missing_file_is_one_clear_error(tmp_path, zhejiang):
    with pytest.raises(GisError, match=r"nothing\.csv: no such file"):
        load_user_tables([tmp_path / "nothing.csv"], zhejiang)
