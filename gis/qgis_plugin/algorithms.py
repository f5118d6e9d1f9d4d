"""The provider's algorithms: each builds a ``gis`` command line from its parameters, runs it
(:func:`.runner.run_gis`) and hands QGIS the files it wrote, styled."""

import os
import tempfile
from pathlib import Path

from qgis.core import (
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterField,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
    QgsProcessingParameterVectorLayer,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from .runner import run_gis, written
from .styles import style_class_raster

#: Rules presets when the installed copy does not list them (``presets.txt``, written by
#: ``gis qgis install`` from the package's own presets).
_DEFAULT_PRESETS = ("manual-2021", "ghsl-r2023a")


def rule_presets():
    """Preset names of the installed ``gis`` (``presets.txt`` beside this file), default first."""
    listed = Path(__file__).with_name("presets.txt")
    if listed.exists():
        names = [line.strip() for line in listed.read_text(encoding="utf-8").splitlines() if line.strip()]
        if names:
            return names
    return list(_DEFAULT_PRESETS)


class _GisAlgorithm(QgsProcessingAlgorithm):
    """Shared parts: names, group, help, the RULES / RULES_FILE pair."""

    _name = ""
    _display = ""
    _help = ""

    def name(self):
        return self._name

    def displayName(self):  # noqa: N802
        return self._display

    def group(self):
        return "城市化程度 Degree of Urbanisation"

    def groupId(self):  # noqa: N802
        return "degurba"

    def shortHelpString(self):  # noqa: N802
        return self._help

    def createInstance(self):  # noqa: N802
        return type(self)()

    def _add_rules(self):
        self.addParameter(QgsProcessingParameterEnum(
            "RULES", "规则 Rules (preset)", options=rule_presets(), defaultValue=0))
        self.addParameter(QgsProcessingParameterFile(
            "RULES_FILE", "规则文件 Rules file (.toml; overrides the preset)", extension="toml", optional=True))

    def _output_gpkg(self, parameters, context):
        """The OUTPUT layer's path, which must be a GeoPackage (the command writes its style there)."""
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        if not out.lower().endswith(".gpkg"):
            raise QgsProcessingException(f"OUTPUT {out}: choose a GeoPackage (.gpkg) file")
        return out

    def _population_arguments(self, parameters, context):
        """``--population FILE`` for an optional POPULATION raster, else nothing."""
        raster = self.parameterAsRasterLayer(parameters, "POPULATION", context)
        return ["--population", raster.source()] if raster is not None else []

    @staticmethod
    def _name_output(context, out, name):
        """The name OUTPUT gets in the project when QGIS loads it."""
        if context.willLoadLayerOnCompletion(out):
            context.layerToLoadOnCompletionDetails(out).name = name

    def _rules(self, parameters, context):
        path = self.parameterAsFile(parameters, "RULES_FILE", context)
        if path:
            return path
        return rule_presets()[self.parameterAsEnum(parameters, "RULES", context)]


def layer_file(layer, feedback):
    """``(path, layer name or None)`` of a vector layer for the ``gis`` command: the layer's own
    file when it is one (GeoPackage, Shapefile, GeoJSON … without a filter), else a copy written
    to a temporary GeoPackage (memory layers, databases, filtered layers)."""
    if layer.providerType() == "ogr" and not layer.subsetString():
        parts = layer.source().split("|")
        options = dict(part.split("=", 1) for part in parts[1:] if "=" in part)
        if os.path.isfile(parts[0]) and set(options) <= {"layername"}:
            return parts[0], options.get("layername")
    folder = tempfile.mkdtemp(prefix="urbanrural-")
    path = os.path.join(folder, "units.gpkg")
    feedback.pushInfo(f"writing {layer.name()} to {path} for the gis command")
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "units"
    writer = getattr(QgsVectorFileWriter, "writeAsVectorFormatV3", None) or QgsVectorFileWriter.writeAsVectorFormatV2
    from qgis.core import QgsCoordinateTransformContext

    result = writer(layer, path, QgsCoordinateTransformContext(), options)
    if result[0] != QgsVectorFileWriter.NoError:
        raise QgsProcessingException(f"cannot copy {layer.name()} to a GeoPackage: {result[1]}")
    return path, "units"


class DegurbaUnits(_GisAlgorithm):
    _name = "degurba_units"
    _display = "单元城市化程度 Degree of Urbanisation of polygons"
    _help = ("Stage II of the Degree of Urbanisation for any polygon layer (townships, zones …), with exact "
             "coverage fractions; every attribute of the layer is kept, ours follow (renamed *_gis on a clash). "
             "Weights: a POPULATION raster (classified with RULES); else a POPULATION_FIELD (each unit's residents, "
             "spread over the official grid by fitted class densities, an estimate); else area on the official grid. "
             "Runs: gis degurba units. The output GeoPackage carries the Level 2 style.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterVectorLayer(
            "INPUT", "单元 Polygons", types=[QgsProcessing.TypeVectorPolygon]))
        self.addParameter(QgsProcessingParameterField(
            "POPULATION_FIELD", "常住人口字段 Population field (optional)", parentLayerParameterName="INPUT",
            type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "POPULATION", "人口栅格 Population raster (optional)", optional=True))
        self._add_rules()
        self.addParameter(QgsProcessingParameterVectorDestination(
            "OUTPUT", "城市化程度 Degree of Urbanisation", type=QgsProcessing.TypeVectorPolygon))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        layer = self.parameterAsVectorLayer(parameters, "INPUT", context)
        if layer is None:
            raise QgsProcessingException("INPUT: not a vector layer")
        out = self._output_gpkg(parameters, context)
        path, name = layer_file(layer, feedback)
        arguments = ["degurba", "units", "--units", path]
        if name:
            arguments += ["--layer", name]
        field = self.parameterAsFields(parameters, "POPULATION_FIELD", context)
        if field:
            arguments += ["--unit-population", field[0]]
        arguments += self._population_arguments(parameters, context)
        arguments += ["--rules", self._rules(parameters, context), "--out", out, "--overwrite"]
        run_gis(arguments, feedback, expected_stages=5)
        self._name_output(context, out, f"{layer.name()} 城市化程度 DEGURBA")
        return {"OUTPUT": out}


class DegurbaGrid(_GisAlgorithm):
    _name = "degurba_grid"
    _display = "格网城市化程度 Degree of Urbanisation of a population grid"
    _help = ("Stage I: a population raster (any CRS and resolution) onto the GHSL 1 km grid, classified into "
             "Level 1 and Level 2 (GHS-SMOD codes, GHSL colours and bilingual class labels). Runs: gis degurba grid.")

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterRasterLayer("POPULATION", "人口栅格 Population raster"))
        self.addParameter(QgsProcessingParameterEnum(
            "VALUES", "栅格值 Cell values", options=["counts (persons per cell)", "density (persons per km²)"], defaultValue=0))
        self._add_rules()
        self.addParameter(QgsProcessingParameterRasterDestination("OUTPUT", "第二级 Level 2 classes"))
        self.addOutput(QgsProcessingOutputRasterLayer("OUTPUT_L1", "第一级 Level 1 classes"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        raster = self.parameterAsRasterLayer(parameters, "POPULATION", context)
        out = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        if not out.lower().endswith((".tif", ".tiff")):
            raise QgsProcessingException(f"OUTPUT {out}: choose a GeoTIFF (.tif) file")
        values = ("counts", "density")[self.parameterAsEnum(parameters, "VALUES", context)]
        run_gis(["degurba", "grid", "--population", raster.source(), "--values", values,
                 "--rules", self._rules(parameters, context), "--out", out, "--overwrite"], feedback, expected_stages=4)
        stem, suffix = os.path.splitext(out)
        level1 = f"{stem}_l1{suffix}"
        style_class_raster(out, 2)
        style_class_raster(level1, 1)
        context.addLayerToLoadOnCompletion(level1, QgsProcessingContext.LayerDetails(
            "第一级 DEGURBA Level 1", context.project(), "OUTPUT_L1"))
        return {"OUTPUT": out, "OUTPUT_L1": level1}


class Access(_GisAlgorithm):
    _name = "access"
    _display = "公共服务可达性 Access to public services"
    _help = ("How far residents live from facilities (clinics, schools, care homes): for every populated 1 km cell the "
             "straight-line distance to the nearest facility (or, with ROADS, the travel time), summarised per unit as "
             "the share of residents within each threshold and the population-weighted mean, split urban/rural by the "
             "Degree of Urbanisation; with a CAPACITY field, Gaussian 2SFCA. Every attribute of UNITS is kept. "
             "Population: a POPULATION raster, else the 2020 census spread over the grid (an estimate). Runs: gis access.")
    _coords = ("wgs84", "gcj02", "bd09")

    def group(self):
        return "公共服务 Public services"

    def groupId(self):  # noqa: N802
        return "services"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterVectorLayer(
            "FACILITIES", "设施点 Facility points", types=[QgsProcessing.TypeVectorPoint]))
        self.addParameter(QgsProcessingParameterEnum(
            "COORDS", "坐标系 Datum of the points (gcj02: AMap/Tencent POIs, bd09: Baidu)", options=list(self._coords),
            defaultValue=0))
        self.addParameter(QgsProcessingParameterField(
            "CAPACITY", "容量字段 Capacity field (beds, places; optional, adds 2SFCA)", parentLayerParameterName="FACILITIES",
            type=QgsProcessingParameterField.Numeric, optional=True))
        self.addParameter(QgsProcessingParameterVectorLayer(
            "UNITS", "单元 Units (optional; default the province's counties)", types=[QgsProcessing.TypeVectorPolygon],
            optional=True))
        self.addParameter(QgsProcessingParameterString(
            "PROVINCE", "省份代码 Province adcode (6 digits)", defaultValue="330000"))
        self.addParameter(QgsProcessingParameterString(
            "THRESHOLDS", "阈值 Thresholds (km, or minutes with ROADS), e.g. 1,3,5", defaultValue="1,3,5"))
        self.addParameter(QgsProcessingParameterVectorLayer(
            "ROADS", "道路 Road lines (optional: travel time instead of distance)", types=[QgsProcessing.TypeVectorLine],
            optional=True))
        self.addParameter(QgsProcessingParameterRasterLayer(
            "POPULATION", "人口栅格 Population raster (optional)", optional=True))
        self.addParameter(QgsProcessingParameterVectorDestination(
            "OUTPUT", "可达性 Access", type=QgsProcessing.TypeVectorPolygon))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        out = self._output_gpkg(parameters, context)
        facilities = self.parameterAsVectorLayer(parameters, "FACILITIES", context)
        if facilities is None:
            raise QgsProcessingException("FACILITIES: not a vector layer")
        path, name = layer_file(facilities, feedback)
        arguments = ["access", "--facilities", path]
        if name:
            arguments += ["--facilities-layer", name]
        arguments += ["--coords", self._coords[self.parameterAsEnum(parameters, "COORDS", context)]]
        capacity = self.parameterAsFields(parameters, "CAPACITY", context)
        if capacity:
            arguments += ["--capacity", capacity[0]]
        units = self.parameterAsVectorLayer(parameters, "UNITS", context)
        if units is not None:
            units_path, units_name = layer_file(units, feedback)
            arguments += ["--units", units_path] + (["--layer", units_name] if units_name else [])
        arguments += ["--province", self.parameterAsString(parameters, "PROVINCE", context).strip()]
        thresholds = self.parameterAsString(parameters, "THRESHOLDS", context).replace(" ", "")
        roads = self.parameterAsVectorLayer(parameters, "ROADS", context)
        if roads is not None:
            roads_path, _ = layer_file(roads, feedback)
            arguments += ["--roads", roads_path, "--thresholds-min", thresholds]
        else:
            arguments += ["--thresholds-km", thresholds]
        arguments += self._population_arguments(parameters, context)
        arguments += ["-o", out, "--overwrite"]
        run_gis(arguments, feedback, expected_stages=6)
        self._name_output(context, out, f"{facilities.name()} 可达性 access")
        return {"OUTPUT": out}


class Build(_GisAlgorithm):
    _name = "build"
    _display = "规划图层包 Build a province's styled GeoPackage"
    _help = ("A province's counties and prefectures with planning groups, your indicator table (DATA) and the "
             "Degree of Urbanisation, as a styled GeoPackage (every layer loaded with its default style), class "
             "GeoTIFFs and offline HTML maps in the OUTPUT folder. Runs: gis build.")

    def group(self):
        return "规划 Planning"

    def groupId(self):  # noqa: N802
        return "planning"

    def initAlgorithm(self, config=None):  # noqa: N802
        self.addParameter(QgsProcessingParameterString(
            "PROVINCE", "省份代码 Province adcode (6 digits, e.g. 330000 浙江)", defaultValue="330000"))
        self.addParameter(QgsProcessingParameterFile(
            "DATA", "指标表 Indicator table (.csv / .xlsx, optional; see gis template)", optional=True,
            fileFilter="Tables (*.csv *.xlsx)"))
        self.addParameter(QgsProcessingParameterFolderDestination("OUTPUT_FOLDER", "输出文件夹 Output folder"))
        self.addOutput(QgsProcessingOutputVectorLayer("OUTPUT", "GeoPackage"))
        self.addOutput(QgsProcessingOutputMultipleLayers("LAYERS", "图层 Layers"))

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        province = self.parameterAsString(parameters, "PROVINCE", context).strip()
        folder = self.parameterAsString(parameters, "OUTPUT_FOLDER", context)
        arguments = ["build", "--province", province, "--out", folder, "--overwrite"]
        data = self.parameterAsFile(parameters, "DATA", context)
        if data:
            arguments += ["--data", data]
        lines = run_gis(arguments, feedback, expected_stages=12)
        packages = written(lines, ".gpkg")
        if not packages:
            raise QgsProcessingException("gis build wrote no GeoPackage")
        gpkg = packages[0]
        loaded = []
        for name in _layer_names(gpkg):
            layer = QgsVectorLayer(f"{gpkg}|layername={name}", name, "ogr")  # its default style comes along
            if not layer.isValid():
                continue
            context.temporaryLayerStore().addMapLayer(layer)
            context.addLayerToLoadOnCompletion(layer.id(), QgsProcessingContext.LayerDetails(name, context.project(), "LAYERS"))
            loaded.append(layer.id())
        feedback.pushInfo(f"{len(loaded)} layers of {gpkg} loaded with their styles")
        return {"OUTPUT": gpkg, "LAYERS": loaded, "OUTPUT_FOLDER": folder}


def _layer_names(gpkg):
    """Layer names of a GeoPackage in file order, without QGIS's own ``layer_styles`` table."""
    from qgis.core import QgsDataProvider

    probe = QgsVectorLayer(gpkg, "probe", "ogr")
    names = []
    for entry in probe.dataProvider().subLayers():
        parts = entry.split(QgsDataProvider.SUBLAYER_SEPARATOR)
        if len(parts) > 1 and parts[1] != "layer_styles":
            names.append(parts[1])
    return names
