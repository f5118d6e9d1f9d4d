"""Offline HTML pages of year series: inline SVG line charts drawn here, no script, no network.

A page holds charts (one per measure: lines per component, years on x) and tables, Chinese
first with English after. Every piece of text, including users' group names, is HTML-escaped;
nothing is fetched, so the file opens by double-click anywhere.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

#: Okabe–Ito colours (colour-blind safe), in order of the lines.
LINE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "6 3", "2 3", "8 3 2 3")


def esc(text: object) -> str:
    """HTML-escape any text, quotes included (safe in attributes)."""
    return html.escape(str(text), quote=True)


@dataclass
class Series:
    """One line: a bilingual label and its points ``(year, value)``; NaN values are gaps."""

    label: str
    points: list[tuple[float, float]]


@dataclass
class Chart:
    """A chart: bilingual title, y-axis label and its lines."""

    title: str
    y_label: str
    series: list[Series]
    note: str = ""


@dataclass
class Table:
    """A table: caption, header and rows of already formatted cells."""

    caption: str
    header: list[str]
    rows: list[list[str]]


@dataclass
class SeriesPage:
    """A whole page: titles, charts, tables and the sources of every figure shown."""

    title_zh: str
    title_en: str
    description: str = ""
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values spanning [low, high] (at most ~count + 1 of them)."""
    if high == low:
        high, low = high + (abs(high) or 1) * 0.05, low - (abs(low) or 1) * 0.05
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def _format_tick(value: float, ticks: list[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step)) + (0 if step >= 1 else 1)) if step > 0 else 0
    return f"{value:,.{min(decimals, 6)}f}"


def line_chart_svg(chart: Chart, width: int = 640, height: int = 300) -> str:
    """An SVG line chart of ``chart`` (years on x, values on y, a legend below the plot)."""
    left, right, top, bottom = 64, 16, 16, 36
    legend_rows = len(chart.series)
    total_height = height + 18 * legend_rows + 8
    xs = sorted({x for s in chart.series for x, _ in s.points})
    ys = [y for s in chart.series for _, y in s.points if y is not None and math.isfinite(y)]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {total_height}" '
             f'width="{width}" height="{total_height}" font-family="sans-serif" font-size="12">',
             f"<title>{esc(chart.title)}</title>"]
    if not xs or not ys:
        parts.append(f'<text x="{left}" y="{top + 20}">暂无数据 / no data</text></svg>')
        return "".join(parts)
    ticks = _nice_ticks(min(ys), max(ys))
    y_low, y_high = ticks[0], ticks[-1]
    x_low, x_high = xs[0], xs[-1]
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (plot_w / 2 if x_high == x_low else (x - x_low) / (x_high - x_low) * plot_w)

    def py(y: float) -> float:
        return top + (1 - (y - y_low) / (y_high - y_low)) * plot_h

    for tick in ticks:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{py(tick) + 4:.1f}" text-anchor="end">{esc(_format_tick(tick, ticks))}</text>')
    for x in xs:
        parts.append(f'<text x="{px(x):.1f}" y="{height - bottom + 16}" text-anchor="middle">{esc(f"{x:g}")}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}" stroke="#444"/>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" stroke="#444"/>')
    parts.append(f'<text transform="translate(14 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">{esc(chart.y_label)}</text>')
    for i, series in enumerate(chart.series):
        colour, dash = LINE_COLOURS[i % len(LINE_COLOURS)], DASHES[i % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        # A missing value breaks the line rather than being bridged: nothing is interpolated.
        runs, run = [], []
        for x, y in sorted(series.points):
            if y is None or not math.isfinite(y):
                if run:
                    runs.append(run)
                run = []
            else:
                run.append((px(x), py(y)))
        if run:
            runs.append(run)
        for run in runs:
            points = " ".join(f"{a:.1f},{b:.1f}" for a, b in run)
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} points="{points}"/>')
            parts += [f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colour}"/>' for a, b in run]
        ly = height + 4 + 18 * i
        parts.append(f'<line x1="{left}" x2="{left + 28}" y1="{ly + 6}" y2="{ly + 6}" stroke="{colour}" stroke-width="2"{dash_attr}/>')
        parts.append(f'<text x="{left + 36}" y="{ly + 10}">{esc(series.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei","PingFang SC",sans-serif;margin:24px auto;max-width:980px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0}h1+p.en{margin:2px 0 12px;color:#555}h2{font-size:17px;margin:24px 0 6px}
figure{margin:12px 0}figcaption{color:#555;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}caption{text-align:left;font-weight:bold;padding:4px 0}
footer{margin-top:24px;font-size:12px;color:#555}
"""


def render_series_page(page: SeriesPage) -> str:
    """The complete HTML of ``page``: self-contained, escaped, no external requests."""
    out = ['<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
           f"<title>{esc(page.title_zh)} / {esc(page.title_en)}</title>",
           f"<style>{_CSS}</style></head><body>",
           f"<h1>{esc(page.title_zh)}</h1><p class=\"en\">{esc(page.title_en)}</p>"]
    if page.description:
        out.append(f"<p>{esc(page.description)}</p>")
    for chart in page.charts:
        out.append(f"<h2>{esc(chart.title)}</h2><figure>{line_chart_svg(chart)}")
        if chart.note:
            out.append(f"<figcaption>{esc(chart.note)}</figcaption>")
        out.append("</figure>")
    for table in page.tables:
        out.append(f"<table><caption>{esc(table.caption)}</caption><thead><tr>")
        out += [f"<th>{esc(h)}</th>" for h in table.header]
        out.append("</tr></thead><tbody>")
        for row in table.rows:
            out.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>")
        out.append("</tbody></table>")
    out.append("<footer>")
    out += [f"<p>{esc(note)}</p>" for note in page.notes]
    if page.sources:
        out.append("<p>数据来源 Data: " + "<br>".join(esc(s) for s in page.sources) + "</p>")
    out.append("</footer></body></html>")
    return "".join(out)
