// Draws every chart of the page with Plotly.js (served from /static/plotly.min.js, no CDN).
// A chart is a <div class="chart" data-spec="ID"> whose spec is the JSON in <script id="ID">.
(function () {
  "use strict";
  var FONT = {family: "system-ui, sans-serif", size: 12};
  function draw(el) {
    var specEl = document.getElementById(el.getAttribute("data-spec"));
    if (!specEl || typeof Plotly === "undefined") { return; }
    var spec = JSON.parse(specEl.textContent);
    var layout = Object.assign({
      margin: {l: 48, r: 12, t: 32, b: 40}, height: 280, autosize: true, font: FONT,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", showlegend: true,
      legend: {orientation: "h", x: 0, y: 1.02, yanchor: "bottom"}
    }, spec.layout || {});
    Plotly.newPlot(el, spec.data, layout, {responsive: true, displaylogo: false,
      modeBarButtonsToRemove: ["lasso2d", "select2d"]}).then(function () {
      el.setAttribute("data-drawn", "true");
    });
    // Clicking a point of a chart with links goes to the page it names (e.g. the failing list).
    if (spec.links) {
      el.on("plotly_click", function (event) {
        var point = event.points && event.points[0];
        var link = point && spec.links[point.curveNumber];
        if (link) { window.location.href = link; }
      });
    }
  }
  function init() {
    var charts = document.querySelectorAll(".chart[data-spec]");
    for (var i = 0; i < charts.length; i++) { draw(charts[i]); }
    // Filter forms with auto-submitting selects (range pickers).
    var autos = document.querySelectorAll("select[data-autosubmit]");
    for (var j = 0; j < autos.length; j++) {
      autos[j].addEventListener("change", function (e) { e.target.form.submit(); });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
