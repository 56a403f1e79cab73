/* 各村进度图: the township's villages drawn by ECharts from the shapes inside the page
   (#village-map-data). No tiles, nothing fetched. The list under the map says the same without it. */
(function () {
  "use strict";
  function draw() {
    var el = document.getElementById("village-map");
    var src = document.getElementById("village-map-data");
    if (!window.echarts || !el || !src || el.dataset.ready) return;
    el.dataset.ready = "1";
    var d = JSON.parse(src.textContent);
    var byCode = {};
    d.villages.forEach(function (v) { byCode[v.code] = v; });
    echarts.registerMap(d.map, d.geojson);
    var phone = el.clientWidth < 600;
    var byCompletion = d.colouring === "completion";
    var grey = "#e4e7eb";

    function tip(p) {
      var v = byCode[p.name] || (p.data && byCode[p.data.code]);
      if (!v) return "";
      return "<strong>" + echarts.format.encodeHTML(v.name) + "</strong><br>" + v.band_text + " · 排名 " + v.rank + " / " + d.count +
        "<br>完成率 " + v.completion + "%（时序进度 " + d.time_progress + "%）" +
        "<br>已审核收入 " + v.income + " 元<br>目标 " + v.target + " 元";
    }

    var polygons = d.geojson.features.filter(function (f) { return f.properties.code; });
    var series = [];
    var option = {
      animation: false,
      tooltip: { trigger: "item", formatter: tip, confine: true },
      series: series
    };
    if (d.illustrative) {
      option.title = { text: "示意", subtext: "村界为演示生成", right: 8, top: 6,
        textStyle: { color: "#6d5200", fontSize: 14 }, subtextStyle: { color: "#6d5200", fontSize: 11 } };
    }
    var mapLayout = { layoutCenter: ["50%", "50%"], layoutSize: "96%", roam: true, scaleLimit: { min: 1, max: 8 } };
    if (!d.points.length) {
      series.push(Object.assign({
        type: "map", map: d.map, nameProperty: "code", selectedMode: false,
        label: { show: !phone, fontSize: 10, color: "#1f2328", textBorderColor: "rgba(255,255,255,0.85)", textBorderWidth: 2, formatter: function (p) { return byCode[p.name] ? byCode[p.name].name : ""; } },
        labelLayout: { hideOverlap: true },
        itemStyle: { areaColor: grey, borderColor: "#ffffff", borderWidth: 1 },
        emphasis: { label: { show: true, fontSize: 12 }, itemStyle: { borderColor: "#1f2328", borderWidth: 2 } },
        data: polygons.map(function (f) {
          var v = byCode[f.properties.code];
          var item = { name: f.properties.code, value: Number(v.completion) };
          if (!byCompletion) item.itemStyle = { areaColor: v.color };
          item.emphasis = { itemStyle: { areaColor: byCompletion ? undefined : v.color } };
          return item;
        })
      }, mapLayout));
    } else {
      // Points (a village office each) on the township's ground, drawn grey.
      option.geo = Object.assign({
        map: d.map, nameProperty: "code", silent: true,
        itemStyle: { areaColor: grey, borderColor: "#c8ced4" }, label: { show: false }
      }, mapLayout);
      series.push({
        type: "scatter", coordinateSystem: "geo", symbolSize: phone ? 10 : 14,
        label: { show: !phone, position: "right", fontSize: 10, textBorderColor: "#ffffff", textBorderWidth: 2, formatter: function (p) { return byCode[p.data.code].name; } },
        labelLayout: { hideOverlap: true },
        itemStyle: { borderColor: "#ffffff", borderWidth: 1 },
        data: d.points.map(function (pt) {
          var v = byCode[pt[2]];
          var item = { code: pt[2], name: v.name, value: [pt[0], pt[1], Number(v.completion)] };
          if (!byCompletion) item.itemStyle = { color: v.color };
          return item;
        })
      });
    }
    if (byCompletion) {
      option.visualMap = {
        type: "continuous", min: 0, max: 100, dimension: d.points.length ? 2 : undefined,
        calculable: false, orient: phone ? "horizontal" : "vertical",
        left: phone ? "center" : 10, bottom: 10, itemHeight: phone ? 120 : 160,
        text: ["100%", "0%"], inRange: { color: ["#e3f2fd", "#64b5f6", "#0d47a1"] },
        outOfRange: { color: "#0d47a1" }, seriesIndex: 0
      };
    }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", draw);
  window.addEventListener("load", draw);
})();
