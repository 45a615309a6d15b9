// Draws every chart of a dashboard page from the JSON its template wrote beside the canvas
// (templates/reports/_macros.html). The figures are also in the table beneath each chart: that
// table, not the canvas, is what screen readers and keyboards read.
(function () {
  "use strict";
  if (window.portalCharts || typeof Chart === "undefined") {
    return;
  }
  window.portalCharts = true;

  // Okabe and Ito's palette, safe for the common colour-vision deficiencies; lines also differ
  // by dash and point style, so no series is told apart by colour alone.
  var COLOURS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"];
  var DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3], [1, 2]];
  var POINTS = ["circle", "rect", "triangle", "rectRot", "star", "crossRot"];
  var locale = document.documentElement.lang || undefined;

  function formatter(unit, currency) {
    if (unit === "money") {
      var money = new Intl.NumberFormat(locale, { style: "currency", currency: currency || "EUR", maximumFractionDigits: 0 });
      return function (v) { return money.format(v); };
    }
    if (unit === "percent") {
      var percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 });
      return function (v) { return percent.format(v); };
    }
    // durations keep two decimals, so that minutes still read as more than "0 h"
    var digits = unit === "hours" || unit === "days" ? 2 : 1;
    var number = new Intl.NumberFormat(locale, { maximumFractionDigits: digits });
    var suffix = unit === "hours" ? " h" : unit === "days" ? " d" : "";
    return function (v) { return number.format(v) + suffix; };
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var format = formatter(data.unit, data.currency);
    var line = data.kind === "line";
    var stacked = data.kind === "stacked";
    var datasets = data.series.map(function (s, i) {
      var colour = COLOURS[i % COLOURS.length];
      return {
        label: s.label,
        data: s.values,
        backgroundColor: colour,
        borderColor: colour,
        borderWidth: line ? 2 : 0,
        borderDash: line ? DASHES[i % DASHES.length] : [],
        pointStyle: POINTS[i % POINTS.length],
        pointRadius: line ? 3 : 0,
        spanGaps: true
      };
    });
    var valueAxis = {
      beginAtZero: true,
      stacked: stacked,
      ticks: { callback: function (v) { return format(v); } }
    };
    if (data.unit === "percent") {
      valueAxis.suggestedMax = 1;
    }
    var categoryAxis = { stacked: stacked, grid: { display: false } };
    var horizontal = data.kind === "hbar";
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { display: datasets.length > 1, labels: { usePointStyle: line } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var v = horizontal ? ctx.parsed.x : ctx.parsed.y;
                return ctx.dataset.label + ": " + (v === null ? "—" : format(v));
              }
            }
          }
        }
      }
    });
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
