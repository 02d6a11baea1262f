// Ledger dashboard: pulls /api/snapshot and redraws the charts in place every few seconds.
"use strict";

const usd = (micro) => micro / 1e6;
const fmtUsd = (micro) => "$" + usd(micro).toFixed(micro >= 1e6 ? 2 : 4);
const pct = (x) => (100 * x).toFixed(1) + "%";
const palette = ["#3366cc", "#dc3912", "#ff9900", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00", "#888888"];

const charts = {};

function chart(id, config) {
  if (!charts[id]) {
    config.options = Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, config.options);
    charts[id] = new Chart(document.getElementById(id), config);
  } else {
    charts[id].data = config.data;
    charts[id].update("none");
  }
}

function drawPriceAge(prices) {
  if (!prices) return;
  const element = document.getElementById("prices-age");
  const stale = prices.stale_models.length;
  element.textContent = `prices as of ${prices.as_of}; oldest ${prices.oldest_age_days} days old` +
    (stale ? ` (${stale} model(s) past ${prices.max_age_days} days)` : "");
  element.classList.toggle("stale", stale > 0);
}

function draw(snap) {
  drawPriceAge(snap.prices);
  const s = snap.summary;
  document.getElementById("t-requests").textContent = s.requests.toLocaleString();
  document.getElementById("t-spend").textContent = fmtUsd(s.spend_micro_usd);
  document.getElementById("t-latency").textContent = `${s.p50_latency_ms.toFixed(0)} / ${s.p95_latency_ms.toFixed(0)} ms`;
  document.getElementById("t-errors").textContent = pct(s.error_rate);
  document.getElementById("t-cache").textContent = pct(s.cache_hit_rate);
  document.getElementById("t-saved").textContent = fmtUsd(s.saved_micro_usd);
  document.getElementById("t-local").textContent = pct(s.local_share);

  const labels = snap.spend_series.buckets.map((ms) => new Date(ms).toISOString().slice(11, 16));
  chart("c-spend", {
    type: "line",
    data: {
      labels,
      datasets: snap.spend_series.series.map((series, i) => ({
        label: series.label, data: series.data.map(usd), fill: true, pointRadius: 0,
        borderColor: palette[i % palette.length], backgroundColor: palette[i % palette.length] + "55",
      })),
    },
    options: { scales: { y: { stacked: true, beginAtZero: true } } },
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
  chart("c-tenants", {
    type: "bar",
    data: {
      labels: snap.top_tenants.map((t) => t.tenant),
      datasets: [{ label: "spend", data: snap.top_tenants.map((t) => usd(t.spend_micro_usd)), backgroundColor: "#990099" }],
    },
    options: { indexAxis: "y", plugins: { legend: { display: false } } },
  });
  document.body.dataset.requests = String(s.requests);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const response = await fetch("/api/snapshot", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const snap = await response.json();
    draw(snap);
    status.textContent = "updated " + new Date().toLocaleTimeString();
    setTimeout(refresh, snap.refresh_s * 1000);
  } catch (error) {
    status.textContent = "update failed: " + error.message;
    setTimeout(refresh, 5000);
  }
}

if (typeof Chart === "undefined") {
  document.getElementById("status").textContent = "chart library missing: run npm ci in services/ledger/dashboard";
} else {
  refresh();
}
