"""Run by Debian's system Python (python3-qgis) under QgsApplication, offscreen: load the
installed plugin headless as qgis_process does, run its algorithms through processing.run and
report what came out as JSON on stdout (last line).

Usage: python3 run_in_qgis.py PLUGINS_DIR GIS_EXECUTABLE WORK_DIR [build]
WORK_DIR holds townships.gpkg (layer townships), broken.gpkg and population.tif.
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingFeedback,
    QgsRasterLayer,
    QgsVectorLayer,
)

application = QgsApplication([], False)
application.initQgis()
sys.path.append("/usr/share/qgis/python/plugins")
from processing.core.Processing import Processing  # noqa: E402

Processing.initialize()
import processing  # noqa: E402
from processing.core.ProcessingConfig import ProcessingConfig  # noqa: E402

plugins, gis, work = sys.argv[1], sys.argv[2], sys.argv[3]
with_build = len(sys.argv) > 4 and sys.argv[4] == "build"
sys.path.insert(0, plugins)
import urbanrural  # noqa: E402

plugin = urbanrural.classFactory(None)  # headless: no iface
plugin.initProcessing()
registry = QgsApplication.processingRegistry()
provider = registry.providerById("urbanrural")
report = {
    "provider": provider.name() if provider else None,
    "algorithms": sorted(a.id() for a in provider.algorithms()) if provider else [],
    "plugin_file": urbanrural.__file__,
}
ProcessingConfig.setSettingValue("URBANRURAL_GIS_COMMAND", gis)


class Recorder(QgsProcessingFeedback):
    """Keeps what the algorithm told the log and the progress bar; cancels after ``cancel_after`` lines."""

    def __init__(self, cancel_after=None):
        super().__init__()
        self.lines, self.errors, self.progress, self.cancel_after = [], [], [], cancel_after
        self.progressChanged.connect(self.progress.append)

    def pushInfo(self, info):  # noqa: N802
        self.lines.append(info)
        if self.cancel_after is not None and len(self.lines) >= self.cancel_after:
            self.cancel()

    def reportError(self, error, fatalError=False):  # noqa: N802, N803
        self.errors.append(error)


def run(algorithm, parameters, feedback=None):
    feedback = feedback or Recorder()
    try:
        results = processing.run(algorithm, parameters, feedback=feedback)
        return {"ok": True, "results": {k: v for k, v in results.items() if isinstance(v, (str, list))},
                "lines": feedback.lines, "progress": feedback.progress[-3:]}
    except Exception as error:  # QgsProcessingException
        return {"ok": False, "exception": str(error), "errors": feedback.errors, "lines": feedback.lines}


def describe_vector(path):
    layer = QgsVectorLayer(path, "out", "ogr")
    renderer = layer.renderer()
    return {
        "valid": layer.isValid(),
        "fields": [f.name() for f in layer.fields()],
        "types": [f.typeName() for f in layer.fields()],
        "features": layer.featureCount(),
        "degurba_l2": [f["degurba_l2"] for f in layer.getFeatures()] if "degurba_l2" in layer.fields().names() else [],
        "renderer": renderer.type(),
        "rules": [r.filterExpression() for r in renderer.rootRule().children()] if renderer.type() == "RuleRenderer" else [],
        "label_field": layer.labeling().settings().fieldName if layer.labeling() else None,
    }


townships = QgsVectorLayer(os.path.join(work, "townships.gpkg") + "|layername=townships", "townships", "ogr")
raster = os.path.join(work, "population.tif")

# 1. The township file as it is on disk, weighted by the population raster.
out = os.path.join(work, "qgis_units.gpkg")
report["units"] = run("urbanrural:degurba_units", {"INPUT": townships, "POPULATION": raster, "RULES": 0, "OUTPUT": out})
if report["units"]["ok"]:
    report["units"]["layer"] = describe_vector(out + "|layername=degurba_units")

# 2. A memory layer (no file behind it): copied to a GeoPackage for the command.
memory = QgsVectorLayer("Polygon?crs=EPSG:4326", "towns in memory", "memory")
memory.dataProvider().addAttributes(townships.fields().toList()[1:])  # without the GeoPackage's fid
memory.updateFields()
features = []
for source in townships.getFeatures():
    feature = QgsFeature(memory.fields())
    feature.setGeometry(source.geometry())
    for name in memory.fields().names():
        feature[name] = source[name]
    features.append(feature)
memory.dataProvider().addFeatures(features)
out_memory = os.path.join(work, "qgis_units_memory.gpkg")
report["memory"] = run("urbanrural:degurba_units", {"INPUT": memory, "POPULATION": raster, "OUTPUT": out_memory})
if report["memory"]["ok"]:
    report["memory"]["layer"] = describe_vector(out_memory + "|layername=degurba_units")

# 3. A GisError becomes the algorithm's error.
broken = QgsVectorLayer(os.path.join(work, "broken.gpkg"), "broken", "ogr")
report["broken"] = run("urbanrural:degurba_units", {"INPUT": broken, "POPULATION": raster, "OUTPUT": os.path.join(work, "qgis_broken.gpkg")})

# 4. The grid: Level 2 and Level 1 rasters with their .qml styles.
grid = os.path.join(work, "qgis_grid.tif")
report["grid"] = run("urbanrural:degurba_grid", {"POPULATION": raster, "OUTPUT": grid})
for key, path in (("l2", grid), ("l1", grid.replace(".tif", "_l1.tif"))):
    layer = QgsRasterLayer(path, key, "gdal")  # picks up <stem>.qml as its default style
    renderer = layer.renderer()
    report["grid"][key] = {
        "valid": layer.isValid(), "renderer": renderer.type() if renderer else None,
        "labels": [c.label for c in renderer.classes()] if renderer and renderer.type() == "paletted" else [],
        "qml": os.path.exists(path[:-4] + ".qml"),
    }

# 7. Access: facility points of a memory layer (no file behind it), units from a GeoPackage
#    layer of the user's, the census estimate as population.
clinics = QgsVectorLayer("Point?crs=EPSG:4326&field=名称:string&field=床位:integer", "clinics", "memory")
points = []
for i, (lon, lat, beds) in enumerate(json.load(open(os.path.join(work, "clinics.json"), encoding="utf-8"))):
    feature = QgsFeature(clinics.fields())
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(lon, lat)))
    feature["名称"], feature["床位"] = f"合成卫生院{i}", beds
    points.append(feature)
clinics.dataProvider().addFeatures(points)
counties = QgsVectorLayer(os.path.join(work, "my_counties.gpkg") + "|layername=my_counties", "my counties", "ogr")
out_access = os.path.join(work, "qgis_access.gpkg")
report["access"] = run("urbanrural:access", {"FACILITIES": clinics, "CAPACITY": "床位", "UNITS": counties, "PROVINCE": "330000",
                                             "THRESHOLDS": "5, 10", "OUTPUT": out_access})
if report["access"]["ok"]:
    layer = QgsVectorLayer(out_access + "|layername=access_units", "access", "ogr")
    report["access"]["layer"] = {
        "fields": [f.name() for f in layer.fields()], "renderer": layer.renderer().type(),
        "rows": {f["name"]: [f["planner_note"], f["share_within_5km"], f["access_2sfca"]] for f in layer.getFeatures()},
    }

if with_build:
    # 5. A province's GeoPackage, its layers loaded with their default styles.
    folder = os.path.join(work, "qgis_build")
    report["build"] = run("urbanrural:build", {"PROVINCE": "330000", "OUTPUT_FOLDER": folder})
    if report["build"]["ok"]:
        gpkg = report["build"]["results"]["OUTPUT"]
        layers = report["build"]["results"]["LAYERS"]
        report["build"]["loaded"] = {}
        for name in ("counties", "prefectures"):
            layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")
            report["build"]["loaded"][name] = {"renderer": layer.renderer().type(), "features": layer.featureCount()}
        report["build"]["layer_count"] = len(layers)
    # 6. Cancel stops the command: no GeoPackage appears.
    cancelled = os.path.join(work, "qgis_cancelled")
    report["cancel"] = run("urbanrural:build", {"PROVINCE": "330000", "OUTPUT_FOLDER": cancelled}, Recorder(cancel_after=2))
    report["cancel"]["files"] = sorted(os.listdir(cancelled)) if os.path.isdir(cancelled) else []

print(json.dumps(report, ensure_ascii=False, default=repr))
