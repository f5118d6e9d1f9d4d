"""The ``gis`` command line: small commands that compose, in the manner of rasterio's ``rio``.

One module per command (or command group) in this package; shared options are declared once
in :mod:`gis.cli.options`. Commands are imported only when run, and each imports the library
modules it uses inside its body, so ``gis --help`` starts without NumPy, pandas or GDAL.
:class:`gis.errors.GisError` becomes a one-line message and exit status 2.
"""

from __future__ import annotations

import importlib
import os

import click

from gis.errors import GisError

#: name -> (module, attribute, one-line help shown by ``gis --help``).
COMMANDS = {
    "build": ("gis.cli.build", "build", "Build a province's styled GeoPackage, class grids and HTML maps."),
    "map": ("gis.cli.maps", "map_command", "Draw offline HTML maps from map specs (TOML)."),
    "figure": ("gis.cli.figure", "figure", "Draw a print figure (PNG, SVG, PDF) of a map spec."),
    "template": ("gis.cli.template", "template", "Write a fill-in table for your own indicator data."),
    "check": ("gis.cli.check", "check", "Validate your tables and print the join report; build nothing."),
    "index": ("gis.cli.index", "index_command", "Integration index: entropy or entropy-TOPSIS, panel weights, obstacle degree, coupling coordination."),
    "lisa": ("gis.cli.lisa", "lisa", "Hot spots of one indicator: local Moran's I clusters."),
    "inequality": ("gis.cli.inequality", "inequality", "Theil, Gini (Dagum) and CV of one indicator, between and within groups, by year."),
    "geodetector": ("gis.cli.geodetector", "geodetector_command", "Geographical detector: factor q, interactions, risk and ecological detectors."),
    "degurba": ("gis.cli.degurba", "degurba", "Degree of Urbanisation of a population grid or of units."),
    "access": ("gis.cli.access", "access", "Population-weighted access to facilities: shares within reach, mean distance or time, 2SFCA."),
    "qgis": ("gis.cli.qgis", "qgis", "The QGIS plugin (Processing provider 城乡融合 / Urban-rural): install it or zip it."),
}


class _InputError(click.ClickException):
    """Bad input: one line on stderr, exit status 2 (as click does for usage errors)."""

    exit_code = GisError.exit_code


class _LazyGroup(click.Group):
    """A group whose commands are imported on use; ``--help`` lists them from :data:`COMMANDS`."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx, formatter):
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, _, help_text) in COMMANDS.items()])

    def invoke(self, ctx):
        from gis._files import disk_full_message, is_disk_full, terminate_cleanly

        try:
            # Every command: SIGTERM unwinds like Ctrl-C, so temporary files and folders go.
            with terminate_cleanly():
                return super().invoke(ctx)
        except GisError as error:
            raise _InputError(str(error)) from None
        except OSError as error:  # a full disk outside gis._files.atomic_path (temporary folders)
            if not is_disk_full(error):
                raise
            where = os.path.dirname(error.filename) if getattr(error, "filename", None) else os.getcwd()
            raise _InputError(disk_full_message(where, getattr(error, "filename", None) and os.path.basename(error.filename))) from None


@click.group(cls=_LazyGroup)
@click.version_option(package_name="gis-urban-rural", prog_name="gis")
def main() -> None:
    """Urban-rural integration planning: boundaries, indicators, Degree of Urbanisation,
    styled GeoPackages and offline HTML maps."""
