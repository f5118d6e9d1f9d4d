/* Behaviour of the planner maps (gis/maps/render.py): theme and year switching, hover
 * tooltips, click popups, no-data hatching, overlays and legend placement.
 *
 * Every piece of text that comes from data (unit names, labels, values) is written with
 * textContent, never innerHTML, so a name that contains markup (an img tag with onerror) is shown as
 * text. The only HTML this script inserts is what render.py escaped in Python (legend,
 * title, layer-control labels).
 */
(function () {
  "use strict";

  var SVG_NS = "http://www.w3.org/2000/svg";
  var NO_DATA_FILL = "url(#gis-nodata)";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  /* Show a block that render.py put (hidden) in the page as a Leaflet control. */
  function placeBlock(map, id, position) {
    var node = document.getElementById(id);
    if (!node) { return null; }
    var Block = L.Control.extend({
      onAdd: function () {
        L.DomEvent.disableClickPropagation(node);
        L.DomEvent.disableScrollPropagation(node);
        node.hidden = false;
        return node;
      }
    });
    return new Block({ position: position }).addTo(map);
  }

  /* Diagonal hatching for units without a value, defined once in the SVG of the units. */
  function addNoDataPattern(svg, colours) {
    if (!svg || svg.querySelector("#gis-nodata")) { return; }
    var defs = document.createElementNS(SVG_NS, "defs");
    var pattern = document.createElementNS(SVG_NS, "pattern");
    pattern.setAttribute("id", "gis-nodata");
    pattern.setAttribute("patternUnits", "userSpaceOnUse");
    pattern.setAttribute("width", "6");
    pattern.setAttribute("height", "6");
    pattern.setAttribute("patternTransform", "rotate(45)");
    var back = document.createElementNS(SVG_NS, "rect");
    back.setAttribute("width", "6");
    back.setAttribute("height", "6");
    back.setAttribute("fill", colours.fill);
    var line = document.createElementNS(SVG_NS, "line");
    line.setAttribute("x1", "0");
    line.setAttribute("y1", "0");
    line.setAttribute("x2", "0");
    line.setAttribute("y2", "6");
    line.setAttribute("stroke", colours.hatch);
    line.setAttribute("stroke-width", "2");
    pattern.appendChild(back);
    pattern.appendChild(line);
    defs.appendChild(pattern);
    svg.insertBefore(defs, svg.firstChild);
  }

  function makePane(map, name, zIndex) {
    var pane = map.createPane(name);
    pane.style.zIndex = String(zIndex);
    pane.style.pointerEvents = "none";
    return name;
  }

  var NO_INTERACTION = {
    zoomControl: false, attributionControl: false, dragging: false, scrollWheelZoom: false,
    doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false, tap: false,
    zoomSnap: 0, inertia: false, fadeAnimation: false, zoomAnimation: false
  };

  /* China map standard (gis/maps/china.py): the maritime line on the main map, wherever it
   * is in view, and the 南海诸岛 inset in the lower right as its own non-interactive map. */
  function addStandard(map, std) {
    if (!std) { return null; }
    var pane = makePane(map, "gis-maritime", 460);
    var line = L.geoJSON(std.line.data, {
      pane: pane, interactive: false,
      style: function () { return { className: "gis-maritime", color: std.line.color, weight: std.line.weight, opacity: 1 }; }
    }).addTo(map);
    var inset = std.inset;
    var frame = null;
    var Inset = L.Control.extend({
      onAdd: function () {
        var box = el("div", "gis-inset");
        box.setAttribute("role", "img");
        box.setAttribute("aria-label", inset.label_zh + " " + inset.label_en);
        frame = el("div", "gis-inset-map");
        frame.style.width = inset.width + "px";
        frame.style.height = inset.height + "px";
        box.appendChild(frame);
        box.appendChild(el("div", "gis-inset-label", inset.label_zh));
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    var control = new Inset({ position: "bottomright" }).addTo(map);
    var small = L.map(frame, NO_INTERACTION);
    small.fitBounds(inset.bounds, { padding: [0, 0], animate: false });
    var c = inset.colors;
    L.geoJSON(inset.neighbours, { interactive: false, style: function () {
      return { fillColor: c.neighbour_fill, fillOpacity: 1, color: "#bdbdbd", weight: 0.5 }; } }).addTo(small);
    L.geoJSON(inset.land, { interactive: false, style: function () {
      return { fillColor: c.land, fillOpacity: 1, color: c.land_edge, weight: 0.6 }; } }).addTo(small);
    // Islands are a few hundred metres across: their outline keeps each one visible as a dot.
    L.geoJSON(inset.islands, { interactive: false, style: function () {
      return { className: "gis-inset-island", fillColor: c.island, fillOpacity: 1, color: c.island, weight: 1.4 }; } }).addTo(small);
    L.geoJSON(std.line.data, { interactive: false, style: function () {
      return { className: "gis-inset-line", color: std.line.color, weight: 1.6, opacity: 1 }; } }).addTo(small);
    return { line: line, inset: small, control: control };
  }

  /* The national index (gis/maps/index.py): provinces, each a link to its county page. */
  function index(map, cfg, provinces) {
    // A view first: vector layers cannot be added to a map without one.
    map.fitBounds(cfg.bounds, { paddingTopLeft: [20, 120], paddingBottomRight: [20, 20], animate: false });
    placeBlock(map, "gis-title", "topleft");
    L.control.zoom({ position: "topleft", zoomInTitle: "放大 Zoom in", zoomOutTitle: "缩小 Zoom out" }).addTo(map);
    map.attributionControl.setPrefix(cfg.attributionPrefix);
    cfg.attributions.forEach(function (html) { map.attributionControl.addAttribution(html); });
    var standard = addStandard(map, cfg.standard);
    placeBlock(map, "gis-footer", "bottomleft");
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    var layer = L.geoJSON(provinces, {
      style: function (feature) {
        return { className: "gis-unit gis-province", color: "#ffffff", weight: 1, opacity: 1,
                 fillColor: feature.properties.href ? cfg.fill : NO_DATA_FILL, fillOpacity: 0.85 };
      },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(function () {
          var box = el("div", "gis-tip");
          box.appendChild(el("div", "gis-tip-name", feature.properties.n));
          box.appendChild(el("div", "gis-tip-extra", feature.properties.href ? cfg.hint : cfg.noPage));
          return box;
        }, { sticky: true, direction: "top", offset: [0, -8], className: "gis-tooltip" });
        layer.on("mouseover", function () { layer.setStyle({ weight: 3, color: "#1a1a1a" }); layer.bringToFront(); });
        layer.on("mouseout", function () { provincesLayer.resetStyle(layer); });
        layer.on("click", function () {
          if (feature.properties.href) { window.location.href = feature.properties.href; }
        });
      }
    }).addTo(map);
    var provincesLayer = layer;
    addNoDataPattern(map.getRenderer(layer.getLayers()[0] || layer)._container, cfg.noData);
    window.GisMap.instance = { map: map, units: layer, standard: standard };
  }

  /* A planner page is a folium map (gis/maps/elements.py) whose elements call, in order:
   * block (title, footer), init (zoom, scale, attributions, the units), overlay (each overlay's feature
   * group), standard (line and inset), block (legend), years (the year slider), view (each
   * view's feature group, a base layer of folium's layer control), fit (the view). */
  var page = null;

  function init(map, cfg, units, overlays) {
    var state = { view: cfg.initialView, year: cfg.views.map(function (v) { return v.initialYear; }) };
    var strings = cfg.strings || [];
    // Units' texts are indexes into the page's string table (each text stored once).
    function text(index) { return typeof index === "number" ? strings[index] : index; }

    L.control.zoom({ position: "topleft", zoomInTitle: "放大 Zoom in", zoomOutTitle: "缩小 Zoom out" }).addTo(map);
    L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
    map.attributionControl.setPrefix(cfg.attributionPrefix);
    cfg.attributions.forEach(function (html) { map.attributionControl.addAttribution(html); });

    function currentClass(feature) {
      return feature.properties.k[state.view][state.year[state.view]];
    }

    function unitStyle(feature) {
      var k = currentClass(feature);
      return {
        className: "gis-unit",
        color: cfg.style.edge,
        weight: cfg.style.edgeWeight,
        opacity: 1,
        fillOpacity: cfg.style.fillOpacity,
        fillColor: k < 0 ? NO_DATA_FILL : cfg.views[state.view].colors[k]
      };
    }

    function tooltipContent(layer) {
      var p = layer.feature.properties;
      var view = cfg.views[state.view];
      var box = el("div", "gis-tip");
      box.appendChild(el("div", "gis-tip-name", p.n));
      var line = el("div", "gis-tip-value");
      var label = view.label + (view.years.length > 1 ? "（" + view.years[state.year[state.view]] + "）" : "");
      line.appendChild(el("span", "gis-tip-label", label + "："));
      line.appendChild(el("b", null, text(p.t[state.view][state.year[state.view]])));
      box.appendChild(line);
      (p.tip || []).forEach(function (row) {
        var extra = el("div", "gis-tip-extra");
        extra.appendChild(el("span", "gis-tip-label", text(row[0]) + "："));
        extra.appendChild(el("span", null, text(row[1])));
        box.appendChild(extra);
      });
      return box;
    }

    function popupContent(layer) {
      var p = layer.feature.properties;
      var box = el("div", "gis-popup");
      box.appendChild(el("h3", null, p.n));
      var table = el("table");
      var previous = null;
      (p.pop || []).forEach(function (row) {
        var tr = el("tr");
        tr.appendChild(el("th", null, row[0] === previous ? "" : text(row[0])));
        tr.appendChild(el("td", "gis-popup-year", row[1] === null ? "" : row[1]));
        tr.appendChild(el("td", row[3] ? "gis-popup-value gis-missing" : "gis-popup-value", text(row[2])));
        if (row[0] !== previous) { tr.className = "gis-popup-first"; }
        previous = row[0];
        table.appendChild(tr);
      });
      box.appendChild(table);
      return box;
    }

    var unitLayer = L.geoJSON(units, {
      style: unitStyle,
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(tooltipContent, { sticky: true, direction: "top", offset: [0, -8], className: "gis-tooltip" });
        // Pan popups clear of the title panel (top left), which sits above the popup pane.
        layer.bindPopup(popupContent, { maxWidth: 480, maxHeight: 380, autoPanPaddingTopLeft: [40, 190], autoPanPaddingBottomRight: [40, 40] });
        layer.on("mouseover", function () {
          layer.setStyle({ weight: cfg.style.edgeWeight * 3, color: cfg.style.hover });
          layer.bringToFront();
        });
        layer.on("mouseout", function () { unitLayer.resetStyle(layer); });
      }
    }).addTo(map);
    addNoDataPattern(map.getRenderer(unitLayer.getLayers()[0] || unitLayer)._container, cfg.noData);

    function refresh() {
      unitLayer.eachLayer(function (layer) { unitLayer.resetStyle(layer); });
      var view = cfg.views[state.view];
      var year = view.years[state.year[state.view]];
      document.querySelectorAll(".gis-legend-view").forEach(function (section) {
        section.hidden = Number(section.getAttribute("data-view")) !== state.view;
      });
      document.querySelectorAll(".gis-legend-year").forEach(function (span) {
        span.textContent = year === null ? "" : String(year);
      });
      if (page.yearBox) { page.yearBox.update(); }
      unitLayer.eachLayer(function (layer) {
        // An open tooltip keeps its old text unless it is refilled for the new year.
        if (layer.getTooltip() && layer.isTooltipOpen()) { layer.setTooltipContent(tooltipContent); }
      });
    }

    // A view's feature group (see view below) is a base layer: choosing it shows its theme.
    map.on("baselayerchange", function (e) {
      if (e.layer.gisView !== undefined) { state.view = e.layer.gisView; refresh(); }
    });

    page = {
      map: map, cfg: cfg, state: state, overlayData: overlays, yearBox: null, refresh: refresh
    };
    window.GisMap.instance = {
      map: map,
      units: unitLayer,
      overlays: {},
      setView: function (i) { state.view = i; refresh(); },
      setYear: function (i) { state.year[state.view] = i; refresh(); },
      legend: null,
      standard: null
    };
  }

  /* Overlay ``i`` of the page (GisMap.init's overlays) drawn into its folium feature group. */
  function overlay(group, i) {
    var o = page.overlayData[i];
    var pane = makePane(page.map, "gis-overlay-" + i, o.kind === "outline" ? 450 : 420);
    var layer;
    if (o.kind === "image") {
      // A class grid as one embedded PNG (data: URL), placed in the map's Web Mercator.
      layer = L.imageOverlay(o.url, o.bounds, {
        pane: pane, interactive: false, opacity: o.opacity, className: "gis-grid"
      });
    } else {
      layer = L.geoJSON(o.data, {
        pane: pane,
        interactive: false,
        style: function () {
          return { className: "gis-outline", color: o.color, weight: o.weight,
                   dashArray: o.dash, fill: false, opacity: 1 };
        },
        // A grouped outline (one feature per group, e.g. each pilot zone) names its group.
        onEachFeature: function (feature, featureLayer) {
          if (feature.properties && feature.properties.name) {
            featureLayer.bindTooltip(feature.properties.name, {
              permanent: true, direction: "center", className: "gis-group-label", opacity: 0.9
            });
          }
        }
      });
    }
    layer.addTo(group);
    window.GisMap.instance.overlays[o.label] = group;
  }

  /* The China map standard's line and inset; the inset before the legend, as Leaflet stacks
   * later bottom controls above earlier ones. */
  function standard(map) {
    window.GisMap.instance.standard = addStandard(map, page.cfg.standard);
  }

  /* A block of the page (title, legend, footer) shown as a Leaflet control. */
  function block(map, id, position) {
    var control = placeBlock(map, id, position);
    if (id === "gis-legend" && window.GisMap.instance) { window.GisMap.instance.legend = control; }
    return control;
  }

  /* The map fitted to the units, once every layer and control is on it. */
  function fit(map) {
    // Keep the units clear of the title (top left) and the year control (bottom left).
    map.fitBounds(page.cfg.bounds, { paddingTopLeft: [20, 150], paddingBottomRight: [20, 30], animate: false });
    page.refresh();
  }

  /* View ``i``'s feature group: a base layer of the layer control standing for the theme. */
  function view(group, i) {
    group.gisView = i;
  }

  /* Year slider: one range input over the view's years, with the year written beside it. */
  function years(map) {
    var cfg = page.cfg, state = page.state;
    var YearControl = L.Control.extend({
      onAdd: function () {
        var box = el("div", "gis-years leaflet-bar");
        L.DomEvent.disableClickPropagation(box);
        box.appendChild(el("div", "gis-years-caption", "年份 Year"));
        var row = el("div", "gis-years-row");
        var back = el("button", "gis-years-step", "◀");
        back.type = "button";
        back.title = "上一年份 Previous year";
        var input = el("input", "gis-years-input");
        input.type = "range";
        input.step = "1";
        input.min = "0";
        var forward = el("button", "gis-years-step", "▶");
        forward.type = "button";
        forward.title = "下一年份 Next year";
        var label = el("output", "gis-years-label");
        row.appendChild(back);
        row.appendChild(input);
        row.appendChild(forward);
        row.appendChild(label);
        box.appendChild(row);
        var ticks = el("div", "gis-years-ticks");
        box.appendChild(ticks);
        function set(index) {
          var years = cfg.views[state.view].years;
          state.year[state.view] = Math.max(0, Math.min(years.length - 1, index));
          page.refresh();
        }
        input.addEventListener("input", function () { set(Number(input.value)); });
        back.addEventListener("click", function () { set(state.year[state.view] - 1); });
        forward.addEventListener("click", function () { set(state.year[state.view] + 1); });
        this.update = function () {
          var years = cfg.views[state.view].years;
          box.hidden = years.length < 2;
          input.max = String(years.length - 1);
          input.value = String(state.year[state.view]);
          label.textContent = String(years[state.year[state.view]]);
          ticks.textContent = "";
          years.forEach(function (y) { ticks.appendChild(el("span", null, y)); });
        };
        this.update();
        return box;
      }
    });
    page.yearBox = new YearControl({ position: "bottomleft" }).addTo(map);
  }

  window.GisMap = {
    init: init, overlay: overlay, standard: standard, block: block, view: view, years: years, fit: fit,
    index: index, instance: null
  };
})();
