"""The ``gis`` command line: small commands that compose, in the manner of rasterio's ``rio``.

Each command lives in its own module of this package; this one only assembles the group
and turns :class:`gis.errors.GisError` into a one-line message and exit status 2.
"""

from __future__ import annotations

import importlib

import click

from gis.errors import GisError

# Modules of this package that each define one click command or group named in the tuple.
_COMMANDS = (
    ("gis.cli.build", "build"),
    ("gis.cli.maps", "map"),
    ("gis.cli.data", "template"),
    ("gis.cli.data", "check"),
    ("gis.cli.data", "index_command"),
    ("gis.cli.data", "lisa"),
    ("gis.cli.degurba", "degurba"),
)


class _InputError(click.ClickException):
    """Bad input: one line on stderr, exit status 2 (as click does for usage errors)."""

    exit_code = GisError.exit_code


class _GisGroup(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GisError as error:
            raise _InputError(str(error)) from None


@click.group(cls=_GisGroup)
@click.version_option(package_name="gis-urban-rural")
def main() -> None:
    """Urban-rural integration planning: boundaries, indicators, Degree of Urbanisation,
    styled GeoPackages and offline HTML maps."""


for _module, _name in _COMMANDS:
    main.add_command(getattr(importlib.import_module(_module), _name))
