"""A realistic 90-county yearbook table (SYNTHETIC values) checked end to end.

The table is written as a 2020 statistical yearbook would list Zhejiang's county-level units:
GBK-encoded, a title row, names with and without suffix and padded with full-width spaces,
one province total (全省), the 2020 units 下城区 and 江干区 (merged away in 2021) and the
pre-2021 余杭区 (split in 2021), a few old names, blanks, '—' and thousands separators.
**Every number is random** (numpy, fixed seed) with an east-west gradient so that hot spots
exist; the file name and its title row say so. Regenerate with
``python tests/test_join_yearbook.py tests/data/SYNTHETIC_counties_90_2020_gbk.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from gis.tables.join import load_user_tables
from gis.tables.report import JoinError

DATA = Path(__file__).parents[1] / "data" / "SYNTHETIC_counties_90_2020_gbk.csv"

#: How a user's table spells some units (suffix-less, padded, old names).
SPELLINGS = {
    "淳安县": "淳　安",
    "桐庐县": "桐庐",
    "景宁畲族自治县": "景宁",
    "富阳区": "富阳市",
    "临安区": "临安市",
    "奉化区": "奉化",
    "玉环市": "玉环县",
    "洞头区": "洞头县",
    "柯桥区": "柯桥",
    "南湖区": "南湖区",
}


def write_synthetic_yearbook(path: Path, boundaries) -> None:
    """Write the synthetic 2020 yearbook table (GBK) for Zhejiang's 2020 county-level units."""
    rng = np.random.default_rng(2020)
    counties = boundaries.counties
    centroid = counties.geometry.representative_point()
    east = (centroid.x - centroid.x.min()) / (centroid.x.max() - centroid.x.min())
    north = (centroid.y - centroid.y.min()) / (centroid.y.max() - centroid.y.min())
    rows = []
    for name, e, n in zip(counties["name"], east, north):
        if name in ("临平区", "钱塘区"):
            continue  # did not exist in 2020
        urban = 42000 + 30000 * (0.6 * e + 0.4 * n) + rng.normal(0, 3000)
        rural = urban / (1.55 + 0.5 * (1 - n) + rng.normal(0, 0.05))
        ageing = 18 + 12 * (1 - e) + rng.normal(0, 2)
        beds = 4 + 3 * rng.random()
        care = 30 + 25 * rng.random()
        rows.append([SPELLINGS.get(name, name), f"{urban:,.0f}", f"{rural:.0f}", "", f"{ageing:.1f}", f"{beds:.2f}", f"{care:.1f}"])
        if name == "拱墅区":
            rows.append(["下城区", "69,000", "", "", "21.3", "—", ""])
        if name == "上城区":
            rows.append(["江干区", "66,500", "", "", "19.8", "6.10", "—"])
    by_name = {row[0]: row for row in rows}
    by_name["淳　安"][3] = "2.50"  # a supplied ratio; the derived one differs → warning
    rows[10][5] = "—"
    rows[20][6] = ""
    header = [
        "地区",
        "2020年城镇常住居民人均可支配收入(元)",
        "2020年农村常住居民人均可支配收入(元)",
        "2020年城乡居民收入倍差",
        "2020年60岁及以上人口比重(%)",
        "2020年每千常住人口医疗卫生机构床位数",
        "2020年每千名老年人养老床位数",
    ]
    lines = [
        "表 各县（市、区）城乡居民收入、老龄化与养老服务（SYNTHETIC 合成测试数据：随机生成，非真实统计）",
        ",".join(header),
        ",".join(["全省", '"55,000"', "33000", "", "24.0", "6.00", "40.0"]),
    ]
    for row in rows:
        lines.append(",".join(f'"{c}"' if "," in c else c for c in row))
    lines.append("注：本表全部数值为随机生成的合成数据，仅供测试。")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


@pytest.fixture(scope="module")
def yearbook(tmp_path_factory, zhejiang):
    path = tmp_path_factory.mktemp("yearbook") / DATA.name
    write_synthetic_yearbook(path, zhejiang)
    return path


def test_committed_synthetic_table_is_what_the_generator_writes(yearbook):
    assert DATA.read_bytes() == yearbook.read_bytes()


def test_yearbook_fails_without_allow_unmatched_naming_the_three_units(yearbook, zhejiang):
    with pytest.raises(JoinError) as caught:
        load_user_tables([yearbook], zhejiang)
    message = str(caught.value)
    assert message.startswith("3 row(s)/value(s) could not be joined")
    for part in ("'下城区' — merged away in 2021", "'江干区' — merged away in 2021", "'余杭区' — 余杭区 before 2021", "--allow-unmatched"):
        assert part in message


def test_yearbook_with_allow_unmatched_accounts_for_every_row(yearbook, zhejiang):
    long, report = load_user_tables([yearbook], zhejiang, allow_unmatched=True)
    (file,) = report.files
    assert file.encoding == "gbk"
    assert file.rows_in == 91 == file.rows_matched + file.rows_reported
    assert (file.rows_matched, file.rows_reported) == (88, 3)
    assert file.values_read == file.values_kept + file.values_missing + file.values_reported
    assert {"富阳市", "临安市", "玉环县", "洞头县"} <= set(report.renamed)
    assert any("supplied income_ratio 2.5" in w for w in report.warnings)
    assert any(w.startswith("上城区 (330102, 杭州市) 2020: boundaries changed in 2021") for w in report.warnings)
    assert long["adcode"].nunique() == 88  # 87 counties + the province
    assert "330000" in set(long["adcode"])


if __name__ == "__main__":
    from gis.units.boundaries import load_boundaries

    write_synthetic_yearbook(Path(sys.argv[1]), load_boundaries("330000"))
