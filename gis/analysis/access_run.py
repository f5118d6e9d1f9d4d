"""``gis access`` end to end: facilities, population cells, distances, and the outputs.

:func:`access_for_area` gathers the inputs (the population grid and class grid of
:func:`gis.degurba.units.degurba_for_units`, the user's raster if given) and measures;
:func:`write_access` writes what the analysis commands write: a styled GeoPackage layer (or a
CSV with BOM), the distance grid as GeoTIFF, the method text, a report of every facility row
and, on request, an offline map.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from gis.analysis.access import L1_CLASSES, AccessResult, Facilities, measure_access, method_text, populated_cells, read_facilities
from gis.errors import GisError


@dataclass
class AccessRun:
    """A finished analysis: the units with their measures, and what produced them."""

    units: pd.DataFrame  # the user's units, all their columns, plus the measures
    result: AccessResult
    facilities: Facilities
    place_zh: str
    place_en: str


def side_paths(output: Path) -> dict[str, Path]:
    """The files written beside ``output``: distance GeoTIFF, method text, facility report."""
    stem = output.with_suffix("")
    return {"distance": Path(f"{stem}_distance.tif"), "method": Path(f"{stem}_method.txt"),
            "facilities": Path(f"{stem}_facilities.csv")}


def access_for_area(boundaries, units, facilities_path, thresholds: tuple[float, ...], unit: str, coords: str = "wgs84",
                    capacity: str | None = None, population_path=None, roads_path=None, speeds_path=None,
                    progress=None, facilities_layer: str | None = None) -> AccessRun:
    """Measure access for ``units`` (GeoDataFrame, any CRS) in ``boundaries``' province.

    ``unit`` is ``"km"`` (straight line) or ``"min"`` (travel time; needs ``roads_path``).
    Population: ``population_path`` (any raster :func:`gis.degurba.population.read_population`
    reads) or, without one, the census estimate ``gis build`` writes as
    ``<slug>_population_estimate.tif``. Classes: the build's Level 2 grid for the same input.
    """
    from gis.degurba.population import read_population
    from gis.degurba.units import degurba_for_units

    say = progress or (lambda message: None)
    area = boundaries.province.geometry.union_all()
    facilities = read_facilities(facilities_path, coords, capacity, area, layer=facilities_layer)
    say(f"{len(facilities)} facilities from {facilities.source}")
    for line in facilities.problems():
        say(line)
    if len(facilities) == 0:
        raise GisError(f"{facilities.source}: no facility inside {boundaries.name} (rows read: {len(facilities.report)}; "
                       f"{'; '.join(facilities.problems()) or 'none usable'}); check --coords and --province")
    graph = None
    if roads_path is not None:
        from gis.analysis.roads import read_roads, read_speeds, road_graph

        speeds = read_speeds(speeds_path)
        say(f"reading roads from {roads_path}")
        lines, classes, column = read_roads(roads_path)
        graph = road_graph(lines, classes, speeds, column, Path(roads_path).name)
        say(f"road graph: {graph.note}")
    degurba = degurba_for_units(boundaries, population_path, progress=say)
    window = degurba.grid_l2.window
    if population_path is None:
        population = degurba.population_estimate
        source = "2020 census population spread over the DEGURBA grid (an estimate, as gis build's population_estimate.tif)"
    else:
        population = read_population(population_path, window).values
        source = Path(population_path).name
    cells = populated_cells(population, degurba.grid_l2.codes, window, units, source)
    result = measure_access(cells, facilities, thresholds, len(units), graph, progress=say)
    result.method = method_text(result.mode, thresholds, result.unit, cells, facilities, capacity,
                                graph.note if graph is not None else "")
    import geopandas as gpd

    from gis.units.user_units import attach_columns

    # All of the units' columns first, ours after (renamed on a clash, said), as every command does.
    frame = gpd.GeoDataFrame(attach_columns(units, result.units, on_note=say, where="--units"),
                             geometry=units.geometry.to_numpy(), crs=units.crs)
    from gis.units.boundaries import province_name_en

    return AccessRun(frame, result, facilities, boundaries.name, province_name_en(boundaries.code))


def _style(frame, column: str, unit: str):
    from gis.maps.palettes import palette_colours
    from gis.outputs.qgis_style import FillSymbol, LayerStyle, class_bounds, graduated_classes, no_data_class

    bounds = class_bounds(frame[column], "quantiles", 5)
    if len(bounds) < 2:
        return None
    palette = "YlOrRd" if column.startswith("mean_") else "YlGnBu"
    return LayerStyle(column, graduated_classes(column, bounds, palette_colours(palette, len(bounds) - 1), 1, FillSymbol())
                      + [no_data_class()], label_field="name" if "name" in frame.columns else None,
                      description=f"{column} ({unit}), quintiles")


def _write_distance(path: Path, run: AccessRun) -> Path:
    import rasterio

    from gis._files import atomic_path
    from gis.degurba.grid import GHSL_CRS

    grid = run.result.distance_grid()
    profile = dict(driver="GTiff", height=grid.shape[0], width=grid.shape[1], count=1, dtype="float32", crs=GHSL_CRS,
                   transform=run.result.cells.transform, nodata=float("nan"), compress="deflate", predictor=3)
    with atomic_path(path) as temporary:
        with rasterio.open(temporary, "w", **profile) as dst:
            dst.write(grid, 1)
            dst.update_tags(UNIT="km" if run.result.unit == "km" else "minutes", MODE=run.result.mode,
                            FACILITIES=run.facilities.source, POPULATION=run.result.cells.source,
                            METHOD=run.result.method.replace("\n", " "))
            dst.set_band_description(1, "distance to the nearest facility (km)" if run.result.unit == "km"
                                     else "travel time to the nearest facility (minutes)")
    return path


def write_access(run: AccessRun, output: Path, map_path: Path | None = None, level: str = "counties") -> list[Path]:
    """Write ``run``'s outputs; returns the paths written."""
    import geopandas as gpd

    from gis._files import write_csv, write_text_atomic

    sides = side_paths(output)
    written = []
    frame = run.units
    unit = run.result.unit
    if output.suffix.lower() == ".gpkg":
        from gis.outputs.gpkg import OutputLayer, write_geopackage

        styles = [
            s
            for s in (
                _style(frame, "mean_distance_km" if unit == "km" else "mean_time_min", unit),
                *(_style(frame, c, "percent") for c in frame.columns if c.startswith("share_within_") and not c.endswith(tuple(L1_CLASSES.values()))),
                _style(frame, "access_2sfca", "per 1 000") if "access_2sfca" in frame.columns else None,
            )
            if s
        ]
        if styles:
            styles[0] = replace(styles[0], default=True)
        layer = OutputLayer("access_units", gpd.GeoDataFrame(frame, geometry=frame.geometry.name, crs=frame.crs),
                            "Access to facilities", run.result.method.splitlines()[3] if run.result.method else "", styles)
        write_geopackage(output, [layer], crs="EPSG:4326")
    else:
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        write_csv(table, output, comment_lines=[f"# {line}" for line in run.result.method.splitlines()[2:4]])
    written.append(output)
    written.append(_write_distance(sides["distance"], run))
    written.append(write_text_atomic(sides["method"], run.result.method))
    written.append(write_csv(run.facilities.report, sides["facilities"]))
    if map_path is not None:
        write_access_map(run, map_path, level)
        written.append(map_path)
    return written


def write_access_map(run: AccessRun, map_path: Path, level: str) -> None:
    """The shipped spec ``gis/assets/maps/access.toml``, one view per measure computed."""
    from gis.analysis.access import threshold_label
    from gis.maps.analysis import analysis_spec, write_analysis_map

    result = run.result
    km = result.unit == "km"
    mean, share, gap, score = analysis_spec("access").views
    unit_name = "km" if km else "minutes"
    measure_zh, measure_en = ("直线距离", "straight-line distance") if km else ("出行时间", "travel time")
    views = [replace(mean, columns={None: "mean_distance_km" if km else "mean_time_min"}, unit=unit_name)]
    for t in result.thresholds:
        label_zh = f"{t:g} 公里" if km else f"{t:g} 分钟"
        label_en = f"{t:g} km" if km else f"{t:g} min"
        views.append(replace(share, columns={None: f"share_within_{threshold_label(t, result.unit)}"},
                             label_zh=share.label_zh.replace("{T}", label_zh), label_en=share.label_en.replace("{T}", label_en)))
    views.append(replace(gap, columns={None: ("mean_distance_km" if km else "mean_time_min") + "_rural_gap"}, unit=unit_name))
    if result.score is not None:
        views.append(score)
    spec = analysis_spec("access")
    spec = replace(spec, views=tuple(views)).with_tokens(
        {"place": run.place_zh, "facilities": run.facilities.source, "measure_zh": measure_zh,
         "method_zh": "直线（测地线）距离" if km else "路网出行时间"},
        {"place": run.place_en, "facilities": run.facilities.source, "measure_en": measure_en,
         "method_en": "Straight-line (geodesic) distance" if km else "Road-network travel time"},
    )
    frame = run.units.to_crs("EPSG:4326")
    if "adcode" not in frame.columns:
        frame["adcode"] = [str(i + 1) for i in range(len(frame))]
    if "name" not in frame.columns:
        frame["name"] = frame["adcode"].astype(str)
    write_analysis_map(spec, frame, level, f"{run.facilities.source}; population: {result.cells.source}", map_path)
