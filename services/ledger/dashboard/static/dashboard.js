// Ledger dashboard: pulls /api/snapshot for the view in the URL and redraws in place every few seconds.
// Numbers and tables need nothing but this file and money.js; charts are drawn only when the chart library loaded.
"use strict";

const { formatMicroUsd, formatExactMicroUsd } = window.BourseMoney;
const FILTERS = ["range", "tenant", "task_kind", "provider", "compare"];
const pct = (x) => (100 * x).toFixed(1) + "%";
const palette = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#888888"];
const hasCharts = typeof window.Chart !== "undefined";
const charts = {};
let timer = null;
let notice = "";
let generation = 0; // a newer refresh (a filter changed) supersedes one still waiting for its answer

const $ = (id) => document.getElementById(id);

function money(el, micro, signed) {
  el.textContent = formatMicroUsd(micro);
  el.title = formatExactMicroUsd(micro) + " exactly";
  el.dataset.microUsd = String(micro);
  if (signed) el.className = "value " + (micro >= 0 ? "saved-positive" : "saved-negative");
  return el;
}

function cell(row, content, micro) {
  const td = row.insertCell();
  if (micro !== undefined) money(td, micro);
  else td.textContent = content;
  return td;
}

function fillTable(id, rows, build, emptyText) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const row of rows) build(body.insertRow(), row);
  if (!rows.length) {
    const td = body.insertRow().insertCell();
    td.colSpan = $(id).tHead.rows[0].cells.length;
    td.textContent = emptyText;
    td.style.textAlign = "left";
  }
}

function fillSelect(select, values, current, allLabel) {
  const wanted = allLabel === null ? values : [""].concat(values);
  const now = Array.from(select.options, (o) => o.value);
  if (now.join("\n") !== wanted.join("\n")) {
    select.replaceChildren(...wanted.map((v) => new Option(v || allLabel, v)));
  }
  select.value = current;
}

function chart(id, config) {
  if (!hasCharts) return;
  if (!charts[id]) {
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options);
    charts[id] = new window.Chart($(id), config);
  } else {
    charts[id].data = config.data;
    charts[id].update("none");
  }
}

function drawPriceAge(prices) {
  if (!prices) return;
  const element = $("prices-age");
  const stale = prices.stale_models.length;
  element.textContent = `prices as of ${prices.as_of}; oldest ${prices.oldest_age_days} days old` +
    (stale ? ` (${stale} model(s) past ${prices.max_age_days} days)` : "");
  element.classList.toggle("stale", stale > 0);
}

// Axes and tooltips of money charts use the page's money rule (values are micro-dollars).
const moneyAxis = { ticks: { callback: (value) => formatMicroUsd(value) } };
const moneyTooltip = {
  callbacks: {
    label: (ctx) => `${ctx.dataset.label}: ${formatMicroUsd(ctx.parsed.y)} (${formatExactMicroUsd(ctx.parsed.y)})`,
  },
};

function drawSummary(s, savings) {
  $("t-requests").textContent = s.requests.toLocaleString("en-US");
  money($("t-spend"), s.spend_micro_usd);
  $("t-latency").textContent = `${s.p50_latency_ms.toFixed(0)} / ${s.p95_latency_ms.toFixed(0)} ms`;
  $("t-errors").textContent = pct(s.error_rate);
  $("t-cache").textContent = pct(s.cache_hit_rate);
  const net = savings ? savings.total.saved_cache_micro_usd + savings.total.saved_local_micro_usd : s.saved_micro_usd;
  money($("t-saved"), net);
  $("t-local").textContent = pct(s.local_share);
}

function drawSavings(savings) {
  if (!savings) {
    $("savings").hidden = true;
    return;
  }
  $("savings").hidden = false;
  const t = savings.total;
  $("s-target-label").textContent = "All on " + savings.target;
  $("bad-below").textContent = String(savings.bad_score_below);
  money($("s-spend"), t.spend_micro_usd);
  money($("s-counterfactual"), t.counterfactual_micro_usd);
  money($("s-net"), t.net_saved_micro_usd, true);
  money($("s-cache"), t.saved_cache_micro_usd);
  money($("s-local"), t.saved_local_micro_usd);
  $("s-bad").textContent = t.bad_answers.toLocaleString("en-US");
  $("s-bad").title = formatExactMicroUsd(t.bad_spend_micro_usd) + " spent on them";
  const rows = savings.days.concat(savings.days.length > 1 ? [Object.assign({}, t, { day: "Total" })] : []);
  fillTable("savings-table", rows, (tr, r) => {
    cell(tr, r.day);
    cell(tr, r.requests.toLocaleString("en-US"));
    cell(tr, null, r.spend_micro_usd);
    cell(tr, null, r.counterfactual_micro_usd);
    cell(tr, null, r.net_saved_micro_usd);
    cell(tr, null, r.saved_cache_micro_usd);
    cell(tr, null, r.saved_local_micro_usd);
    cell(tr, r.bad_answers.toLocaleString("en-US"));
  }, "No requests in this view.");
  chart("c-savings", {
    type: "bar",
    data: {
      labels: savings.days.map((d) => d.day),
      datasets: [
        { label: "spend", data: savings.days.map((d) => d.spend_micro_usd), backgroundColor: "#3366cc" },
        { label: "on " + savings.target, data: savings.days.map((d) => d.counterfactual_micro_usd), backgroundColor: "#bbbbbb" },
      ],
    },
    options: { scales: { y: Object.assign({ beginAtZero: true }, moneyAxis) }, plugins: { tooltip: moneyTooltip } },
  });
}

function drawQuality(rows) {
  fillTable("quality-table", rows, (tr, r) => {
    cell(tr, r.task_kind);
    cell(tr, `${r.provider}/${r.model}`);
    cell(tr, r.requests.toLocaleString("en-US"));
    if (r.requests) cell(tr, null, r.mean_cost_micro_usd);
    else cell(tr, "–"); // only answers that failed the checks: no cost per successful request
    cell(tr, r.scored + (r.thin_evidence ? "*" : ""));
    cell(tr, r.scored ? r.mean_score.toFixed(2) : "–");
    cell(tr, r.scored ? `${r.bad} (${pct(r.bad / r.scored)})` : "–");
    const answers = r.requests + r.failed_checks;
    cell(tr, answers ? `${r.failed_checks} (${pct(r.failed_checks / answers)})` : "–");
    cell(tr, r.scored ? Math.round(r.score_per_usd).toLocaleString("en-US") : "–");
    cell(tr, r.rank ? String(r.rank) : "–");
  }, "No successful requests in this view.");
}

function drawCharts(snap) {
  const s = snap.summary;
  fillTable("tenants-table", snap.top_tenants, (tr, r) => {
    cell(tr, r.tenant);
    cell(tr, r.requests.toLocaleString("en-US"));
    cell(tr, null, r.spend_micro_usd);
  }, "No requests in this view.");
  const labels = snap.spend_series.buckets.map((ms) => new Date(ms).toISOString().slice(5, 16).replace("T", " "));
  chart("c-spend", {
    type: "line",
    data: {
      labels,
      datasets: snap.spend_series.series.map((series, i) => ({
        label: series.label, data: series.data, fill: true, pointRadius: 0,
        borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length] + "55",
      })),
    },
    options: { scales: { y: Object.assign({ stacked: true, beginAtZero: true }, moneyAxis) }, plugins: { tooltip: moneyTooltip } },
  });
  const edges = snap.latency_histogram.edges_ms;
  chart("c-latency", {
    type: "bar",
    data: {
      labels: edges.map((e) => "≤" + e + "ms").concat([">" + edges[edges.length - 1] + "ms"]),
      datasets: [{ label: "requests", data: snap.latency_histogram.counts, backgroundColor: "#3366cc" }],
    },
    options: { plugins: { legend: { display: false } } },
  });
  const remote = s.requests - s.cache_hits - s.local_requests;
  chart("c-served", {
    type: "doughnut",
    data: {
      labels: ["remote", "cache", "local"],
      datasets: [{ data: [remote, s.cache_hits, s.local_requests], backgroundColor: ["#3366cc", "#ff9900", "#109618"] }],
    },
  });
}

function draw(snap) {
  drawPriceAge(snap.prices);
  const view = snap.view;
  const form = $("filters");
  form.elements.range.value = rangeName(view.window_s);
  fillSelect(form.elements.tenant, snap.options.tenant, view.tenant, "all");
  fillSelect(form.elements.task_kind, snap.options.task_kind, view.task_kind, "all");
  fillSelect(form.elements.provider, snap.options.provider, view.provider, "all");
  fillSelect($("compare"), snap.options.compare, view.compare, null);
  $("empty").hidden = !snap.ledger_empty;
  $("figures").hidden = snap.ledger_empty;
  drawSummary(snap.summary, snap.savings);
  drawSavings(snap.savings);
  drawQuality(snap.quality);
  drawCharts(snap);
  document.body.dataset.requests = String(snap.summary.requests);
  const named = ["tenant", "task_kind", "provider"].filter((n) => view[n]).map((n) => `${n.replace("_", " ")} ${view[n]}`);
  document.title = "Bourse ledger · " + [rangeName(view.window_s)].concat(named).join(", ");
}

function rangeName(seconds) {
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds % size === 0) return seconds / size + unit;
  }
  return "1h";
}

function viewParams() {
  const params = new URLSearchParams(window.location.search);
  for (const key of Array.from(params.keys())) if (!params.get(key)) params.delete(key);
  return params;
}

async function snapshot(params) {
  const response = await fetch("/api/snapshot?" + params.toString(), { cache: "no-store" });
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    throw new Error(`HTTP ${response.status}`);
  }
  if (response.status === 400 && body.error) return { rejected: body.error };
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return { snap: body };
}

function showNotice() {
  $("notice").textContent = notice;
  $("notice").hidden = !notice;
}

async function refresh() {
  clearTimeout(timer);
  const mine = ++generation;
  const status = $("status");
  let delay = 5;
  try {
    let params = viewParams();
    let result = await snapshot(params);
    if (mine !== generation) return;
    if (result.rejected) {
      // A bad or unknown filter in the URL: say so, and show the unfiltered view instead of nothing.
      const what = result.rejected.param ? `“${result.rejected.param}”` : "the view";
      notice = `Filter not applied: ${what}: ${result.rejected.message}. Showing the unfiltered view.`;
      params.delete(result.rejected.param);
      for (const name of ["tenant", "task_kind", "provider"]) params.delete(name);
      result = await snapshot(params);
      if (result.rejected) result = await snapshot((params = new URLSearchParams()));
      if (result.rejected) throw new Error(result.rejected.message);
      if (mine !== generation) return;
      window.history.replaceState(null, "", window.location.pathname + (params.toString() ? "?" + params : ""));
    }
    showNotice();
    draw(result.snap);
    status.textContent = "updated " + new Date().toLocaleTimeString() + (hasCharts ? "" : " · charts off (chart library not vendored)");
    delay = result.snap.refresh_s;
  } catch (error) {
    if (mine !== generation) return;
    status.textContent = "update failed: " + error.message;
  }
  timer = setTimeout(refresh, delay * 1000);
}

function applyForm() {
  const params = viewParams(); // keeps what the menus do not set (a pinned end_ms)
  const form = $("filters");
  for (const name of FILTERS) {
    const value = name === "compare" ? $("compare").value : form.elements[name].value;
    if (value) params.set(name, value);
    else params.delete(name);
  }
  params.delete("window_s"); // the range menu replaces it
  notice = "";
  window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
  refresh();
}

if (!hasCharts) document.body.classList.add("no-charts");
$("filters").addEventListener("change", applyForm);
$("compare").addEventListener("change", applyForm);
$("reset").addEventListener("click", () => {
  notice = "";
  window.history.replaceState(null, "", window.location.pathname);
  refresh();
});
refresh();
