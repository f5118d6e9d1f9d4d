"""Run by Debian's system Python (python3-qgis): load GeoPackage layers the way QGIS does,
report what QGIS sees as JSON on stdout, and render them to a PNG.

Usage: python3 render_gpkg.py GPKG LAYER[,LAYER...] OUT.png
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

application = QgsApplication([], False)
application.initQgis()
gpkg, names, png = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
report, layers = {}, []
for name in names:
    layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
    entry = {"valid": layer.isValid()}
    if layer.isValid():
        renderer = layer.renderer()
        entry.update(
            features=layer.featureCount(),
            crs=layer.crs().authid(),
            renderer=renderer.type(),
            labels=layer.labelsEnabled(),
            label_field=layer.labeling().settings().fieldName if layer.labeling() else None,
            rules=[
                {"label": rule.label(), "filter": rule.filterExpression(), "colour": rule.symbol().color().name()}
                for rule in renderer.rootRule().children()
            ] if renderer.type() == "RuleRenderer" else [],
        )
        layers.append(layer)
    report[name] = entry
settings = QgsMapSettings()
settings.setLayers(layers)
settings.setDestinationCrs(layers[0].crs())
extent = layers[-1].extent()
extent.scale(1.05)
settings.setExtent(extent)
settings.setOutputSize(QSize(800, 800))
settings.setBackgroundColor(QColor("white"))
job = QgsMapRendererSequentialJob(settings)
job.start()
job.waitForFinished()
job.renderedImage().save(png)
print(json.dumps(report, ensure_ascii=False))
sys.stdout.flush()
# QGIS 3.22 can crash in exitQgis() while layers are still alive; nothing is left to save.
os._exit(0)
