/* The meeting screen: one chart, panels advancing by themselves, a reload after each full round so the
   figures stay fresh. Arrow keys move, space pauses. Nothing is fetched from outside. */
(function () {
  "use strict";
  function start() {
    var body = document.body;
    var panels = Array.prototype.slice.call(document.querySelectorAll(".panel"));
    var tabs = Array.prototype.slice.call(document.querySelectorAll("[data-panel]"));
    var seconds = parseInt(body.dataset.seconds || "20", 10);
    var current = 0, paused = false, shown = 0;
    var chart = null;
    function show(i) {
      current = (i + panels.length) % panels.length;
      panels.forEach(function (p, k) { p.hidden = k !== current; });
      tabs.forEach(function (t, k) { if (k === current) t.setAttribute("aria-current", "true"); else t.removeAttribute("aria-current"); });
      if (current === 0 && chart) chart.resize();
    }
    tabs.forEach(function (t) { t.addEventListener("click", function () { show(parseInt(t.dataset.panel, 10)); }); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "ArrowRight") show(current + 1);
      else if (e.key === "ArrowLeft") show(current - 1);
      else if (e.key === " ") { paused = !paused; body.classList.toggle("paused", paused); e.preventDefault(); }
    });
    setInterval(function () {
      if (paused) return;
      shown += 1;
      if (shown >= panels.length) { window.location.reload(); return; }
      show(current + 1);
    }, seconds * 1000);

    var el = document.getElementById("screen-chart");
    var data = document.getElementById("screen-chart-data");
    if (window.echarts && el && data) {
      var d = JSON.parse(data.textContent);
      var colors = { green: "#2E7D32", yellow: "#F9A825", red: "#C62828" };
      chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        animation: false,
        textStyle: { fontSize: 16 },
        grid: { left: 96, right: 90, top: 40, bottom: 28 },
        xAxis: { type: "value", axisLabel: { formatter: "{value}%", fontSize: 16 }, max: function (v) { return Math.max(100, Math.ceil(v.max / 10) * 10); } },
        yAxis: { type: "category", data: d.names, axisLabel: { interval: 0, fontSize: d.names.length > 40 ? 11 : 15 } },
        series: [{
          type: "bar", data: d.values.map(function (v, i) { return { value: v, itemStyle: { color: colors[d.bands[i]] } }; }),
          barMaxWidth: 18,
          markLine: { symbol: "none", lineStyle: { color: "#1f2328", type: "dashed", width: 3 },
            label: { formatter: "时序进度 " + d.time_progress + "%", position: "end", fontSize: 18 }, data: [{ xAxis: d.time_progress }] }
        }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
