"""``index.html``: every map in an output folder with its bilingual title and description.

The list is read back from the maps' own ``<meta name="gis:…">`` tags, so maps written by
separate ``gis map`` runs all appear, and a map file that no longer exists drops out.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

_META = re.compile(r'<meta name="gis:(title_zh|title_en|description_zh|description_en)" content="([^"]*)">')

_STYLE = """
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", "Helvetica Neue", Arial, sans-serif;
       margin: 2rem auto; max-width: 52rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0; } h1 + p { margin-top: .2rem; color: #555; }
li { margin: .9rem 0; list-style: none; } ul { padding: 0; }
a { font-size: 1.1rem; font-weight: 700; color: #08519c; text-decoration: none; }
a:hover { text-decoration: underline; } .en { color: #555; } .desc { font-size: .9rem; color: #444; }
.skipped { color: #777; font-size: .9rem; }
"""


def map_metadata(path: Path) -> dict[str, str] | None:
    """Title and description tags of a map page (unescaped), None if it is not one of ours."""
    head = path.read_text(encoding="utf-8", errors="replace")[:4000]
    found = {key: html.unescape(value) for key, value in _META.findall(head)}
    return found if "title_zh" in found else None


def index_html(out_dir: Path, skipped: dict[str, str] | None = None) -> str:
    """The index page for the maps in ``out_dir``; ``skipped`` names maps not drawn and why."""
    esc = html.escape
    items = []
    for path in sorted(out_dir.glob("*.html")):
        if path.name == "index.html":
            continue
        meta = map_metadata(path)
        if meta is None:
            continue
        items.append(
            f'<li><a href="{esc(path.name)}">{esc(meta["title_zh"])}</a>'
            f'<div class="en">{esc(meta.get("title_en", ""))}</div>'
            f'<div class="desc">{esc(meta.get("description_zh", ""))}</div>'
            f'<div class="desc en">{esc(meta.get("description_en", ""))}</div></li>'
        )
    for name, reason in sorted((skipped or {}).items()):
        if not (out_dir / f"{name}.html").exists():
            items.append(f'<li class="skipped">{esc(name)}：未生成 not built — {esc(reason)}</li>')
    body = "\n".join(items) or '<li class="skipped">暂无地图 / no maps</li>'
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>规划地图 | Planning maps</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        "<h1>城乡融合发展规划地图</h1><p>Urban-rural integration planning maps</p>\n"
        f"<ul>\n{body}\n</ul>\n</body>\n</html>\n"
    )
