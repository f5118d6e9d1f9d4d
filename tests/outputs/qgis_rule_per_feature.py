"""Run by Debian's system Python (python3-qgis): load one GeoPackage layer with its default
style, as QGIS does, and print as JSON which legend rule QGIS draws each feature with.

Usage: python3 qgis_rule_per_feature.py GPKG LAYER KEY_FIELD
"""

import json
import os
import sys

from qgis.core import QgsApplication, QgsRenderContext, QgsVectorLayer

application = QgsApplication([], False)
application.initQgis()
gpkg, name, key = sys.argv[1], sys.argv[2], sys.argv[3]
layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
renderer = layer.renderer()
context = QgsRenderContext()
renderer.startRender(context, layer.fields())
labels = {rule.ruleKey(): rule.label() for rule in renderer.rootRule().children()}
drawn = {}
for feature in layer.getFeatures():
    keys = renderer.legendKeysForFeature(feature, context)
    drawn[str(feature[key])] = sorted(labels[k] for k in keys if k in labels)
renderer.stopRender(context)
print(json.dumps({"renderer": renderer.type(), "drawn": drawn}, ensure_ascii=False))
sys.stdout.flush()
os._exit(0)
