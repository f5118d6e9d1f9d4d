"""The plugin object QGIS holds: registers the Processing provider, with or without a GUI."""

from qgis.core import QgsApplication


class UrbanRuralPlugin:
    """``initProcessing`` registers the provider (QGIS calls it headless too); ``initGui``
    does the same when there is an interface; ``unload`` removes it."""

    def __init__(self, iface):
        self.iface = iface
        self.provider = None

    def initProcessing(self):  # noqa: N802 (QGIS's name)
        from .provider import UrbanRuralProvider

        if self.provider is None:
            self.provider = UrbanRuralProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self):  # noqa: N802
        self.initProcessing()

    def unload(self):
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
