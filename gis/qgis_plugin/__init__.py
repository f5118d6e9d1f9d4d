"""QGIS plugin 城乡融合 / Urban-rural: a Processing provider that runs the ``gis`` command.

This folder is copied into a QGIS profile by ``gis qgis install`` (or zipped by ``gis qgis
zip``) as the plugin ``urbanrural``. It runs inside QGIS's own Python, so it imports only
QGIS (``qgis.core``, ``qgis.PyQt``, ``processing``) and the standard library, never the
``gis`` package or its dependencies: each algorithm runs the user's ``gis`` executable as a
subprocess (:mod:`.runner`).
"""


def classFactory(iface):  # noqa: N802 (the name QGIS looks for)
    """QGIS's entry point; ``iface`` is None when loaded headless (``qgis_process``)."""
    from .plugin import UrbanRuralPlugin

    return UrbanRuralPlugin(iface)
