"""Print figures (gis.figures): decoded from the files themselves — PNG pixels, size and dpi
(Pillow), PDF fonts and text (poppler's pdffonts / pdftotext), SVG text — on Zhejiang's real
build layers and, for the China map standard, five provinces' real boundaries."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from gis.cli import main
from gis.colours import NO_DATA_FILL
from gis.errors import GisError, SpecError
from gis.maps import load_spec, render_maps
from gis.maps.palettes import palette_colours

ROOT = Path(__file__).resolve().parents[2]
MAPS = ROOT / "maps"
MM_PER_INCH = 25.4
needs_poppler = pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils (pdffonts, pdftotext) not installed")


@pytest.fixture(scope="module")
def zhejiang():
    from gis.build.assemble import assemble

    built = assemble("330000")
    return built.tables, built.place


@pytest.fixture(scope="module")
def china():
    from support.maps_china import china_layers

    return china_layers(codes=("330000", "340000", "440000", "460000", "710000"))


def _spec(tmp_path: Path, name: str, figure: str = "", base: str = "prefecture_income_ratio") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text((MAPS / f"{base}.toml").read_text(encoding="utf-8") + "\n" + figure, encoding="utf-8")
    return path


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return tuple(int(value[i:i + 2], 16) for i in (0, 2, 4))


def _share(pixels: np.ndarray, hex_colour: str) -> float:
    """Share of the image's pixels exactly of ``hex_colour``."""
    return float(np.all(pixels[..., :3] == _rgb(hex_colour), axis=-1).mean())


def _draw(spec_path, layers, place, view=0, **kwargs):
    from gis.figures.draw import draw_figure

    return draw_figure(load_spec(spec_path).for_place(*place), layers, view, **kwargs)


# --------------------------------------------------------------------------- files


def test_png_has_its_size_dpi_crs_and_the_page_classes_colours(zhejiang, tmp_path):
    layers, place = zhejiang
    path = _draw(MAPS / "prefecture_income_ratio.toml", layers, place).save(tmp_path / "ratio.png")
    with Image.open(path) as image:
        width, height = image.size
        dpi = image.info["dpi"]
        crs = image.info["CRS"]
        pixels = np.asarray(image.convert("RGB"))
    assert width == round(170 / MM_PER_INCH * 300)  # 170 mm at 300 dpi: 2008 px
    assert dpi == pytest.approx((300, 300), abs=0.01)
    assert "+proj=aea" in crs and "Albers" in crs
    # The spec: Fisher-Jenks, 5 classes of YlOrRd shared by all years; in 2020 every prefecture
    # is in one of the two lightest classes (1.61–1.84, 1.84–2.11): they fill the map, the three
    # others appear only as legend swatches.
    colours = palette_colours("YlOrRd", 5)
    ratios = layers["prefectures"]["income_ratio_2020"]
    assert ratios.max() < 2.11
    assert _share(pixels, colours[0]) > 0.05 and _share(pixels, colours[1]) > 0.05
    for colour in colours[2:]:
        assert 0 < _share(pixels, colour) < 0.005, colour


def test_no_data_is_hatched_grey_and_named_in_the_legend(zhejiang, tmp_path):
    layers, place = zhejiang
    layers = dict(layers)
    prefectures = layers["prefectures"].copy()
    prefectures.loc[prefectures["name"] == "丽水市", "income_ratio_2020"] = np.nan
    layers["prefectures"] = prefectures
    drawn = _draw(MAPS / "prefecture_income_ratio.toml", layers, place)
    png, svg = drawn.save(tmp_path / "gap.png"), drawn.save(tmp_path / "gap.svg")
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert _share(pixels, NO_DATA_FILL) > 0.01  # 丽水's grey between the hatch lines
    assert "暂无数据" in svg.read_text(encoding="utf-8")


@needs_poppler
def test_pdf_embeds_subset_fonts_and_keeps_text_searchable(zhejiang, tmp_path):
    layers, place = zhejiang
    path = _draw(MAPS / "county_degurba.toml", layers, place).save(tmp_path / "degurba.pdf")
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts, "no font in the PDF"
    for row in fonts:
        # name  type  encoding  emb sub uni  object ID: every font embedded and subset (ABCDEF+Name)
        assert re.match(r"^[A-Z]{6}\+", row), row
        assert re.search(r"\byes\s+yes\s+yes\b", row), row
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "浙江省县（市、区）城市化程度" in text
    assert "城市化程度（第二级）" in text and "山区26县" in text and "示意图" in text
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "+proj=aea" in info  # the CRS in the document's metadata


def test_svg_keeps_text_as_text_in_the_cjk_font(zhejiang, tmp_path):
    from gis.figures.fonts import cjk_font

    layers, place = zhejiang
    svg = _draw(MAPS / "county_degurba.toml", layers, place).save(tmp_path / "degurba.svg").read_text(encoding="utf-8")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "浙江省县（市、区）城市化程度" in texts
    assert "淳安县" in texts and "临安区" in texts  # unit names are placed
    assert cjk_font() in svg
    assert "+proj=aea" in svg  # in <dc:description>


def test_unit_labels_do_not_overlap(zhejiang, tmp_path):
    from matplotlib.text import Text

    from gis.figures.draw import draw_figure

    layers, place = zhejiang
    drawn = draw_figure(load_spec(MAPS / "county_degurba.toml").for_place(*place), layers, 0)
    figure = drawn.figure
    renderer = figure.canvas.get_renderer()
    import shapely

    counties = layers["counties"]
    units = dict(zip(counties["name"], drawn.crs.project(counties.geometry.to_numpy())))
    labels = [t for t in figure.findobj(Text) if t.get_text() in units]
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert len(boxes) > 40  # most of the 90 counties are named at 170 mm
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)
    to_data = figure.axes[0].transData.inverted()
    for label, box in zip(labels, boxes):  # each name within its own county
        (x0, y0), (x1, y1) = to_data.transform([[box.x0, box.y0], [box.x1, box.y1]])
        area = shapely.box(x0, y0, x1, y1)
        assert shapely.area(shapely.intersection(units[label.get_text()], area)) > 0.9 * area.area, label.get_text()


def test_page_and_figure_show_the_same_classes(zhejiang, tmp_path):
    """The page's legend rows and the figure's are the same texts: one classification."""
    layers, place = zhejiang
    spec = MAPS / "prefecture_income_gap.toml"
    render_maps([spec], layers, tmp_path / "maps", place=place)
    page = (tmp_path / "maps" / "prefecture_income_gap.html").read_text(encoding="utf-8")
    legend = page[page.index('id="gis-legend"'):]
    page_rows = re.findall(r'<li><span class="gis-swatch" style="background:(#[0-9a-f]{6})"></span>([^<]+)</li>', legend)
    svg = _draw(spec, layers, place).save(tmp_path / "gap.svg").read_text(encoding="utf-8")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert len(page_rows) == 5
    for colour, label in page_rows:
        assert label in texts, label
        assert f"fill: {colour}" in svg, colour  # the legend swatch's colour


def test_national_frame_has_the_inset_taiwan_and_named_islands(china, tmp_path):
    drawn = _draw(MAPS / "prefecture_degurba.toml", china, ("全国", "China"), standard=True, national=True)
    png, svg = drawn.save(tmp_path / "china.png"), drawn.save(tmp_path / "china.svg")
    text = svg.read_text(encoding="utf-8")
    assert 'id="south-china-sea-inset"' in text
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", text)
    for name in ("南海诸岛", "钓鱼岛", "赤尾屿", "国界线（海上）", "全国地级市城市化程度"):
        assert name in texts, name
    assert "lat_1=25" in text and "lat_2=47" in text and "lon_0=105" in text  # China's Albers
    # The inset in the pixels: the lower-right corner of the map holds the maritime line's
    # colour and the islands' dark grey, inside a frame.
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
    height, width = pixels.shape[:2]
    corner = pixels[int(height * 0.55):int(height * 0.9), int(width * 0.7):]
    near = lambda colour: np.abs(corner.astype(int) - _rgb(colour)).sum(axis=-1) < 40  # noqa: E731
    assert near("#7b3294").sum() > 200, "maritime line"
    assert near("#4d4d4d").sum() > 50, "islands"
    if shutil.which("pdftotext"):
        pdf = drawn.save(tmp_path / "china.pdf")
        extracted = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "南海诸岛" in extracted and "全国地级市城市化程度" in extracted


def test_taiwan_is_drawn_and_not_under_the_inset(china, tmp_path):
    import shapely

    drawn = _draw(MAPS / "prefecture_degurba.toml", china, ("全国", "China"), standard=True, national=True)
    figure = drawn.figure
    main_axes, inset = figure.axes[0], next(a for a in figure.axes if a.get_gid() == "south-china-sea-inset")
    taipei = drawn.crs.project(shapely.points([[121.5, 25.0]]))[0]
    x, y = main_axes.transData.transform((taipei.x, taipei.y))
    box = inset.get_window_extent(figure.canvas.get_renderer())
    assert main_axes.get_window_extent().contains(x, y)
    assert not box.contains(x, y)


# --------------------------------------------------------------------------- specs and bad input


@pytest.mark.parametrize(("figure", "key", "message"), [
    ("width_mm = 0", "figure.width_mm", "a number from 30 to 1200"),
    ("width_mm = 10000", "figure.width_mm", "a number from 30 to 1200"),  # 10 m
    ("height_mm = 0.5", "figure.height_mm", "a number from 30 to 1200"),
    ("dpi = 20", "figure.dpi", "an integer from 72 to 1200"),
    ("view = 3", "figure.view", "not a view of this map; views: 1 (income_ratio"),
    ("view = \"income\"", "figure.view", "not a view of this map"),
    ("year = 2013", "figure.year", "2013 is not a year of view"),
    ("language = \"fr\"", "figure.language", "allowed: zh, en, both"),
    ("labels = \"some\"", "figure.labels", "allowed: true, false, \"auto\""),
    ("colour = \"red\"", "figure.colour", "unknown key"),
])
def test_figure_table_errors_name_the_key(tmp_path, figure, key, message):
    path = _spec(tmp_path, "bad", f"[figure]\n{figure}\n")
    with pytest.raises(SpecError) as error:
        load_spec(path)
    text = str(error.value)
    assert f"key '{key}'" in text and message in text and str(path) in text and "\n" not in text


def test_figure_table_is_read(tmp_path):
    spec = load_spec(_spec(tmp_path, "good", "[figure]\nwidth_mm = 85\ndpi = 600\nview = \"income_ratio\"\nyear = 2010\n"
                                            "language = \"both\"\nlabels = false\n"))
    figure = spec.figure
    assert (figure.width_mm, figure.dpi, figure.view, figure.year, figure.language, figure.labels) == (85.0, 600, 0, 2010, "both", False)


def test_spec_settings_size_the_figure(zhejiang, tmp_path):
    layers, place = zhejiang
    spec = _spec(tmp_path, "small", "[figure]\nwidth_mm = 85\nheight_mm = 100\ndpi = 150\nyear = 2000\nlanguage = \"en\"\n")
    drawn = _draw(spec, layers, place)
    with Image.open(drawn.save(tmp_path / "small.png")) as image:
        assert image.size == (round(85 / MM_PER_INCH * 150), round(100 / MM_PER_INCH * 150))
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", drawn.save(tmp_path / "small.svg").read_text(encoding="utf-8"))
    assert "Year 2000" in texts and "Urban-rural income ratio by prefecture, Zhejiang, 2000–2020" in texts
    assert "浙江省各地级市城乡居民收入倍差（2000–2020年）" not in texts


def test_unknown_year_of_a_view_is_one_line(zhejiang):
    from gis.figures.draw import draw_figure

    layers, place = zhejiang
    spec = load_spec(MAPS / "prefecture_income_ratio.toml").for_place(*place)
    with pytest.raises(GisError, match=r"^year 2013: view '城乡居民收入倍差' has no values for it; its years: 2000, 2005, 2010, 2015, 2020$"):
        draw_figure(spec, layers, 0, 2013)


def _run(*args):
    return CliRunner().invoke(main, ["figure", *args])


def test_cli_bad_input_is_one_line_before_any_work(tmp_path):
    spec = str(MAPS / "prefecture_income_ratio.toml")
    (tmp_path / "file").write_text("x")
    cases = [
        (["--view", "7", "--out", str(tmp_path / "a.png")], "--view 7: not a view of"),
        (["--map-year", "2013", "--out", str(tmp_path / "a.png")], "--map-year 2013: view '城乡居民收入倍差'"),
        (["--out", str(tmp_path / "a.jpg")], "a figure is .png, .svg or .pdf"),
        (["--out", str(tmp_path / "file" / "a.png")], "is a file, not a folder"),
        (["--width-mm", "0", "--out", str(tmp_path / "a.png")], "'0' is outside 30 to 1200"),
        (["--width-mm", "10000", "--out", str(tmp_path / "a.png")], "'10000' is outside 30 to 1200"),
    ]
    for args, message in cases:
        result = _run(spec, *args)
        assert result.exit_code == 2, (args, result.output)
        lines = [line for line in result.output.splitlines() if line.strip() and not line.startswith(("Usage:", "Try "))]
        assert len(lines) == 1 and message in lines[0], (args, result.output)
    big = _spec(tmp_path, "big", "[figure]\nwidth_mm = 10000\n")
    result = _run(str(big), "--out", str(tmp_path / "a.png"))
    assert result.exit_code == 2 and "key 'figure.width_mm': 10000 is not allowed" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.toml", "file"]  # nothing written


def test_cli_writes_one_figure_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "ratio.svg"
    result = _run(str(MAPS / "prefecture_income_ratio.toml"), "--view", "1", "--language", "both", "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "浙江省各地级市城乡居民收入倍差" in text and "Urban-rural income ratio by prefecture, Zhejiang" in text
    again = _run(str(MAPS / "prefecture_income_ratio.toml"), "--out", str(out))
    assert again.exit_code == 2 and "already exists; pass --overwrite" in again.output


def test_a_failed_write_leaves_nothing(zhejiang, tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    layers, place = zhejiang
    drawn = _draw(MAPS / "prefecture_income_ratio.toml", layers, place)
    target = tmp_path / "ratio.pdf"
    target.write_bytes(b"the old figure")

    def broken(self, *args, **kwargs):
        Path(args[0]).write_bytes(b"half a PDF")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken)
    with pytest.raises(OSError):
        drawn.save(target)
    assert target.read_bytes() == b"the old figure"
    assert [p.name for p in tmp_path.iterdir()] == ["ratio.pdf"]


def test_no_cjk_font_is_one_line_saying_how_to_get_one(monkeypatch):
    from gis.figures import fonts

    fonts._family.cache_clear()
    monkeypatch.setattr(fonts, "CJK_FAMILIES", ("No Such Font",))
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    try:
        with pytest.raises(GisError, match=r"^no font with Chinese glyphs found .*apt install fonts-noto-cjk.*GIS_FIGURE_FONT"):
            fonts.cjk_font()
        monkeypatch.setenv(fonts.FONT_ENV, "/no/such/font.otf")
        with pytest.raises(GisError, match=r"^GIS_FIGURE_FONT=/no/such/font.otf: no such font file$"):
            fonts.cjk_font()
    finally:
        fonts._family.cache_clear()


def test_other_commands_do_not_import_matplotlib():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from gis.cli import main\n"
        "for args in (['--help'], ['figure', '--help'], ['build', '--help'], ['map', '--help']):\n"
        "    assert CliRunner().invoke(main, args).exit_code == 0, args\n"
        "import gis.build.run, gis.maps, gis.maps.render, gis.maps.classify, gis.figures, gis.figures.write\n"
        "gis.build.run.plan_build(gis.build.run.BuildOptions(figures=True))\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- gis build --figures


@pytest.mark.slow
def test_build_writes_a_figure_per_view_of_every_map_drawn(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", "--out", str(out), "--figures"])
    assert result.exit_code == 0, result.output
    figures = sorted(p.name for p in (out / "figures").iterdir())
    pages = sorted(p.stem for p in (out / "maps").glob("*.html") if p.stem != "index")
    expected = []
    for page in pages:
        spec = load_spec(MAPS / f"{page}.toml")
        names = [page] if len(spec.views) == 1 else [f"{page}_{view.indicator or view.columns[None]}" for view in spec.views]
        expected += [f"{name}{suffix}" for name in names for suffix in (".pdf", ".png", ".svg")]
    assert figures == sorted(expected)
    assert "county_degurba_degurba_l2.png" in figures and "prefecture_income_ratio.pdf" in figures
    again = CliRunner().invoke(main, ["build", "--out", str(out), "--figures"])
    assert again.exit_code == 2 and "already exists" in again.output


def test_a_legend_that_would_hide_land_everywhere_goes_beside_the_map(zhejiang, monkeypatch):
    from gis.figures import draw

    original = draw._Figure._best_corner

    def crowded(self, size_mm, order, used=(), force=False):  # every corner "hides" land
        return original(self, size_mm, order, used, force) if force else None

    monkeypatch.setattr(draw._Figure, "_best_corner", crowded)
    layers, place = zhejiang
    drawn = _draw(MAPS / "prefecture_income_ratio.toml", layers, place)
    figure = drawn.figure
    renderer = figure.canvas.get_renderer()
    legend = next(a for a in figure.axes[0].artists if a.get_gid() == "legend")
    box, frame = legend.get_window_extent(renderer), figure.axes[0].get_window_extent(renderer)
    assert box.x0 >= frame.x1 - 1 and box.x1 <= figure.bbox.x1 + 1  # right of the map, on the page
