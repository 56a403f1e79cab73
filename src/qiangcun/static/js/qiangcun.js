/* qiangcun — small progressive enhancements; every page works without them. */
(function () {
  "use strict";
  var DIG = "零壹贰叁肆伍陆柒捌玖", SMALL = ["", "拾", "佰", "仟"], BIG = ["", "万", "亿", "万亿"];

  // Capital numerals as on a receipt (same rules as qiangcun.core.money.in_words).
  function inWords(text) {
    var m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
    if (!m) return null;
    var sign = m[1] ? "负" : "", digits = m[2].replace(/^0+(?=\d)/, ""), frac = (m[3] || "").padEnd(2, "0");
    var jiao = +frac[0], fen = +frac[1], out = "";
    if (digits !== "0") {
      var zero = false;
      for (var i = 0; i < digits.length; i++) {
        var d = +digits[i], p = digits.length - 1 - i, section = Math.floor(p / 4), pos = p % 4;
        if (d === 0) { zero = true; } else { if (zero) { out += "零"; zero = false; } out += DIG[d] + SMALL[pos]; }
        if (pos === 0 && section && +digits.slice(Math.max(0, i - 3), i + 1)) out += BIG[section];
      }
      out += "元";
    }
    if (!jiao && !fen) return sign + (out || "零元") + "整";
    if (jiao) out += DIG[jiao] + "角"; else if (out) out += "零";
    if (fen) out += DIG[fen] + "分";
    return sign + out;
  }

  function wan(text) {
    var m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
    if (!m) return "";
    var fen = BigInt(m[2]) * 100n + BigInt((m[3] || "").padEnd(2, "0"));
    var hundredthsOfWan = (fen + 5000n) / 10000n; // 1 万元 = 1,000,000 分; two decimals, half up
    var s = hundredthsOfWan.toString().padStart(3, "0");
    return m[1] + s.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + s.slice(-2) + "万元";
  }

  function echo(input, output) {
    var raw = input.value.trim().replace(/,/g, "");
    if (!raw) { output.textContent = ""; return; }
    var w = inWords(raw);
    if (!w) { output.textContent = "请填写数字，最多两位小数，例如 12000.00"; return; }
    output.innerHTML = "";
    var strong = document.createElement("strong");
    strong.textContent = w;
    output.appendChild(strong);
    output.appendChild(document.createTextNode(" / " + wan(raw)));
  }

  function charts() {
    if (!window.echarts) return;
    var el = document.getElementById("progress-chart");
    var data = document.getElementById("progress-chart-data");
    if (el && data && !el.dataset.ready) {
      el.dataset.ready = "1";
      var d = JSON.parse(data.textContent);
      var colors = { green: "#2E7D32", yellow: "#F9A825", red: "#C62828" };
      var chart = echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        animation: false,
        grid: { left: 80, right: 40, top: 24, bottom: 24 },
        xAxis: { type: "value", axisLabel: { formatter: "{value}%" }, max: function (v) { return Math.max(100, Math.ceil(v.max / 10) * 10); } },
        yAxis: { type: "category", data: d.names, axisLabel: { interval: 0, fontSize: 12 } },
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } },
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
        tooltip: { trigger: "axis", valueFormatter: function (x) { return Number(x).toLocaleString("zh-CN", { minimumFractionDigits: 2 }) + " 元"; } },
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
    document.querySelectorAll("[data-amount]").forEach(function (input) {
      var out = document.querySelector('[data-echo-for="' + input.id + '"]');
      if (!out) return;
      input.addEventListener("input", function () { echo(input, out); });
      echo(input, out);
    });
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

  window.qiangcunInWords = inWords;
  document.addEventListener("DOMContentLoaded", init);
  window.addEventListener("load", charts);
  document.addEventListener("htmx:afterSwap", charts);
})();
