"""Installing the QGIS plugin shipped in the package (``gis/qgis_plugin/``) as ``urbanrural``.

QGIS loads plugins from ``<profiles>/profiles/<profile>/python/plugins/<name>/``; the
profiles folder is ``~/.local/share/QGIS/QGIS3`` on Linux, ``%APPDATA%\\QGIS\\QGIS3`` on
Windows and ``~/Library/Application Support/QGIS/QGIS3`` on macOS (QGIS's ``--profiles-path``
changes it, and so does ``profiles_path`` here). The copy gets the package's version in its
``metadata.txt`` and the rules presets of this installation in ``presets.txt``, so the plugin's
drop-down lists what this ``gis`` accepts.
"""

from __future__ import annotations

import os
import shutil
import sys
import zipfile
from pathlib import Path

from gis.errors import GisError

#: Folder name of the plugin in QGIS (and its Processing provider's id).
PLUGIN_NAME = "urbanrural"


def plugin_source() -> Path:
    """The plugin's folder inside the installed package."""
    return Path(__file__).resolve().parents[1] / "qgis_plugin"


def default_profiles_path() -> Path:
    """QGIS 3's profiles folder of this user on this system."""
    if sys.platform.startswith("win"):
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "QGIS" / "QGIS3"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "QGIS" / "QGIS3"
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "QGIS" / "QGIS3"


def plugin_files() -> dict[str, bytes]:
    """Relative path -> contents of every file of the plugin as installed (version and presets
    filled in; caches left out)."""
    from importlib.metadata import PackageNotFoundError, version

    from gis.degurba.rules import preset_names

    source = plugin_source()
    files = {str(p.relative_to(source)).replace(os.sep, "/"): p.read_bytes()
             for p in sorted(source.rglob("*")) if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    try:
        package_version = version("gis-urban-rural")
    except PackageNotFoundError:
        package_version = "0.0.0"
    metadata = files["metadata.txt"].decode("utf-8").replace("version=0.0.0", f"version={package_version}")
    files["metadata.txt"] = metadata.encode("utf-8")
    presets = preset_names()
    presets.sort(key=lambda name: name != "manual-2021")  # the default first
    files["presets.txt"] = ("\n".join(presets) + "\n").encode("utf-8")
    return files


def install_plugin(profile: str = "default", profiles_path: Path | None = None, gis_command: str | None = None) -> Path:
    """Copy the plugin into ``<profiles_path>/profiles/<profile>/python/plugins/urbanrural``,
    replacing an older copy only once the new one is complete. ``gis_command`` (the ``gis``
    executable doing the install) is recorded in ``gis_command.txt`` so QGIS, started from a
    desktop menu without this environment on its PATH, still finds it. Returns the plugin folder."""
    if not profile or any(c in profile for c in "/\\") or profile in (".", ".."):
        raise GisError(f"--profile {profile!r}: expected a QGIS profile name such as 'default'")
    base = Path(profiles_path) if profiles_path is not None else default_profiles_path()
    plugins = base / "profiles" / profile / "python" / "plugins"
    try:
        plugins.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise GisError(f"{plugins}: cannot create the QGIS plugins folder ({error.strerror})") from None
    target = plugins / PLUGIN_NAME
    staging = plugins / f".{PLUGIN_NAME}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    files = plugin_files()
    if gis_command:
        files["gis_command.txt"] = (gis_command + "\n").encode("utf-8")
    for name, data in files.items():
        path = staging / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    old = plugins / f".{PLUGIN_NAME}.old-{os.getpid()}"
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def zip_plugin(path: Path) -> Path:
    """Write the plugin as a zip for QGIS's Plugins → Manage and Install → Install from ZIP (one
    top folder ``urbanrural/``), atomically. Returns ``path``."""
    from gis._files import atomic_path

    with atomic_path(Path(path)) as temporary:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in plugin_files().items():
                archive.writestr(f"{PLUGIN_NAME}/{name}", data)
    return Path(path)
