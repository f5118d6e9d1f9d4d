"""The Processing provider ``urbanrural`` (城乡融合 / Urban-rural) and its setting: which
``gis`` executable to run."""

import os

from qgis.core import QgsProcessingProvider

#: Provider setting: path of the ``gis`` executable (empty: ``gis`` on PATH).
GIS_SETTING = "URBANRURAL_GIS_COMMAND"


class UrbanRuralProvider(QgsProcessingProvider):
    def id(self):
        return "urbanrural"

    def name(self):
        return "城乡融合 / Urban-rural"

    def longName(self):  # noqa: N802
        return "城乡融合 / Urban-rural (Degree of Urbanisation, gis-urban-rural)"

    def icon(self):
        return QgsProcessingProvider.icon(self)

    def load(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig, Setting
        except ImportError:  # Processing plugin absent: PATH only
            pass
        else:
            ProcessingConfig.settingIcons[self.name()] = self.icon()
            ProcessingConfig.addSetting(Setting(
                self.name(), GIS_SETTING, "gis command (empty: 'gis' on PATH)", "", valuetype=Setting.FILE,
            ))
            ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self):
        try:
            from processing.core.ProcessingConfig import ProcessingConfig
        except ImportError:
            return
        ProcessingConfig.removeSetting(GIS_SETTING)

    def loadAlgorithms(self):  # noqa: N802
        from .algorithms import Access, Build, DegurbaGrid, DegurbaUnits

        for algorithm in (DegurbaUnits(), DegurbaGrid(), Build(), Access()):
            self.addAlgorithm(algorithm)


def gis_command():
    """The ``gis`` executable: the provider setting, else ``$URBANRURAL_GIS``, else the one that
    installed this plugin (``gis_command.txt``, written by ``gis qgis install``), else ``gis`` on
    PATH; None when none is found."""
    import shutil

    configured = ""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        configured = ProcessingConfig.getSetting(GIS_SETTING) or ""
    except ImportError:
        pass
    configured = configured or os.environ.get("URBANRURAL_GIS", "")
    if configured:
        return configured if os.path.isfile(configured) else None
    recorded = os.path.join(os.path.dirname(__file__), "gis_command.txt")
    if os.path.isfile(recorded):
        with open(recorded, encoding="utf-8") as handle:
            path = handle.read().strip()
        if os.path.isfile(path):
            return path
    return shutil.which("gis")
