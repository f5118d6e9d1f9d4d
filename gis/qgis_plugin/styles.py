"""Class GeoTIFF styles: a paletted renderer with the GHSL colours stored in the file and
bilingual class labels, saved as the ``.qml`` QGIS reads beside a raster as its default style."""

from qgis.core import QgsPalettedRasterRenderer, QgsRasterLayer

#: GHS-SMOD grid codes and their labels: Level 2 as the build's grid layer
#: (layers/degurba_grid.toml), Level 1 as gis.degurba.classify.L1_NAMES (checked by the tests).
LABELS = {
    1: {3: "3 城市中心 urban centre", 2: "2 城镇集群 urban cluster", 1: "1 乡村格网 rural grid cell"},
    2: {30: "30 城市中心 urban centre", 23: "23 稠密城镇集群 dense urban cluster", 22: "22 半稠密城镇集群 semi-dense urban cluster",
        21: "21 城郊 suburban or peri-urban", 13: "13 乡村集群 rural cluster", 12: "12 低密度乡村 low density rural",
        11: "11 极低密度乡村 very low density rural", 10: "10 水域 water"},
}


def style_class_raster(path, level):
    """Write ``<stem>.qml`` beside the class GeoTIFF ``path`` (Level 1 or 2): its colour table
    as a paletted renderer, each class labelled; returns the renderer's class count."""
    layer = QgsRasterLayer(path, "classes", "gdal")
    if not layer.isValid():
        return 0
    table = layer.dataProvider().colorTable(1)
    classes = []
    for entry in QgsPalettedRasterRenderer.colorTableToClassData(table):
        code = int(entry.value)
        if code in LABELS[level]:
            entry.label = LABELS[level][code]
            classes.append(entry)
    renderer = QgsPalettedRasterRenderer(layer.dataProvider(), 1, classes)
    layer.setRenderer(renderer)
    base = path.rsplit(".", 1)[0]
    layer.saveNamedStyle(base + ".qml")
    return len(classes)
