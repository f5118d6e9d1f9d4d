"""One print figure of one view of a map spec, drawn with matplotlib (imported only here).

The figure shows what the spec's page shows when it opens, without the page's controls: the
units in the page's classes and colours (:func:`gis.maps.classify.classify_view`, the code path
the pages use), units without a value grey and hatched, the outline overlays the page shows,
prefecture (or province) borders, and — where the frame is the country, 广东 or 海南 — the
China map standard of :mod:`gis.maps.china`: mainland frame, maritime line, 南海诸岛 inset, and
钓鱼岛 and 赤尾屿 marked. Around the map: title, legend (class ranges with the unit), scale bar,
north arrow, unit names placed where they do not overlap, the source line, the projection and
the 示意图 / 审图号 note.

Sizes are millimetres of paper and points of type; geometries are projected to an Albers
equal-area conic (:mod:`gis.figures.projection`), metres. Legend, north arrow and scale bar go
into the corners of the map where they cover the least land of the units; when every corner
would cover land, the legend moves beside the map.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea, HPacker, TextArea, VPacker
from matplotlib.patches import Polygon, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.text import Text

from gis._files import atomic_path
from gis.colours import NO_DATA_FILL, NO_DATA_HATCH
from gis.errors import GisError
from gis.figures.fonts import cjk_font
from gis.figures.projection import FigureCRS, china_albers, fitted_albers
from gis.maps import china
from gis.maps.classify import ClassedView, classify_view, has_values, layer_frame, resolve_columns, sources_of
from gis.maps.geometry import dissolve, simplify_coverage, tolerance_for
from gis.maps.numbers import NO_DATA_EN, NO_DATA_ZH, unit_labels
from gis.maps.spec import MapSpec

#: Formats a figure is written in, by file suffix.
FORMATS = (".png", ".svg", ".pdf")
#: Figures of at most this many units get unit names by default (``labels = "auto"``).
AUTO_LABEL_UNITS = 150
MM = 1 / 25.4  # inches per millimetre
MARGIN_MM = 4.0
#: The parent whose borders are drawn over a layer's units, and the column naming it.
_PARENTS = {"counties": "prefecture_adcode", "prefectures": "province_adcode"}


@dataclass
class DrawnFigure:
    """A drawn figure, ready to be written as PNG, SVG or PDF (:meth:`save`)."""

    figure: Figure
    title: str
    crs: FigureCRS
    dpi: int
    rc: dict

    def save(self, path: str | Path) -> Path:
        """Write the figure to ``path`` (format from its suffix) atomically; the CRS goes into the
        file's metadata (PNG text chunk, PDF Subject and Keywords, SVG Description)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in FORMATS:
            raise GisError(f"{path}: a figure is .png, .svg or .pdf")
        crs = f"CRS: {self.crs.metadata()}"
        software = f"gis-urban-rural {version('gis-urban-rural')} (matplotlib {matplotlib.__version__})"
        metadata = {
            ".png": {"Title": self.title, "Software": software, "CRS": self.crs.metadata(), "Description": crs},
            ".pdf": {"Title": self.title, "Subject": crs, "Keywords": self.crs.proj, "Creator": software,
                     "CreationDate": None},
            ".svg": {"Title": self.title, "Description": crs, "Creator": software, "Date": None},
        }[suffix]
        with matplotlib.rc_context(self.rc), atomic_path(path) as temporary:
            self.figure.savefig(temporary, format=suffix[1:], dpi=self.dpi, metadata=metadata, facecolor="white")
        return path


# --------------------------------------------------------------------------- text


def _text(zh: str, en: str, language: str, joiner: str = "\n") -> str:
    if language == "zh" or zh == en or not en:
        return zh if language != "en" or not en else en
    return en if language == "en" else f"{zh}{joiner}{en}"


def _wrap(text: str, width_mm: float, size_pt: float) -> str:
    """``text`` broken into lines of at most ``width_mm`` at ``size_pt``: CJK characters are
    about 1 em wide, others about 0.55 em."""
    em_mm = size_pt / 72 * 25.4
    lines = []
    for paragraph in text.split("\n"):
        line, width = "", 0.0
        for char in paragraph:
            step = em_mm if ord(char) > 0x2E80 else 0.55 * em_mm
            if width + step > width_mm and line:
                cut = line.rfind(" ") if " " in line[len(line) // 2:] else -1
                head, line = (line[:cut], line[cut + 1:]) if cut > 0 else (line, "")
                lines.append(head.rstrip())
                width = sum(em_mm if ord(c) > 0x2E80 else 0.55 * em_mm for c in line)
            line += char
            width += step
        lines.append(line)
    return "\n".join(lines)


def _luminance(colour: str) -> float:
    red, green, blue = (int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


# --------------------------------------------------------------------------- geometry


def _paths(geometries: np.ndarray) -> list[MplPath | None]:
    """One compound matplotlib path per polygonal geometry (holes included, shells
    anticlockwise and holes clockwise, so any fill rule fills them right); None if empty."""
    geometries = np.asarray(geometries, dtype=object)
    result: list[MplPath | None] = [None] * len(geometries)
    present = ~shapely.is_missing(geometries) & ~shapely.is_empty(geometries)
    if not present.any():
        return result
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1
        oriented = shapely.orient_polygons(geometries[present])
    else:
        from shapely.geometry.polygon import orient

        oriented = np.asarray([orient(g) if g.geom_type == "Polygon" else shapely.multipolygons([orient(p) for p in g.geoms])
                               for g in geometries[present]], dtype=object)
    parts, owner = shapely.get_parts(oriented, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coordinates, ring_of = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coordinates), MplPath.LINETO, dtype=np.uint8)
    starts = np.r_[True, ring_of[1:] != ring_of[:-1]]
    codes[starts] = MplPath.MOVETO
    codes[np.r_[starts[1:], True]] = MplPath.CLOSEPOLY
    coordinate_owner = owner[ring_part[ring_of]]
    ends = np.cumsum(np.bincount(coordinate_owner, minlength=int(present.sum())))
    begins = np.r_[0, ends[:-1]]
    for index, begin, end in zip(np.flatnonzero(present), begins, ends):
        if end > begin:
            result[index] = MplPath(coordinates[begin:end], codes[begin:end])
    return result


def _segments(lines) -> list[np.ndarray]:
    """Coordinate arrays of every line part of ``lines`` (lines or polygon boundaries)."""
    lines = np.asarray([g for g in np.atleast_1d(np.asarray(lines, dtype=object)) if g is not None], dtype=object)
    if not len(lines):
        return []
    parts = shapely.get_parts(shapely.get_parts(lines))
    parts = parts[~shapely.is_empty(parts)]
    coordinates, index = shapely.get_coordinates(parts, return_index=True)
    return np.split(coordinates, np.flatnonzero(np.diff(index)) + 1) if len(coordinates) else []


def _borders(geometries: np.ndarray, groups: pd.Series | None):
    """Boundaries of the units dissolved by ``groups`` (the parents' borders; the outline of
    the whole for None), from the same simplified coverage, so they lie on the units' edges."""
    if groups is None:
        whole = dissolve(geometries)
        return [] if whole is None else [shapely.boundary(whole)]
    found = []
    for _, members in pd.Series(np.arange(len(geometries))).groupby(groups.to_numpy(), sort=False):
        merged = dissolve(geometries[members.to_numpy()])
        if merged is not None:
            found.append(shapely.boundary(merged))
    return found


# --------------------------------------------------------------------------- the figure


@dataclass(frozen=True)
class _Style:
    """Type sizes (pt) and line widths (pt), scaled with the figure's width."""

    scale: float

    def pt(self, value: float) -> float:
        return value * self.scale


def choose_year(classed: ClassedView, year: int | None) -> int:
    """Index into ``classed.years`` of ``year``; default the view's initial year, else its last.

    Raises :class:`GisError` naming the years there are for a year the view does not have."""
    years = classed.years
    if year is None:
        initial = classed.view.initial_year
        return years.index(initial) if initial in years else len(years) - 1
    if year not in years:
        have = ", ".join(str(y) for y in years if y is not None) or "none (the view has one value per unit)"
        raise GisError(f"year {year}: view {classed.view.label_zh!r} has no values for it; its years: {have}")
    return years.index(year)


def draw_figure(spec: MapSpec, layers, view_index: int, year: int | None = None, standard: bool = False,
                national: bool = False) -> DrawnFigure:
    """Draw view ``view_index`` of ``spec`` on ``layers`` (EPSG:4326 frames, as a build makes
    them) at ``year`` (None: the spec's ``[figure] year``, else the page's initial year) with the spec's ``[figure]`` settings.

    ``standard``: the frame follows the China map standard (inset, maritime line, named
    islands); ``national``: the frame covers several provinces (China's Albers, else one fitted
    to the frame). Raises :class:`gis.maps.classify.MapSkipped` when the layer or the view's
    columns are missing, :class:`GisError` for a year the view lacks."""
    settings = spec.figure
    frame = layer_frame(spec, layers)
    view = spec.views[view_index]
    columns = resolve_columns(view, frame, spec)
    classed = classify_view(view, columns, frame)
    year_index = choose_year(classed, year if year is not None else settings.year)
    shown_year = classed.years[year_index]
    rc = {
        "font.family": [cjk_font()], "pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
        "axes.unicode_minus": False, "lines.scale_dashes": False, "svg.hashsalt": "gis-figure",
        "hatch.linewidth": 0.35 * settings.width_mm / 170,
    }
    if "text.language" in matplotlib.rcParams:  # matplotlib >= 3.11 shapes text with libraqm
        # One glyph per character: digits shaped in a CJK run and in a Latin one, or "fi" as a
        # ligature, would otherwise be second glyphs, and every such set is one more font subset
        # the PDF embeds (each costs a pass of fontTools over the whole CJK font, ~0.5 s).
        rc["text.language"] = "zh-Hans"
    with matplotlib.rc_context(rc):
        figure = _Figure(spec, frame, layers, classed, year_index, shown_year, standard, national).draw()
        if hasattr(Text, "set_fontfeatures"):
            for text in figure.figure.findobj(Text):
                text.set_fontfeatures(("-liga", "-clig"))
    title = _text(spec.title_zh, spec.title_en, settings.language, " / ")
    return DrawnFigure(figure.figure, title, figure.crs, settings.dpi, rc)


class _Figure:
    """The drawing of one figure: layout, map, legend and furniture (see the module notes)."""

    def __init__(self, spec, frame, layers, classed, year_index, shown_year, standard, national):
        self.spec, self.frame, self.layers, self.classed = spec, frame, layers, classed
        self.settings = spec.figure
        self.language = self.settings.language
        self.year_index, self.shown_year = year_index, shown_year
        self.standard = standard
        self.style = _Style(float(np.clip(self.settings.width_mm / 170, 0.5, 4.0)))
        source = frame.geometry.to_numpy()
        # The pages' simplification (and its cache): finer than a printed line at 170 mm.
        self.degrees = simplify_coverage(source, tolerance_for(source)[0])
        parts = shapely.get_parts(self.degrees)
        if standard:  # the mainland frame: islands wholly south of it are in the inset
            parts = parts[shapely.bounds(parts)[:, 3] >= china.config()["mainland_south"]]
        west, south, east, north = shapely.total_bounds(parts)
        self.crs = china_albers() if national else fitted_albers(west, south, east, north)
        self.units = self.crs.project(self.degrees)
        self.frame_bounds = shapely.total_bounds(self.crs.project(parts))
        self.tree = shapely.STRtree(self.units)

    # ----------------------------------------------------------------- layout

    def draw(self) -> _Figure:
        s = self.style
        width = self.settings.width_mm
        title = self._title_text()
        bottom = self._bottom_text(width - 2 * MARGIN_MM)
        title_lines, bottom_lines = title[0].count("\n") + 1 + (title[1].count("\n") + 1 if title[1] else 0), bottom.count("\n") + 1
        self.top_mm = MARGIN_MM + title_lines * s.pt(11) * 1.35 / 72 * 25.4 + 2
        self.bottom_mm = MARGIN_MM + bottom_lines * s.pt(5.5) * 1.3 / 72 * 25.4 + 2
        self.figure = Figure(figsize=(width * MM, 100 * MM), dpi=self.settings.dpi)
        FigureCanvasAgg(self.figure)  # a renderer, to measure text
        self.ax = self.figure.add_axes((0, 0, 1, 1))
        legend = self._legend()
        legend_mm = self._size_mm(legend)
        # The legend, north arrow and scale bar in corners that hide no land, the inset (lower
        # right) too: the frame is widened towards a corner that would (sea, neighbours) up to
        # a third; failing that the legend goes beside the map, and last the furniture takes the
        # corners that hide least.
        pads, side, force = [0.0, 0.0], False, False
        for _ in range(24):
            self._layout(legend_mm if side else None, pads)
            inset_clear = not self.standard or self._inset_clear()
            places, failed = self._furniture_corners(None if side else legend_mm, force)
            if inset_clear and failed is None:
                break
            if not inset_clear:
                pads[1] += 0.04
            if failed is not None:
                pads[0 if "left" in failed else 1] += 0.04
            if max(pads) > 0.34:
                if not side:
                    side, pads = True, [0.0, 0.0]
                else:
                    force = True
        self._map()
        if "legend" in places:
            self._place(legend, places["legend"])
        else:  # beside the map, top aligned
            legend.loc = 2  # upper left
            legend.set_bbox_to_anchor((1.0, 1.0), transform=self.ax.transAxes)
            legend.borderpad = 0.0
            self.ax.add_artist(self._frame_off(legend))
        self._north_arrow(places["north"])
        self._scale_bar(places["scale"])
        sizes = {"legend": legend_mm, "north": self._north_mm(), "scale": self._scale_mm()[2]}
        self.reserved = [self._corner_box(corner, sizes[name]) for name, corner in places.items()]
        self._figure_text(title, bottom)
        if self._labels_wanted():
            self._labels()
        return self

    def _layout(self, legend_mm: tuple[float, float] | None, pads=(0.0, 0.0)) -> None:
        """Figure height and the map's box (mm): from the frame's aspect unless the spec sets a
        height; ``legend_mm`` beside the map when given; the frame widened by ``pads`` (shares of
        its width) to the west and east."""
        if getattr(self, "ax", None) is not None and self.ax.figure is not None:
            self.ax.remove()
        width = self.settings.width_mm
        side = legend_mm[0] + 3 if legend_mm else 0.0
        map_w = width - 2 * MARGIN_MM - side
        if map_w < 20:
            raise GisError(f"{self.spec.path}: key 'figure.width_mm': {width:g} mm leaves no room for the map beside its legend")
        west, south, east, north = self.frame_bounds
        west, east = west - pads[0] * (east - west), east + pads[1] * (east - west)
        aspect = (north - south) / max(east - west, 1.0) * 1.04
        if self.settings.height_mm is not None:
            height = self.settings.height_mm
            map_h = height - self.top_mm - self.bottom_mm
            if map_h < 20:
                raise GisError(f"{self.spec.path}: key 'figure.height_mm': {height:g} mm leaves no room for the map")
        else:
            map_h = min(map_w * aspect, 1.3 * width)
            if legend_mm:
                map_h = max(map_h, legend_mm[1])
            height = self.top_mm + map_h + self.bottom_mm
        self.height_mm = height
        # Whole pixels at the figure's dpi, rounded (matplotlib truncates): 170 mm at 300 dpi is 2008 px.
        dpi = self.settings.dpi
        self.figure.set_size_inches((round(width * MM * dpi) + 1e-3) / dpi, (round(height * MM * dpi) + 1e-3) / dpi)
        self.ax_mm = (MARGIN_MM, self.bottom_mm, map_w, map_h)
        x, y, w, h = self.ax_mm
        self.ax = self.figure.add_axes((x / width, y / height, w / width, h / height))
        self.ax.set_xticks([])
        self.ax.set_yticks([])
        for spine in self.ax.spines.values():
            spine.set_linewidth(self.style.pt(0.5))
            spine.set_color("#333333")
        # Limits: the frame with a small margin, widened to the box's shape (equal scales).
        cx, cy = (west + east) / 2, (south + north) / 2
        span_x, span_y = (east - west) * 1.04, (north - south) * 1.04
        if span_y / span_x > h / w:
            span_x = span_y * w / h
        else:
            span_y = span_x * h / w
        self.ax.set_xlim(cx - span_x / 2, cx + span_x / 2)
        self.ax.set_ylim(cy - span_y / 2, cy + span_y / 2)
        self.m_per_mm = span_x / w

    def _corner_box(self, corner: str, size_mm: tuple[float, float], pad_mm: float = 1.5):
        """The rectangle (data coordinates) of something ``size_mm`` in ``corner`` of the map."""
        x0, x1 = self.ax.get_xlim()
        y0, y1 = self.ax.get_ylim()
        w, h = (size_mm[0] + pad_mm) * self.m_per_mm, (size_mm[1] + pad_mm) * self.m_per_mm
        left = x0 if "left" in corner else x1 - w
        low = y0 if "lower" in corner else y1 - h
        return shapely.box(left, low, left + w, low + h)

    def _hidden(self, box) -> tuple[float, float]:
        """What ``box`` would hide: the largest share of one unit's area, and the share of the
        box that is the units' land."""
        hits = self.tree.query(box)
        if not len(hits):
            return 0.0, 0.0
        units = self.units[hits]
        covered = shapely.area(shapely.intersection(units, box))
        return float((covered / np.maximum(shapely.area(units), 1e-9)).max()), float(covered.sum() / box.area)

    def _inset_clear(self) -> bool:
        """True when the inset hides no land of the units, nor 钓鱼岛 and 赤尾屿 and their names."""
        box = self._corner_box("lower right", self._inset_mm(), 0.0)
        if max(self._hidden(box)) > 0.002:
            return False
        islands = china.config().get("named_islands", [])
        points = self.crs.project(shapely.points([[i["lon"], i["lat"]] for i in islands])) if islands else []
        return not any(box.intersects(shapely.buffer(point, 8 * self.style.scale * self.m_per_mm)) for point in points)

    def _inset_mm(self) -> tuple[float, float]:
        """Width and height (mm) of the 南海诸岛 inset: a fifth of the map's width (at least
        22 mm), its height from the inset's box in the map's projection."""
        settings = china.config()["inset"]
        box = shapely.segmentize(shapely.box(settings["west"], settings["south"], settings["east"], settings["north"]), 0.5)
        west, south, east, north = shapely.total_bounds(self.crs.project(np.asarray([box], dtype=object)))
        width = max(22.0, 0.2 * self.ax_mm[2]) * min(self.style.scale, 1.6)
        return width, width * (north - south) / (east - west)

    def _furniture_corners(self, legend_mm, force: bool) -> tuple[dict[str, str], str | None]:
        """Corners of the legend (unless ``legend_mm`` is None: beside the map), north arrow and
        scale bar, each where it hides no land, or ``(found, the least bad corner of the first
        that has none)``; with ``force`` the least bad corners."""
        used = {"lower right"} if self.standard else set()
        places: dict[str, str] = {}
        items = [("legend", legend_mm, ("lower left", "upper left", "upper right", "lower right"))] if legend_mm else []
        items += [("north", self._north_mm(), ("upper right", "upper left", "lower left", "lower right")),
                  ("scale", self._scale_mm()[2], ("lower left", "lower right", "upper left", "upper right"))]
        for name, size, order in items:
            corner = self._best_corner(size, order, used, force)
            if corner is None:
                return places, self._best_corner(size, order, used, force=True)
            places[name] = corner
            used.add(corner)
        return places, None

    def _north_mm(self) -> tuple[float, float]:
        return 7 * self.style.scale, 11 * self.style.scale

    def _scale_mm(self) -> tuple[float, float, tuple[float, float]]:
        """The scale bar: its length in km (1, 2 or 5 × 10ⁿ, about a quarter of the map's
        width), that length in mm of paper, and the size (mm) of the bar with its labels."""
        target_km = self.ax_mm[2] * 0.25 * self.m_per_mm / 1000
        magnitude = 10 ** np.floor(np.log10(target_km))
        length_km = max(m * magnitude for m in (1, 2, 5) if m * magnitude <= target_km)
        length_mm = length_km * 1000 / self.m_per_mm
        return length_km, length_mm, (length_mm + 6, 8 * self.style.scale)

    def _best_corner(self, size_mm, order, used=(), force=False):
        """The free corner (in ``order`` of preference) where ``size_mm`` hides least of any unit;
        None when even there it would hide more than 5 % of one (unless ``force``)."""
        free = [c for c in order if c not in used]
        if self.standard and "lower right" in free:  # the inset's
            free.remove("lower right")
        if not free:
            return None
        hidden = [self._hidden(self._corner_box(c, size_mm)) for c in free]
        score = np.asarray([unit + land for unit, land in hidden]) + np.arange(len(free)) * 1e-3
        best = int(np.argmin(score))
        clear = hidden[best][0] <= 0.05 and hidden[best][1] <= 0.02
        return free[best] if force or clear else None

    def _size_mm(self, artist) -> tuple[float, float]:
        self.ax.add_artist(artist)
        box = artist.get_window_extent(self.figure.canvas.get_renderer())
        artist.remove()
        return box.width / self.settings.dpi * 25.4, box.height / self.settings.dpi * 25.4

    # ----------------------------------------------------------------- map

    def _map(self) -> None:
        s, ax = self.style, self.ax
        classes = np.asarray([row[self.year_index] for row in self.classed.classes], dtype=int).reshape(-1)
        paths = _paths(self.units)
        colours = self.classed.colours
        edge = s.pt(0.5 if self.spec.layer == "prefectures" else 0.25)
        drawn = [i for i, p in enumerate(paths) if p is not None and classes[i] >= 0]
        missing = [i for i, p in enumerate(paths) if p is not None and classes[i] < 0]
        ax.add_collection(PathCollection([paths[i] for i in drawn], facecolors=[colours[classes[i]] for i in drawn],
                                         edgecolors="white", linewidths=edge, zorder=2))
        if missing:
            ax.add_collection(PathCollection([paths[i] for i in missing], facecolors=NO_DATA_FILL, hatch="//////",
                                             hatchcolor=NO_DATA_HATCH, edgecolors="white", linewidths=edge, zorder=2))
        parent = _PARENTS.get(self.spec.layer)
        if parent in self.frame.columns and self.frame[parent].nunique() > 1:
            self._lines(_borders(self.units, self.frame[parent]), "#4d4d4d", s.pt(0.45), 3)
        self._lines(_borders(self.units, None), "#262626", s.pt(0.7), 3)
        for overlay in self.spec.overlays:
            if overlay.where is None or not overlay.show or not has_values(self.frame, overlay.requires):
                continue  # grids and overlays the page opens hidden are left out of print
            if overlay.where not in self.frame.columns:
                continue
            members = self.frame[overlay.where].fillna(False).astype(bool).to_numpy()
            outline = dissolve(self.units[members])
            if outline is None:
                continue
            dashes = None if overlay.dash is None else tuple(float(d) * 0.5 * s.scale for d in overlay.dash.split())
            self._lines([shapely.boundary(outline)], overlay.color, s.pt(overlay.weight * 0.4), 4, dashes)
        if self.standard:
            line = china.config()["maritime_line"]
            self._lines(self.crs.project(np.asarray([china.maritime_line()], dtype=object)), line["color"],
                        s.pt(line["weight"] * 0.4), 4)
            self._named_islands()
            self._inset()

    def _lines(self, geometries, colour, width, zorder, dashes=None, ax=None) -> None:
        segments = _segments(geometries)
        if segments:
            collection = LineCollection(segments, colors=colour, linewidths=width, zorder=zorder, capstyle="round",
                                        joinstyle="round")
            if dashes:
                collection.set_linestyle((0, dashes))
            (ax or self.ax).add_collection(collection)

    def _named_islands(self) -> None:
        s = self.style
        islands = china.config().get("named_islands", [])
        if not islands:
            return
        points = self.crs.project(shapely.points([[i["lon"], i["lat"]] for i in islands]))
        x0, x1 = self.ax.get_xlim()
        for island, point in zip(islands, points):
            if not x0 <= point.x <= x1:
                continue
            self.ax.plot([point.x], [point.y], "o", ms=s.pt(1.2), color="#262626", zorder=5)
            self.ax.annotate(_text(island["label_zh"], island["label_en"], self.language, " "), (point.x, point.y),
                             xytext=(s.pt(2), s.pt(1) if island["lat"] > 25.8 else -s.pt(4)), textcoords="offset points",
                             fontsize=s.pt(4.5), color="#262626", zorder=5)

    def _inset(self) -> None:
        """南海诸岛 in the lower right of the map, in the map's projection."""
        s, settings = self.style, china.config()["inset"]
        box = shapely.segmentize(shapely.box(settings["west"], settings["south"], settings["east"], settings["north"]), 0.5)
        west, south, east, north = shapely.total_bounds(self.crs.project(np.asarray([box], dtype=object)))
        x, y, w, h = self.ax_mm
        inset_w, inset_h = self._inset_mm()
        fw, fh = self.settings.width_mm, self.height_mm
        inset = self.figure.add_axes(((x + w - inset_w) / fw, y / fh, inset_w / fw, inset_h / fh), zorder=6)
        inset.set_gid("south-china-sea-inset")
        inset.set_xlim(west, east)
        inset.set_ylim(south, north)
        inset.set_xticks([])
        inset.set_yticks([])
        inset.set_facecolor("white")
        for spine in inset.spines.values():
            spine.set_linewidth(s.pt(0.5))
            spine.set_color("#333333")
        neighbours = self.crs.project(china._neighbours())
        inset.add_collection(PathCollection([p for p in _paths(neighbours) if p is not None], facecolors=settings["neighbour_fill"],
                                            edgecolors="#bdbdbd", linewidths=s.pt(0.2)))
        land = self.crs.project(np.asarray([shapely.simplify(china.inset_land(), 0.02)], dtype=object))
        inset.add_collection(PathCollection([p for p in _paths(land) if p is not None], facecolors=settings["land"],
                                            edgecolors=settings["land_edge"], linewidths=s.pt(0.2)))
        islands = self.crs.project(china.inset_islands())
        inset.add_collection(PathCollection([p for p in _paths(islands) if p is not None], facecolors=settings["island"],
                                            edgecolors=settings["island"], linewidths=s.pt(0.2)))
        dots = shapely.get_coordinates(shapely.point_on_surface(islands))  # islets far under a printed dot
        inset.plot(dots[:, 0], dots[:, 1], "o", ms=s.pt(0.6), mew=0, color=settings["island"])
        line = china.config()["maritime_line"]
        self._lines(self.crs.project(np.asarray([china.maritime_line()], dtype=object)), line["color"],
                    s.pt(line["weight"] * 0.3), 4, ax=inset)
        inset.text(0.96, 0.03, _text(settings["label_zh"], settings["label_en"], self.language, " "), transform=inset.transAxes,
                   ha="right", va="bottom", fontsize=s.pt(5.5), color="#262626")
        self.inset_mm = (inset_w, inset_h)

    # ----------------------------------------------------------------- legend

    def _legend(self) -> AnchoredOffsetbox:
        s, cv, language = self.style, self.classed, self.language
        view = cv.view
        unit_zh, unit_en = unit_labels(view.unit)
        title_zh = f"{view.label_zh}（{unit_zh}）" if unit_zh else view.label_zh
        title_en = f"{view.label_en} ({unit_en})" if unit_en else view.label_en
        size = s.pt(6.5)
        rows = [TextArea(line, textprops={"fontsize": s.pt(7.5), "color": "#1a1a1a"})
                for line in _text(title_zh, title_en, language).split("\n")]
        if self.shown_year is not None:
            rows.append(TextArea(_text(f"{self.shown_year}年", f"Year {self.shown_year}", language, " "),
                                 textprops={"fontsize": size}))
        missing = bool((np.asarray([row[self.year_index] for row in cv.classes]) < 0).any()) if cv.classes else False
        swatch_w, swatch_h = s.pt(14), s.pt(8)

        def swatch(**style) -> DrawingArea:
            area = DrawingArea(swatch_w, swatch_h)
            area.add_artist(Rectangle((0, 0), swatch_w, swatch_h, linewidth=s.pt(0.4), edgecolor="#8c8c8c", **style))
            return area

        def line(colour, width, dashes=None) -> DrawingArea:
            area = DrawingArea(swatch_w, swatch_h)
            artist = Line2D([0, swatch_w], [swatch_h / 2] * 2, color=colour, linewidth=width)
            if dashes:
                artist.set_dashes(dashes)
            area.add_artist(artist)
            return area

        def row(mark, label) -> HPacker:
            return HPacker(children=[mark, TextArea(label, textprops={"fontsize": size})], align="center", pad=0, sep=s.pt(4))

        for colour, (zh, en) in zip(cv.colours, cv.labels):
            rows.append(row(swatch(facecolor=colour), _text(zh, en, language, " ")))
        if missing:
            rows.append(row(swatch(facecolor=NO_DATA_FILL, hatch="//////", hatchcolor=NO_DATA_HATCH),
                            _text(NO_DATA_ZH, NO_DATA_EN, language, " ")))
        for overlay in self.spec.overlays:
            if overlay.where is not None and overlay.show and has_values(self.frame, overlay.requires) \
                    and overlay.where in self.frame.columns and self.frame[overlay.where].fillna(False).astype(bool).any():
                dashes = None if overlay.dash is None else [float(d) * 0.5 * s.scale for d in overlay.dash.split()]
                rows.append(row(line(overlay.color, s.pt(overlay.weight * 0.4), dashes),
                                _text(overlay.label_zh, overlay.label_en, language, " ")))
        if self.standard:
            maritime = china.config()["maritime_line"]
            rows.append(row(line(maritime["color"], s.pt(maritime["weight"] * 0.4)),
                            _text(maritime["label_zh"], maritime["label_en"], language, " ")))
        box = VPacker(children=rows, align="left", pad=0, sep=s.pt(2.5))
        legend = AnchoredOffsetbox(loc="upper left", child=box, pad=0.4, borderpad=0.0, frameon=True)
        legend.patch.set_facecolor("white")
        legend.patch.set_alpha(0.92)
        legend.patch.set_edgecolor("#bdbdbd")
        legend.patch.set_linewidth(s.pt(0.4))
        legend.set_zorder(7)
        legend.set_gid("legend")
        return legend

    @staticmethod
    def _frame_off(legend: AnchoredOffsetbox) -> AnchoredOffsetbox:
        legend.patch.set_visible(False)
        legend.set_clip_on(False)
        return legend

    def _place(self, artist: AnchoredOffsetbox, corner: str) -> None:
        artist.loc = {"upper right": 1, "upper left": 2, "lower left": 3, "lower right": 4}[corner]
        artist.borderpad = 1.5 / (artist.prop.get_size_in_points() / 72 * 25.4)  # 1.5 mm from the frame
        self.ax.add_artist(artist)

    # ----------------------------------------------------------------- furniture

    def _corner_point(self, corner: str, size_mm, pad_mm: float = 1.5) -> tuple[float, float]:
        """Lower-left corner (mm from the map's lower-left) of something ``size_mm`` in ``corner``."""
        w, h = self.ax_mm[2:]
        x = pad_mm if "left" in corner else w - pad_mm - size_mm[0]
        y = pad_mm if "lower" in corner else h - pad_mm - size_mm[1]
        return x, y

    def _mm_to_data(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        x0, y0 = self.ax.get_xlim()[0], self.ax.get_ylim()[0]
        return x0 + x_mm * self.m_per_mm, y0 + y_mm * self.m_per_mm

    def _north_arrow(self, corner: str) -> None:
        s = self.style
        size = self._north_mm()
        x, y = self._corner_point(corner, size)
        cx = x + size[0] / 2
        tip, base, half = y + size[1] - 4 * s.scale, y + 1, 2.2 * s.scale
        left = [self._mm_to_data(*p) for p in ((cx, tip), (cx - half, base), (cx, base + 1.6 * s.scale))]
        right = [self._mm_to_data(*p) for p in ((cx, tip), (cx + half, base), (cx, base + 1.6 * s.scale))]
        self.ax.add_patch(Polygon(left, closed=True, facecolor="#262626", edgecolor="#262626", linewidth=s.pt(0.4), zorder=7))
        self.ax.add_patch(Polygon(right, closed=True, facecolor="white", edgecolor="#262626", linewidth=s.pt(0.4), zorder=7))
        tx, ty = self._mm_to_data(cx, tip + 0.6)
        self.ax.text(tx, ty, "北" if self.language == "zh" else "N", ha="center", va="bottom", fontsize=s.pt(7),
                     color="#262626", zorder=7)

    def _scale_bar(self, corner: str) -> None:
        s = self.style
        length_km, length_mm, size = self._scale_mm()
        x, y = self._corner_point(corner, size)
        x += 1.5
        bar_h = 1.1 * s.scale
        base = y + 4 * s.scale
        for i in range(4):
            x0, y0 = self._mm_to_data(x + i * length_mm / 4, base)
            self.ax.add_patch(Rectangle((x0, y0), length_mm / 4 * self.m_per_mm, bar_h * self.m_per_mm,
                                        facecolor="#262626" if i % 2 == 0 else "white", edgecolor="#262626",
                                        linewidth=s.pt(0.4), zorder=7))
        for fraction, text in ((0, "0"), (0.5, f"{length_km / 2:g}"), (1, f"{length_km:g} km")):
            tx, ty = self._mm_to_data(x + fraction * length_mm, base - 0.4)
            self.ax.text(tx, ty, text, ha="center", va="top",
                         fontsize=s.pt(5.5), color="#262626", zorder=7)

    # ----------------------------------------------------------------- text

    def _title_text(self) -> tuple[str, str]:
        s, width = self.style, self.settings.width_mm - 2 * MARGIN_MM
        if self.language == "en":
            return _wrap(self.spec.title_en, width, s.pt(11)), ""
        second = _wrap(self.spec.title_en, width, s.pt(7)) if self.language == "both" else ""
        return _wrap(self.spec.title_zh, width, s.pt(11)), second

    def _bottom_text(self, width_mm: float) -> str:
        spec, language = self.spec, self.language
        used = [c for c in resolve_columns(self.classed.view, self.frame, spec).values()]
        data = sources_of(self.layers.get("sources"), spec.layer, used)
        parts_zh = (["数据来源：" + "；".join(data)] if data else []) + ([spec.source_zh] if spec.source_zh else [])
        parts_en = (["Data: " + "; ".join(data)] if data else []) + ([spec.source_en] if spec.source_en else [])
        source = _text("；".join(parts_zh), "; ".join(parts_en), language)
        # The legend notes of the page (scheme, weights, rules) go under the map: print legends stay small.
        notes = self.classed.notes
        note = _text("注：" + "；".join(n.zh for n in notes), "Note: " + "; ".join(n.en for n in notes), language) if notes else ""
        projection = _text(f"投影：{self.crs.name_zh}", f"Projection: {self.crs.name_en}", language)
        footer = _text(*china.footer_text(spec.review_number), language)
        size = self.style.pt(5.5)
        return "\n".join(_wrap(t, width_mm, size) for t in (note, source, projection, footer) if t)

    def _figure_text(self, title: tuple[str, str], bottom: str) -> None:
        s = self.style
        y = self.height_mm - MARGIN_MM
        y = self._text_lines(y, title[0], s.pt(11), "#1a1a1a", "title")
        if title[1]:
            self._text_lines(y, title[1], s.pt(7), "#404040", "title-en")
        self._text_lines(self.bottom_mm - 1.5, bottom, s.pt(5.5), "#404040", "source")

    def _text_lines(self, top_mm: float, text: str, size: float, colour: str, gid: str) -> float:
        """``text`` from ``top_mm`` (above the figure's bottom) down, one Text per line (matplotlib
        shapes multi-line text without its language and features); returns where it ends."""
        fw, fh = self.settings.width_mm, self.height_mm
        step = size * 1.3 / 72 * 25.4
        for i, line in enumerate(text.split("\n")):
            self.figure.text(MARGIN_MM / fw, (top_mm - i * step) / fh, line, ha="left", va="top", fontsize=size,
                             color=colour).set_gid(f"{gid}-{i}")
        return top_mm - (text.count("\n") + 1) * step

    # ----------------------------------------------------------------- labels

    def _labels_wanted(self) -> bool:
        labels = self.settings.labels
        return (len(self.frame) <= AUTO_LABEL_UNITS) if labels is None else labels

    def _labels(self) -> None:
        """Unit names at each unit's pole of inaccessibility, largest units first; a name that
        would leave its unit, or overlap a name placed before, the legend, the furniture or the
        frame, is left out."""
        if "name" not in self.frame.columns:
            return
        s = self.style
        present = ~shapely.is_missing(self.units) & ~shapely.is_empty(self.units)
        order = [i for i in np.argsort(-shapely.area(np.where(present, self.units, None)).astype(float)) if present[i]]
        if hasattr(shapely, "maximum_inscribed_circle"):  # shapely >= 2.1: the pole of inaccessibility
            tolerance = np.sqrt(shapely.area(self.units[order])) / 50
            centres = shapely.get_point(shapely.maximum_inscribed_circle(self.units[order], tolerance), 0)
        else:
            centres = shapely.point_on_surface(self.units[order])
        classes = np.asarray([row[self.year_index] for row in self.classed.classes], dtype=int).reshape(-1)
        to_data = self.ax.transData.inverted()
        size = s.pt(6 if self.spec.layer == "prefectures" else 5)
        renderer = self.figure.canvas.get_renderer()
        axes_box = self.ax.get_window_extent(renderer)
        blocked = [self.ax.transData.transform(np.asarray(shapely.bounds(b)).reshape(2, 2)) for b in self.reserved]
        if self.standard:
            blocked.append(np.asarray([[axes_box.x1 - self.inset_mm[0] / 25.4 * self.settings.dpi, axes_box.y0],
                                       [axes_box.x1, axes_box.y0 + self.inset_mm[1] / 25.4 * self.settings.dpi]]))
        placed = []
        for index, centre in zip(order, centres):
            name = self.frame["name"].iloc[index]
            if pd.isna(name):
                continue
            k = classes[index]
            dark = k >= 0 and _luminance(self.classed.colours[k]) < 0.4
            text = self.ax.text(centre.x, centre.y, str(name), ha="center", va="center", fontsize=size, zorder=8,
                                color="white" if dark else "#1a1a1a")
            box = text.get_window_extent(renderer).expanded(1.08, 1.15)
            inside = axes_box.x0 <= box.x0 and box.x1 <= axes_box.x1 and axes_box.y0 <= box.y0 and box.y1 <= axes_box.y1
            clash = any(box.overlaps(other) for other in placed) or any(
                box.x0 < b[1, 0] and box.x1 > b[0, 0] and box.y0 < b[1, 1] and box.y1 > b[0, 1] for b in blocked)
            # A name stays within its own unit, so its colour (by the unit's fill) always reads.
            (x0, y0), (x1, y1) = to_data.transform([[box.x0, box.y0], [box.x1, box.y1]])
            label = shapely.box(x0, y0, x1, y1)
            within = shapely.area(shapely.intersection(self.units[index], label)) >= 0.97 * label.area
            if not inside or clash or not within:
                text.remove()
                continue
            placed.append(box)
