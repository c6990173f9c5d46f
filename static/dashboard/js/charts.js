/*
 * Draws every server-rendered plotly figure on the page (dashboard/charts.py writes a div with
 * data-figure-id pointing at a JSON <script>). Follows unfold's dark mode: unfold toggles the `dark`
 * class on <html>, so we watch it and re-render with the matching layout.
 */
(function () {
  "use strict";

  var DARK = {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: "#e5e7eb" },
    xaxis: { gridcolor: "#374151", zerolinecolor: "#4b5563", linecolor: "#4b5563" },
    yaxis: { gridcolor: "#374151", zerolinecolor: "#4b5563", linecolor: "#4b5563" },
    legend: { font: { color: "#e5e7eb" } },
  };
  var LIGHT = {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: "#374151" },
    xaxis: { gridcolor: "#e5e7eb", zerolinecolor: "#d1d5db", linecolor: "#d1d5db" },
    yaxis: { gridcolor: "#e5e7eb", zerolinecolor: "#d1d5db", linecolor: "#d1d5db" },
    legend: { font: { color: "#374151" } },
  };

  function isDark() {
    return document.documentElement.classList.contains("dark");
  }

  // Deep-merge the theme under the figure's own layout, so a figure's explicit choices win.
  function merge(base, over) {
    var out = {};
    var key;
    for (key in base) out[key] = base[key];
    for (key in over) {
      if (over[key] && typeof over[key] === "object" && !Array.isArray(over[key]) && base[key] && typeof base[key] === "object") {
        out[key] = merge(base[key], over[key]);
      } else {
        out[key] = over[key];
      }
    }
    return out;
  }

  function figures() {
    return Array.prototype.slice.call(document.querySelectorAll(".custodian-chart[data-figure-id]"));
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-figure-id"));
    if (!source || !window.Plotly) return;
    var figure = JSON.parse(source.textContent);
    var layout = merge(isDark() ? DARK : LIGHT, figure.layout || {});
    // Drop plotly's own default template so our colours apply in both modes.
    layout.template = undefined;
    var config = { responsive: true, displaylogo: false };
    // newPlot the first time; react afterwards redraws in place without rebuilding the chart.
    var plot = el.hasAttribute("data-rendered-theme") ? window.Plotly.react : window.Plotly.newPlot;
    plot(el, figure.data || [], layout, config);
    el.setAttribute("data-rendered-theme", isDark() ? "dark" : "light");
    if (!el.hasAttribute("data-click-bound") && el.on) {
      // A trace's meta.link (or meta.links, one per point) is where a click on it goes.
      el.on("plotly_click", function (event) {
        var point = event && event.points && event.points[0];
        var meta = point && point.data && point.data.meta;
        var link = meta && (meta.links ? meta.links[point.pointIndex] : meta.link);
        if (link) window.location.assign(link);
      });
      el.setAttribute("data-click-bound", "1");
    }
  }

  function drawAll() {
    figures().forEach(draw);
  }

  function init() {
    drawAll();
    var last = isDark();
    new MutationObserver(function () {
      if (isDark() !== last) {
        last = isDark();
        drawAll();
      }
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["class"] });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  window.CustodianCharts = { drawAll: drawAll };
})();
