"""Unit names and codes as users write them: normalised for matching.
"""

from __future__ import annotations

import re
import unicodedata

#: The 56 officially recognised ethnic groups' names as they appear in autonomous counties'
#: names (景宁畲族自治县), plus 各族; used only to strip a name down to its stem.
ETHNIC_NAMES = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 "
    "景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 "
    "保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 汉 各"
).split()

#: Names of aggregate rows in yearbooks (province or city totals) that are not one unit.
AGGREGATE_NAMES = ("合计", "总计", "全市", "市区", "市辖区", "全国", "其中")

# --------------------------------------------------------------------------------------------
# Names


def normalise_name(text: object) -> str:
    """A unit name as written, with full-width forms folded, all spaces removed (yearbooks pad
    two-character names: ``桐　庐``) and trailing footnote marks (``*``, ``①``) dropped."""
    text = unicodedata.normalize("NFKC", "" if text is None else str(text))
    text = re.sub(r"\s+", "", text)
    if text.isdigit():
        return text
    # NFKC has turned circled footnote numbers (①) into digits; unit names never end in one.
    return re.sub(r"[*#\d()]+$", "", text)


def normalise_code(cell: object) -> str:
    """An adcode cell as text: full-width digits folded, spaces and Excel's trailing '.0' removed."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(cell)))
    return text[:-2] if text.endswith(".0") else text


def name_stem(name: str) -> str:
    """A unit name without its administrative suffix: 淳安县 → 淳安, 景宁畲族自治县 → 景宁,
    杭州市 → 杭州. Names of two characters keep their suffix (城区 stays 城区)."""
    stem = name
    if stem.endswith(("自治县", "自治旗", "自治州")):
        stem = stem[:-3]
        changed = True
        while changed:
            changed = False
            for ethnic in ETHNIC_NAMES:
                if stem.endswith(ethnic + "族") and len(stem) > len(ethnic) + 1:
                    stem = stem[: -len(ethnic) - 1]
                    changed = True
        return stem
    for suffix in ("特别行政区", "自治区", "地区", "省", "盟", "市", "县", "区", "旗"):
        if stem.endswith(suffix) and len(stem) - len(suffix) >= 2:
            return stem[: -len(suffix)]
    return stem
