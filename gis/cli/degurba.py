"""``gis degurba``: Degree of Urbanisation of a population grid (``grid``) and of units (``units``)."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli import options
from gis.cli.report import stage, wrote
from gis.errors import GisError


@click.group()
def degurba() -> None:
    """Degree of Urbanisation (DEGURBA): classify a 1 km grid and spatial units."""


@degurba.command()
@click.option(
    "--population",
    "population_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Population raster (any CRS and resolution).",
)
@click.option(
    "--land", "land_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Permanent-land share raster (0..1); enables water (10)."
)
@click.option(
    "--built", "built_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Built-up share raster (0..1); >= 0.5 makes a cell dense."
)
@click.option(
    "--values",
    "values_kind",
    type=click.Choice(["counts", "density"]),
    default="counts",
    show_default=True,
    help="Population raster holds persons per cell or persons per km².",
)
@options.rules
@options.sduc_distance
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Level 2 GeoTIFF to write; Level 1 goes to <stem>_l1.tif beside it.",
)
@click.option(
    "--chunks",
    type=click.IntRange(min=16),
    default=None,
    help="Classify out of core in blocks of N x N cells with dask (e.g. 2048), for grids larger than memory; same classes as in memory.",
)
@click.option("--scheduler", default=None, help="With --chunks: a dask.distributed scheduler address (tcp://host:8786); default: local threads.")
@options.overwrite
def grid(population_path, land_path, built_path, values_kind, rules_name, sduc_distance_km, out_path, chunks, scheduler, overwrite) -> None:
    """Classify a population grid on the GHSL 1 km grid (Stage I, Levels 1 and 2)."""
    from gis._files import refuse_overwrite, require_writable_folder
    from gis.degurba.classify import classify_grid
    from gis.degurba.population import read_population, read_share
    from gis.degurba.rasters import write_class_geotiff
    from gis.degurba.rules import load_rules

    if scheduler is not None and chunks is None:
        raise GisError("--scheduler runs the chunked engine: give --chunks too (e.g. --chunks 2048)")
    rules = load_rules(rules_name).with_distance(sduc_distance_km)
    l1_path = out_path.with_name(f"{out_path.stem}_l1{out_path.suffix or '.tif'}")
    refuse_overwrite([out_path, l1_path], overwrite)
    require_writable_folder(out_path, "--out")
    if chunks is not None:
        _grid_chunked(population_path, land_path, built_path, values_kind, rules, out_path, l1_path, chunks, scheduler)
        return
    stage(f"reading {population_path} onto the GHSL 1 km grid")
    population = read_population(population_path, values=values_kind)
    window = population.window
    stage(
        f"{window.height} x {window.width} cells, {population.total:,.0f} persons"
        + (" (resampled)" if population.resampled else " (already on the grid, used cell for cell)")
    )
    land = read_share(land_path, window).values if land_path else None
    built = read_share(built_path, window).values if built_path else None
    stage(f"classifying ({rules.describe()})")
    classes = classify_grid(population.values, land_share=land, built_share=built, rules=rules)
    for code, count in sorted(classes.counts().items(), reverse=True):
        stage(f"  class {code}: {count} cells")
    tags = classes.rules.geotiff_tags()  # with an "optimal" built-up share, the value computed
    if classes.rules is not rules and classes.rules.name != rules.name:
        stage(f"rules as applied: {classes.rules.name}")
    wrote(write_class_geotiff(out_path, classes.level2, window.transform, level=2, tags=tags))
    wrote(write_class_geotiff(l1_path, classes.level1, window.transform, level=1, tags=tags))


def _grid_chunked(population_path, land_path, built_path, values_kind, rules, out_path, l1_path, chunks, scheduler) -> None:
    """``gis degurba grid --chunks``: read, classify and write block by block (dask), so
    memory is bounded by the block size, not the grid's; outputs appear only when complete."""
    from gis.degurba.chunked import classify_grid_chunked, write_class_geotiff_chunked
    from gis.degurba.population import read_population_chunked, read_share_chunked

    population, window = read_population_chunked(population_path, values=values_kind, chunk=chunks)
    land = read_share_chunked(land_path, window, chunks) if land_path else None
    built = read_share_chunked(built_path, window, chunks) if built_path else None
    stage(f"{window.height} x {window.width} cells in blocks of {chunks} x {chunks}"
           + (f" on {scheduler}" if scheduler else " on local threads"))
    stage(f"rules: {rules.describe()}")
    with classify_grid_chunked(
        population, land_share=land, built_share=built, rules=rules,
        scheduler=scheduler, progress=True,  # stage messages and a progress bar per stage, on stderr
    ) as classes:
        tags = classes.rules.geotiff_tags()  # with an "optimal" built-up share, the value computed
        for code, count in sorted(classes.counts(scheduler).items(), reverse=True):
            stage(f"  class {code}: {count} cells")
        wrote(write_class_geotiff_chunked(out_path, classes.level2, window.transform, level=2, scheduler=scheduler, progress=True, tags=tags))
        wrote(write_class_geotiff_chunked(l1_path, classes.level1, window.transform, level=1, scheduler=scheduler, progress=True, tags=tags))


def _read_units(units: str, province: str, layer: str | None = None, skip_invalid: bool = False):
    """Polygons of --units (any CRS): a province's counties or prefectures, or the user's file
    (:func:`gis.units.user_units.read_user_units`: layer, encoding and empty geometries checked).
    Returns the frame and whether it is the user's (all its columns are then kept)."""
    if units in ("counties", "prefectures"):
        if layer is not None:
            raise GisError(f"--layer {layer}: only with a polygon file as --units, not {units!r}")
        from gis.units.boundaries import load_boundaries

        return getattr(load_boundaries(province), units), False
    from gis.units.user_units import read_user_units

    if not Path(units).exists():
        raise GisError(f"--units {units}: expected 'counties', 'prefectures' or an existing polygon file")
    return read_user_units(units, layer=layer, skip_invalid=skip_invalid, on_note=lambda m: stage(f"note: {m}")), True


def _unit_labels(frame):
    """What to call each unit on the console: its ``name``, else the file's first text column
    (a township file's 乡镇名称), else ``feature N``."""
    import numpy as np

    text = [c for c in frame.columns if c != frame.geometry.name and frame[c].dtype == object]
    column = "name" if "name" in frame.columns else (text[0] if text else None)
    if column is None:
        return np.array([f"feature {i}" for i in range(1, len(frame) + 1)])
    return frame[column].astype(str).to_numpy()


def _with_unit_columns(frame, users: bool, result, where: str):
    """``result`` (one row per unit) behind the unit's columns: all of a user's file (ours
    renamed on a clash, said on the console), or ``adcode`` and ``name`` of built-in units."""
    if users:
        from gis.units.user_units import attach_columns

        return attach_columns(frame, result, on_note=lambda m: stage(f"note: {m}"), where=where)
    result = result.drop(columns=[c for c in ("adcode", "name") if c in result.columns])
    for position, column in enumerate(c for c in ("adcode", "name") if c in frame.columns):
        result.insert(position, column, frame[column].to_numpy())
    return result


@degurba.command()
@click.option(
    "--grid",
    "grid_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Level 2 class GeoTIFF on the GHSL grid (e.g. from 'gis degurba grid'). "
    "Default: the official GHS-WUP-DEGURBA 2025 grid, or one classified from --population.",
)
@click.option(
    "--population",
    "population_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Population raster: weights Stage II by population (and is classified when --grid is not given).",
)
@click.option("--units", default="counties", show_default=True, help="counties, prefectures, or a polygon file (GeoPackage, GeoJSON, Shapefile).")
@click.option("--unit-population", "unit_population", default=None, metavar="COLUMN",
              help="Column of --units holding each unit's resident population: spread over the class grid by fitted class "
                   "densities (an estimate) and Stage II weighted by it; with degurba_l1_stable.")
@options.units_layer
@options.skip_invalid
@click.option("--dissolve-by", "dissolve_by", default=None, metavar="COLUMN",
              help="Merge the units by this column first (one unit per value, as flexurba's dissolve_units_by).")
@options.province()
@options.rules
@options.sduc_distance
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output .gpkg (with geometry and a default QGIS style) or .csv; every column of a --units file is kept.",
)
@options.overwrite
def units(grid_path, population_path, units, unit_population, units_layer, skip_invalid, dissolve_by, province, rules_name,
          sduc_distance_km, out_path, overwrite) -> None:
    """Classify spatial units (Stage II) with exact coverage fractions.

    Weights: a --population raster; else, with --unit-population, the units' own totals spread
    over the class grid by fitted class densities (an estimate); else area (said in degurba_weights)."""
    import geopandas as gpd
    import numpy as np

    from gis._files import refuse_overwrite, require_writable_folder, write_csv
    from gis.degurba.classify import classify_grid
    from gis.degurba.grid import GHSL_CRS, snap_bounds
    from gis.degurba.population import read_population
    from gis.degurba.rasters import ClassGrid, read_class_geotiff
    from gis.degurba.rules import load_rules
    from gis.degurba.zonal import degurba_units

    if out_path.suffix.lower() not in (".gpkg", ".csv"):
        raise GisError(f"--out {out_path}: expected a .gpkg or .csv file name")
    if unit_population is not None and population_path is not None:
        raise GisError("--unit-population and --population are two sources of weights; give one")
    refuse_overwrite([out_path], overwrite)
    rules = load_rules(rules_name).with_distance(sduc_distance_km)
    require_writable_folder(out_path, "--out")
    frame, users = _read_units(units, province, units_layer, skip_invalid)
    stage(f"{len(frame)} units")
    if dissolve_by is not None:
        from gis.degurba.zonal import dissolve_units

        if unit_population is not None:
            raise GisError("--dissolve-by with --unit-population: dissolve the table first (the column's totals would be lost)")
        frame = dissolve_units(frame, dissolve_by)
        stage(f"dissolved by {dissolve_by}: {len(frame)} units")
    totals = None
    if unit_population is not None:
        from gis.degurba.census_weights import unit_population_column

        totals = unit_population_column(frame, unit_population, f"--units {units}")
    unit_window = snap_bounds(tuple(frame.to_crs(GHSL_CRS).total_bounds))
    population = None
    if grid_path is not None:
        class_grid = read_class_geotiff(grid_path)
        recorded = _recorded_rules(grid_path)
        rules_note = f"grid {grid_path.name} ({recorded}); Stage II shares of {rules.name}"
        if population_path is not None:
            stage(f"reading {population_path} onto the class grid")
            population = read_population(population_path, class_grid.window).values
    elif population_path is not None:
        stage(f"reading {population_path} and classifying ({rules.describe()})")
        layer = read_population(population_path)
        class_grid = ClassGrid(classify_grid(layer.values, rules=rules).level2, layer.window)
        population = layer.values
        rules_note = f"rules {rules.describe()}"
    else:
        from gis.degurba.official import ATTRIBUTION, cells_touching, official_grid

        stage("sampling the official GHS-WUP-DEGURBA 2025 grid" + (" (area weights)" if totals is None else ""))
        cells = cells_touching(frame.to_crs(GHSL_CRS).geometry.values, unit_window)
        class_grid = official_grid(unit_window, cells, progress=stage)
        stage(f"source: {ATTRIBUTION}")
        rules_note = f"grid: official JRC GHS-WUP-DEGURBA (its own Stage I rules); Stage II shares of {rules.name}"
        stage(f"note: the Stage I rules of {rules.name} do not apply to the official grid, only its Stage II shares")
    if totals is not None:
        from gis.degurba.census_weights import dasymetric_polygons

        stage(f"Stage II weighted by {unit_population} spread over the grid by fitted class densities (estimate)")
        result, density, _ = dasymetric_polygons(frame, totals, class_grid.codes, class_grid.window, where=f"--units {units}", rules=rules)
        # "; " between classes: the urban centre's labels hold a comma ("30, depth 1 km").
        stage("fitted densities (persons/km²): " + "; ".join(
            f"{c}: {d:,.0f}" for c, d in zip(density["density_class"], density["density_fitted"]))
            + f" | rms relative residual {density['rms_relative_residual'].iloc[0]:.3f}")
        far = result["population_implausible"].fillna(False).to_numpy(dtype=bool)
        if far.any():
            listed = ", ".join(_unit_labels(frame)[far][:10]) + (" …" if far.sum() > 10 else "")
            stage(f"note: {int(far.sum())} unit(s) whose {unit_population} is 10x or more off what their grid cells hold "
                  f"(check the figures): {listed}")
        missing = result["population"].isna()
        if missing.any():
            stage(f"note: {int(missing.sum())} unit(s) without {unit_population}: no estimate, no class")
        stable = result["degurba_l1_stable"]
        stage(f"Level 1 stable for {int(stable.fillna(False).sum())} of {int(stable.notna().sum())} units")
    else:
        stage("Stage II (" + ("exact coverage fractions" if rules.units.cell_weights == "coverage"
                              else "each cell wholly to the unit holding its centre, GHSL's official workflow") + ")")
        # The units' own columns (a dissolved file: its --dissolve-by column) are attached after.
        result = degurba_units(frame, class_grid.codes, class_grid.window, population, keep_columns=(), rules=rules)
    result["degurba_rules"] = rules_note
    from gis.degurba.zonal import MAX_NODATA_SHARE

    unknown = result["nodata_share"].to_numpy() > MAX_NODATA_SHARE
    if unknown.any():
        stage(f"note: {int(unknown.sum())} unit(s) have no class: more than {MAX_NODATA_SHARE:.0%} of their area lies on "
              "cells without data or off the grid (see nodata_km2)")
    outside = (result["nodata_km2"].to_numpy() > 0) & ~unknown
    if outside.any():
        stage(f"note: {int(outside.sum())} unit(s) partly on cells without data (see nodata_km2)")
    counts = np.unique(result["degurba_l2"].dropna().astype("int64"), return_counts=True)
    result = _with_unit_columns(frame, users, result, f"--units {units}")
    if out_path.suffix.lower() == ".csv":
        write_csv(result, out_path)
    else:
        from gis.outputs.units_style import write_units_geopackage

        write_units_geopackage(out_path, gpd.GeoDataFrame(result, geometry=frame.geometry.to_numpy(), crs=frame.crs))
    wrote(out_path)
    stage("units per class: " + ", ".join(f"{c}: {n}" for c, n in zip(*counts)))


def _recorded_rules(path: Path) -> str:
    """The rules a class GeoTIFF records (``DEGURBA_RULES`` tag), or says it records none."""
    import rasterio

    with rasterio.open(path) as src:
        return src.tags().get("DEGURBA_RULES", "rules not recorded")


@degurba.command()
@click.argument("grid_a", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("grid_b", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--units", default=None, help="Also compare units: counties, prefectures, or a polygon file (GeoPackage, GeoJSON, Shapefile).")
@options.province()
@options.units_layer
@options.skip_invalid
@click.option(
    "--population",
    "population_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --units: weight Stage II by this population raster (default: by area).",
)
@options.rules
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: cell_changes.csv, unit_changes.csv, unit_classes.csv (every column of a --units file kept), compare.html.",
)
@options.overwrite
def compare(grid_a, grid_b, units, units_layer, skip_invalid, province, population_path, rules_name, out_dir, overwrite) -> None:
    """Change matrices between two Level 2 class grids A and B (and their units)."""
    from gis._files import refuse_overwrite, require_writable_folder
    from gis.degurba.compare import Comparison, cell_change_matrix, unit_change_matrix, unit_changes, write_comparison
    from gis.degurba.population import read_population
    from gis.degurba.rasters import read_class_geotiff
    from gis.degurba.rules import load_rules
    from gis.degurba.zonal import degurba_units

    names = ["cell_changes.csv", "compare.html"] + (["unit_changes.csv", "unit_classes.csv"] if units else [])
    refuse_overwrite([out_dir / name for name in names], overwrite)
    require_writable_folder(out_dir, "--out", is_folder=True)
    if population_path is not None and units is None:
        raise GisError("--population weights the unit change matrix: give --units too")
    rules = load_rules(rules_name)
    first, second = read_class_geotiff(grid_a), read_class_geotiff(grid_b)
    labels = (f"{grid_a.name} ({_recorded_rules(grid_a)})", f"{grid_b.name} ({_recorded_rules(grid_b)})")
    cells = cell_change_matrix(first, second)
    unit_matrix = unit_rows = None
    if units is not None:
        frame, users = _read_units(units, province, units_layer, skip_invalid)
        population = read_population(population_path, first.window).values if population_path else None
        weights = "population" if population is not None else "area"
        stage(f"{len(frame)} units, Stage II weighted by {weights}, shares of {rules.name}")
        results = [degurba_units(frame, grid.codes, grid.window, population, rules=rules) for grid in (first, second)]
        unit_matrix = unit_change_matrix(*results)
        # unit_changes on no columns: the unit's own columns come from _with_unit_columns.
        unit_rows = _with_unit_columns(frame, users, unit_changes(frame.iloc[:, :0], *results), f"--units {units}")
        labels = tuple(f"{label}; units weighted by {weights}, shares of {rules.name}" for label in labels)
    for path in write_comparison(Comparison(labels, cells, unit_matrix, unit_rows), out_dir):
        wrote(path)
    changed = int(cells.to_numpy().sum() - cells.to_numpy().trace())
    stage(f"{changed} of {int(cells.to_numpy().sum())} cells change class")
    if unit_rows is not None:
        stage(f"{int(unit_rows['changed'].sum())} of {len(unit_rows)} units change Level 2 class")
