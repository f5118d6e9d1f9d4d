"""``gis qgis``: the QGIS plugin shipped in the package (Processing provider 城乡融合 / Urban-rural)."""

from __future__ import annotations

from pathlib import Path

import click

from gis.cli.report import stage, wrote


@click.group()
def qgis() -> None:
    """The QGIS plugin: Processing algorithms that run this gis command from QGIS's toolbox."""


@qgis.command()
@click.option("--profile", default="default", show_default=True, help="QGIS user profile to install into.")
@click.option("--profiles-path", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="QGIS's profiles folder (as QGIS's own --profiles-path); default ~/.local/share/QGIS/QGIS3 "
                   "(Windows %APPDATA%\\QGIS\\QGIS3, macOS ~/Library/Application Support/QGIS/QGIS3).")
def install(profile, profiles_path) -> None:
    """Copy the plugin into a QGIS profile's python/plugins folder (replaces an older copy)."""
    import shutil
    import sys

    from gis.outputs.qgis_plugin import install_plugin

    # The gis of this environment (beside its Python), not whichever is first on PATH.
    beside = Path(sys.executable).with_name("gis.exe" if sys.platform.startswith("win") else "gis")
    here = str(beside) if beside.exists() else shutil.which("gis")
    target = install_plugin(profile, profiles_path, here)
    click.echo(f"installed the QGIS plugin in {target}")
    stage(f"restart QGIS and enable 城乡融合 Urban-rural in Plugins → Manage and Install Plugins; its algorithms run {here} "
          "(another one can be set in Settings → Options → Processing → Providers)")


@qgis.command("zip")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=Path("urbanrural.zip"), show_default=True,
              help="Zip to write, for Plugins → Manage and Install Plugins → Install from ZIP.")
@click.option("--overwrite", is_flag=True, help="Replace an existing zip.")
def zip_command(out_path, overwrite) -> None:
    """Write the plugin as a zip for QGIS's Install from ZIP."""
    from gis._files import refuse_overwrite
    from gis.outputs.qgis_plugin import zip_plugin

    refuse_overwrite([out_path], overwrite)
    wrote(zip_plugin(out_path))
