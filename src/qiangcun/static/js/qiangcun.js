/* qiangcun — small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  // Tooltips written by us, with classes for the colour dots: ECharts' own tooltips put style="…"
  // attributes in their HTML, which the Content-Security-Policy (style-src 'self') refuses.
  function esc(text) { return echarts.format.encodeHTML(String(text)); }
  function dot(cls) { return '<span class="tip-dot ' + cls + '"></span>'; }

  function charts() {
    if (!window.echarts) return;
    var el = document.getElementById("progress-chart");
    var data = document.getElementById("progress-chart-data");
    if (el && data && !el.dataset.ready) {
      el.dataset.ready = "1";
      // One bar per village (22 px each, at least 240 px): set here, the page has no inline styles (CSP).
      el.style.height = Math.max(240, Number(el.dataset.rows || 0) * 22) + "px";
      var d = JSON.parse(data.textContent);
      var colors = { green: "#2E7D32", yellow: "#F9A825", red: "#C62828" };
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        animation: false,
        grid: { left: 80, right: 40, top: 24, bottom: 24 },
        xAxis: { type: "value", axisLabel: { formatter: "{value}%" }, max: function (v) { return Math.max(100, Math.ceil(v.max / 10) * 10); } },
        yAxis: { type: "category", data: d.names, axisLabel: { interval: 0, fontSize: 12 } },
        tooltip: { trigger: "axis", formatter: function (ps) {
          return ps.map(function (p) { return dot("band-" + d.bands[p.dataIndex]) + esc(p.name) + " " + esc(p.value) + "%"; }).join("<br>");
        } },
        series: [{
          type: "bar", data: d.values.map(function (v, i) { return { value: v, itemStyle: { color: colors[d.bands[i]] } }; }),
          barMaxWidth: 14,
          markLine: { symbol: "none", lineStyle: { color: "#1f2328", type: "dashed", width: 2 },
            label: { formatter: "时序进度 " + d.time_progress + "%", position: "end" }, data: [{ xAxis: d.time_progress }] }
        }]
      });
      window.addEventListener("resize", function () { chart.resize(); });
    }
    var vel = document.getElementById("village-chart");
    var vdata = document.getElementById("village-chart-data");
    if (vel && vdata && !vel.dataset.ready) {
      vel.dataset.ready = "1";
      var v = JSON.parse(vdata.textContent);
      var vc = echarts.init(vel, null, { renderer: "svg" });
      vc.setOption({
        animation: false,
        grid: { left: 70, right: 20, top: 40, bottom: 30 },
        legend: { top: 0 },
        tooltip: { trigger: "axis", formatter: function (ps) {
          return esc(ps[0].name) + ps.map(function (p) {
            return "<br>" + dot("tip-s" + p.seriesIndex) + esc(p.seriesName) + " " +
              esc(Number(p.value).toLocaleString("zh-CN", { minimumFractionDigits: 2 })) + " 元";
          }).join("");
        } },
        xAxis: { type: "category", data: v.months },
        yAxis: { type: "value", axisLabel: { formatter: function (x) { return Math.round(x / 100) / 100 + "万"; } } },
        series: [
          { name: "累计已审核收入", type: "bar", data: v.cumulative, itemStyle: { color: "#B71C1C" }, barMaxWidth: 24 },
          { name: "按时序进度应完成", type: "line", data: v.time_line, symbol: "none", lineStyle: { type: "dashed", color: "#1f2328" }, itemStyle: { color: "#1f2328" } }
        ]
      });
      window.addEventListener("resize", function () { vc.resize(); });
    }
  }

  function review() {
    var form = document.getElementById("review-form");
    if (!form) return;
    var all = form.querySelector("[data-check-all]");
    if (all) all.addEventListener("change", function () {
      form.querySelectorAll("input[name=ids]").forEach(function (c) { c.checked = all.checked; });
    });
    form.querySelectorAll("[data-check-group]").forEach(function (g) {
      g.addEventListener("change", function () {
        form.querySelectorAll("input." + g.dataset.checkGroup).forEach(function (c) { c.checked = g.checked; });
      });
    });
    form.querySelectorAll("[data-reason]").forEach(function (b) {
      b.addEventListener("click", function () { form.querySelector("input[name=reason]").value = b.dataset.reason; });
    });
    var rows = Array.prototype.slice.call(form.querySelectorAll("tr.review-row")), cur = -1;
    function move(n) {
      if (!rows.length) return;
      if (cur >= 0) rows[cur].classList.remove("current");
      cur = Math.max(0, Math.min(rows.length - 1, cur + n));
      rows[cur].classList.add("current"); rows[cur].focus();
    }
    document.addEventListener("keydown", function (e) {
      if (/INPUT|SELECT|TEXTAREA/.test(e.target.tagName)) return;
      if (e.key === "j") move(1);
      else if (e.key === "k") move(-1);
      else if (e.key === "x" && cur >= 0) { var c = rows[cur].querySelector("input[name=ids]"); c.checked = !c.checked; }
      else if (e.key === "v") { var b = form.querySelector("button[value=verify]"); if (b) b.click(); }
    });
  }

  function init() {
    // Text limits are stated and counted, never cut: the server refuses a text that is too long.
    document.querySelectorAll("[data-limit]").forEach(function (input) {
      var out = document.querySelector('[data-count-for="' + input.id + '"]');
      if (!out) return;
      var limit = Number(input.dataset.limit);
      function count() {
        var n = Array.from(input.value.trim()).length;
        out.textContent = n ? "已写 " + n + " 字，最多 " + limit + " 字" + (n > limit ? "，请删减 " + (n - limit) + " 字" : "") : "最多 " + limit + " 字";
        out.classList.toggle("error", n > limit);
      }
      input.addEventListener("input", count);
      count();
    });
    document.querySelectorAll("[data-demo-user]").forEach(function (b) {
      b.addEventListener("click", function () {
        document.querySelector("input[name=username]").value = b.dataset.demoUser;
        document.querySelector("input[name=password]").value = b.dataset.demoPass;
      });
    });
    // A form whose answer cannot be asked for twice (a new account's one-time password): a second tap
    // while the first is on its way sends nothing.
    document.querySelectorAll("form[data-submit-once]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (f.dataset.sent) { e.preventDefault(); return; }
        f.dataset.sent = "1";
        f.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
      });
    });
    // No inline handlers (Content-Security-Policy): a select that submits its form, a button that prints.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) { if (!window.confirm(f.dataset.confirm)) e.preventDefault(); });
    });
    // Export what is on screen: filters applied by htmx live in the address bar, not in the link.
    document.querySelectorAll("a[data-export]").forEach(function (a) {
      a.addEventListener("click", function () { a.href = a.dataset.export + window.location.search; });
    });
    review();
    charts();
  }

  document.addEventListener("DOMContentLoaded", init);
  window.addEventListener("load", charts);
  document.addEventListener("htmx:afterSwap", charts);
})();
