"""The Grafana dashboard is well formed and every ledger metric it queries is exported by the ledger."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from services.ledger.metrics import LedgerMetrics

from .sample_events import event

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "bourse-overview.json"


def test_dashboard_queries_only_exported_ledger_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    assert panels and len({p["id"] for p in panels}) == len(panels)
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    assert all(p["targets"] for p in panels)
    registry = CollectorRegistry()
    metrics = LedgerMetrics.create(registry)
    metrics.observe_stored([event(served_from="cache", saved_micro_usd=5)])
    metrics.events.labels("telemetry", "stored").inc()
    metrics.rejected.labels("malformed_telemetry").inc()
    metrics.batch_seconds.observe(0.01)
    metrics.rpc.requests.labels("GetReport").inc()
    exported = generate_latest(registry).decode()
    used = set(re.findall(r"\bbourse_ledger_[a-z_]+", " ".join(exprs)))
    assert used, "the dashboard shows no ledger metric"
    missing = [name for name in used if f"\n{name}" not in "\n" + exported]
    assert not missing, f"not exported by the ledger: {missing}"
    # Every service's RPC metrics are queried by their shared names.
    joined = " ".join(exprs)
    for suffix in ("_requests_total", "_errors_total", "_latency_seconds_bucket"):
        assert f"bourse_.+{suffix}" in joined
