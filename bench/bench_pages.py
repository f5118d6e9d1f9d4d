"""What folium costs a map page: importing it, and rendering the page's folium map, against
preparing the page's data (classes, texts, geometry, grid image) in the same run.

Zhejiang's default pages (seed data, the official grid): each page is prepared and rendered
``RUNS`` times after a warm-up (caches filled); medians are printed, and the render as a
share of the page's whole time. folium's import is timed in a fresh interpreter against the
interpreter with the rest of a build's imports (the baseline).

    python bench/bench_pages.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 5


def _import_seconds(code: str) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    from gis.build.assemble import assemble
    from gis.maps import default_spec_paths, load_spec
    from gis.maps.render import MapSkipped, PageCache, build_page

    base = "import geopandas, rasterio, gis.maps.render"
    without, with_folium = _import_seconds(base), _import_seconds(base + ", gis.maps.elements")
    print(f"import: build modules {without:.3f} s, + folium {with_folium:.3f} s ({with_folium - without:+.3f} s)")
    built = assemble("330000")
    cache = PageCache()
    total_data = total_render = 0.0
    for path in default_spec_paths():
        spec = load_spec(path).for_place(*built.place)
        try:
            _ = build_page(spec, dict(built.tables), "none", rasters=built.rasters, cache=cache).html  # warm-up
        except MapSkipped:
            continue
        data, render = [], []
        for _ in range(RUNS):
            start = time.perf_counter()
            page = build_page(spec, dict(built.tables), "none", rasters=built.rasters, cache=cache)
            middle = time.perf_counter()
            html = page.html
            data.append(middle - start)
            render.append(time.perf_counter() - middle)
        d, r = statistics.median(data), statistics.median(render)
        total_data, total_render = total_data + d, total_render + r
        print(f"{path.stem:28s} data {d:.3f} s  folium render {r:.4f} s ({r / (d + r):.1%})  {len(html) / 1e6:.2f} MB")
    print(f"{'all pages':28s} data {total_data:.3f} s  folium render {total_render:.4f} s "
          f"({total_render / (total_data + total_render):.1%})")


if __name__ == "__main__":
    main()
