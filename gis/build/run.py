"""``gis build`` as a library call: plan the outputs, check them, assemble, write.

:func:`plan_build` decides every file a build writes (one place for the names); :func:`run_build`
checks the plan against existing files before any slow work, assembles the layers
(:func:`gis.build.assemble.assemble`) and writes the GeoPackage, the class GeoTIFFs, the
population estimate GeoTIFF (census weights), the agreement CSV and the maps, each atomically. The CLI only parses options and calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gis.errors import GisError


@dataclass(frozen=True)
class BuildPlan:
    """Every file one build writes, under ``out_dir``."""

    out_dir: Path
    slug: str
    national: bool
    map_specs: tuple[Path, ...]
    with_degurba: bool
    with_agreement: bool
    with_population_estimate: bool = False
    figure_files: tuple[Path, ...] = ()

    @property
    def gpkg(self) -> Path:
        return self.out_dir / f"{self.slug}.gpkg"

    def class_grid(self, level: int) -> Path:
        return self.out_dir / f"{self.slug}_degurba_l{level}.tif"

    @property
    def agreement(self) -> Path:
        return self.out_dir / f"{self.slug}_degurba_agreement.csv"

    @property
    def agreement_summary(self) -> Path:
        return self.out_dir / f"{self.slug}_degurba_agreement_summary.csv"

    @property
    def population_estimate(self) -> Path:
        """The census-dasymetric population grid (float32 persons per 1 km cell, an estimate)."""
        return self.out_dir / f"{self.slug}_population_estimate.tif"

    @property
    def coverage(self) -> Path:
        return self.out_dir / f"{self.slug}_coverage.txt"

    @property
    def maps_dir(self) -> Path:
        return self.out_dir / "maps"

    @property
    def figures_dir(self) -> Path:
        """``--figures``: PNG, SVG and PDF of every map drawn (:mod:`gis.figures`)."""
        return self.out_dir / "figures"

    def stale_files(self) -> list[Path]:
        """Outputs of the same slug an earlier build with other options wrote and this one will
        not: class grids under ``--no-degurba``, the agreement CSVs without ``--population``,
        the population estimate without census weights. Left beside the new GeoPackage they
        would contradict it."""
        stale = [] if self.with_degurba else [self.class_grid(2), self.class_grid(1)]
        if not self.with_agreement:
            stale += [self.agreement, self.agreement_summary]
        if not self.with_population_estimate:
            stale.append(self.population_estimate)
        return [path for path in stale if path.exists()]

    def files(self) -> list[Path]:
        """The files this build will write (per-province map pages of a national build aside:
        their names depend on the data)."""
        files = [self.gpkg, self.maps_dir / "index.html", *(self.maps_dir / f"{p.stem}.html" for p in self.map_specs)]
        if self.with_degurba:
            files += [self.class_grid(2), self.class_grid(1)]
        if self.with_agreement:
            files += [self.agreement, self.agreement_summary]
        if self.with_population_estimate:
            files.append(self.population_estimate)
        if self.national:
            files.append(self.coverage)
        return files + list(self.figure_files)


@dataclass
class BuildOptions:
    """What ``gis build`` was asked for (see ``gis build --help``)."""

    province: str = "330000"
    out_dir: Path = Path("out")
    epsg: int = 4326
    data_paths: tuple[Path, ...] = ()
    sheet: str | None = None  # worksheet of the XLSX data_paths
    allow_unmatched: bool = False
    year: int | None = None
    population_path: Path | None = None
    population_values: str = "counts"
    rules: str | None = None  # preset name or rules file (None: manual-2021)
    sduc_distance_km: float | None = None  # overrides the rules' distance_km
    weights: str = "census"
    with_degurba: bool = True
    basemap: str | None = None
    layers_dir: Path | None = None
    maps_dir: Path | None = None
    overwrite: bool = False
    figures: bool = False  # also print figures of the maps (gis.figures)


#: Layer sources that exist only in some builds, by design: no note when they are absent (the
#: maritime line outside national, 广东 and 海南 builds; DEGURBA tables with --no-degurba or
#: area weights).
_BUILT_ONLY_WHEN_THEY_APPLY = ("maritime_line", "degurba_grid", "degurba_class_density", "degurba_rules")


def output_crs(epsg: int):
    """The GeoPackage CRS for ``--crs``: a geographic EPSG CRS (4326 WGS-84, 4490 CGCS2000)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_epsg(epsg)
    except CRSError:
        raise GisError(f"--crs {epsg}: not an EPSG code pyproj knows (e.g. 4326 WGS-84, 4490 CGCS2000)") from None
    if not crs.is_geographic:
        raise GisError(f"--crs {epsg}: expected a geographic CRS such as 4326 (WGS-84) or 4490 (CGCS2000)")
    return crs


def plan_build(options: BuildOptions) -> BuildPlan:
    """The files a build will write; raises :class:`GisError` for an unknown province."""
    from gis.maps import default_spec_paths
    from gis.specs import specs_dir
    from gis.units.boundaries import NATIONAL, province_slug

    return BuildPlan(
        out_dir=Path(options.out_dir),
        slug=province_slug(options.province),
        national=options.province.strip().lower() == NATIONAL,
        map_specs=tuple(default_spec_paths(options.maps_dir or specs_dir("maps"))),
        with_degurba=options.with_degurba,
        with_agreement=options.population_path is not None,
        with_population_estimate=options.with_degurba and options.population_path is None and options.weights == "census",
    )


def run_build(options: BuildOptions, progress: Callable[[str], None] = print, say: Callable[[str], None] = print) -> list[Path]:
    """Run a whole build; return the files written, in order.

    ``progress`` gets what is being done (the CLI prints it on stderr), ``say`` the results a
    user reads (the agreement table; the CLI prints it on stdout).
    """
    from gis._files import folder_lock, require_writable_folder, terminate_cleanly

    # Found before any work: an --out that cannot be written (read-only, or a file in the way).
    require_writable_folder(options.out_dir, "--out", is_folder=True)
    # One build per output folder at a time: a second one fails at once naming the first.
    with folder_lock(options.out_dir, "gis build"), terminate_cleanly():
        return _run_locked(options, progress, say)


def _inputs(options: BuildOptions) -> dict[str, object]:
    """The files a build reads, by the option naming them."""
    rules = Path(options.rules) if options.rules and Path(options.rules).suffix.lower() == ".toml" else None
    return {"--population": options.population_path, "--data": list(options.data_paths), "--rules": rules}


def _remove_leftovers(plan: BuildPlan, progress: Callable[[str], None]) -> None:
    """Remove the temporary files of killed runs (``.NAME.partial-*``) from the output folder and
    its maps folder. Safe: the caller holds the folder's lock, so no other build is writing."""
    from gis._files import partial_leftovers

    for path in partial_leftovers(plan.out_dir) + partial_leftovers(plan.maps_dir) + partial_leftovers(plan.figures_dir):
        path.unlink(missing_ok=True)
        progress(f"removed {path}, left by an interrupted run")


def _run_locked(options: BuildOptions, progress, say) -> list[Path]:
    from gis._files import refuse_inputs_as_outputs, refuse_overwrite, write_text_atomic
    from gis.build.assemble import assemble, check_weights
    from gis.degurba.official import write_agreement_csv
    from gis.degurba.rasters import write_class_geotiff, write_population_estimate
    from gis.degurba.rules import load_rules
    from gis.maps import load_spec, render_maps
    from gis.outputs.gpkg import OutputLayer, write_geopackage
    from gis.outputs.layer_specs import SOURCES, load_layer_specs, resolve_styles
    from gis.specs import specs_dir
    from gis.units.national import coverage_notes

    crs = output_crs(options.epsg)
    rules = load_rules(options.rules).with_distance(options.sduc_distance_km)  # checked before slow work
    if options.population_path is not None and not options.with_degurba:
        raise GisError("--population is for the Degree of Urbanisation; it cannot go with --no-degurba")
    check_weights(options.weights, options.population_path)  # before the slow work, as assemble does
    if options.sduc_distance_km is not None and options.population_path is None and options.with_degurba:
        progress("note: --sduc-distance-km applies when our engine classifies a --population raster; "
                 "the official grid's Stage I is the JRC's, so it changes nothing here")
    # Everything is checked before the slow work: layer and map specs, and existing outputs.
    # Layers in the order a GIS user reads them: province, prefectures, counties, grid, tables.
    specs = sorted(load_layer_specs(options.layers_dir or specs_dir("layers")), key=lambda spec: SOURCES.index(spec.source))
    plan = plan_build(options)
    loaded = [load_spec(path) for path in plan.map_specs]
    if options.figures:
        from dataclasses import replace

        from gis.figures.fonts import cjk_font
        from gis.figures.write import FORMATS, figure_name, figure_views

        cjk_font()  # no Chinese font: said before the slow work
        if not plan.national:  # (a national build's county figures are named by province, like its pages)
            plan = replace(plan, figure_files=tuple(plan.figures_dir / f"{figure_name(spec, view)}{suffix}"
                                                    for spec in loaded for view in figure_views(spec) for suffix in FORMATS))
    stale = plan.stale_files()
    # An input inside --out (the population estimate of an earlier build given as --population)
    # is never written over nor removed as stale.
    refuse_inputs_as_outputs(plan.files(), _inputs(options), removed=stale)
    _remove_leftovers(plan, progress)
    refuse_overwrite(plan.files() + stale, options.overwrite)

    built = assemble(
        options.province, options.data_paths, options.allow_unmatched, options.year,
        with_degurba=options.with_degurba, population_path=options.population_path,
        population_values=options.population_values, rules=rules, progress=progress,
        weights=options.weights, sheet=options.sheet,
    )
    tables = built.tables
    if built.degurba is not None:
        from gis.degurba.zonal import MAX_NODATA_SHARE

        counties = built.degurba.counties
        names = tables["counties"].set_index("adcode")["name"]
        unknown = counties["nodata_share"] > MAX_NODATA_SHARE
        for rows, what in ((unknown, f"have no class: more than {MAX_NODATA_SHARE:.0%} of their area lies on grid cells "
                                     "without data or off the grid (no data on maps; see nodata_km2)"),
                           ((counties["nodata_km2"] > 0) & ~unknown, "lie partly on grid cells without a class (see nodata_km2)")):
            if rows.any():
                listed = [f"{names.get(c, '')} {c}" for c in counties.loc[rows, "adcode"]]
                progress(f"note: {len(listed)} county-level unit(s) {what}: " + ", ".join(listed[:20])
                         + (f" … ({len(listed) - 20} more)" if len(listed) > 20 else ""))

    layers, notes = [], []
    for spec in specs:
        if spec.source not in tables:
            if spec.source not in _BUILT_ONLY_WHEN_THEY_APPLY:
                notes.append(f"layer {spec.name}: no {spec.source} table in this build, skipped")
            continue
        styles, style_notes = resolve_styles(spec, tables[spec.source])
        notes += style_notes
        layers.append(OutputLayer(spec.name, tables[spec.source], spec.title, spec.description, styles))
    for note in notes:
        progress(note)

    written = []
    if plan.national:
        # What the boundary data holds and lacks across the country, said rather than guessed.
        lines = coverage_notes(built.boundaries)
        for line in lines:
            progress(line)
        written.append(write_text_atomic(plan.coverage, "\n".join(lines) + "\n"))
    progress(f"writing {plan.gpkg}")
    written.append(write_geopackage(plan.gpkg, layers, crs=crs))
    if built.degurba is not None:
        degurba = built.degurba
        tags = degurba.geotiff_tags()
        written.append(write_class_geotiff(plan.class_grid(2), degurba.grid_l2.codes, degurba.grid_l2.transform, level=2, tags=tags))
        written.append(write_class_geotiff(plan.class_grid(1), degurba.grid_l1.codes, degurba.grid_l1.transform, level=1, tags=tags))
        progress(f"Degree of Urbanisation: {degurba.rules_note}")
        if degurba.population_estimate is not None and plan.with_population_estimate:
            written.append(write_population_estimate(plan.population_estimate, degurba.population_estimate,
                                                     degurba.grid_l2.transform, degurba.source))
        if degurba.agreement is not None:
            written += write_agreement_csv(degurba.agreement, plan.agreement)
            progress(f"agreement with the official grid: {degurba.agreement.percent_same:.1f}% of "
                     f"{degurba.agreement.cells_compared} cells in the same Level 2 class")
            say(degurba.agreement.confusion.to_string())
    progress(f"drawing {len(plan.map_specs)} map(s)")
    pages = render_maps(plan.map_specs, tables, plan.maps_dir, basemap=options.basemap, place=built.place,
                        rasters=built.rasters,
                        on_note=lambda spec, message: progress(f"{spec.name}: {message}"))
    written += pages
    if options.figures:
        from gis.figures.write import write_figures

        progress("drawing the print figures (PNG, SVG, PDF)")
        written += write_figures(plan.map_specs, tables, plan.figures_dir, place=built.place,
                                 pages=[p.stem for p in pages if p.name != "index.html"],
                                 on_note=lambda name, message: progress(f"figure {name}: {message}"))
    for path in stale:  # only once the new outputs are in place
        path.unlink(missing_ok=True)
        progress(f"removed {path}: this build's options do not produce it")
    return written
