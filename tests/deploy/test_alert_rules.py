"""The Prometheus alert rules (deploy/prometheus/bourse-alerts.yaml), checked offline: the rule file's structure
(https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/), and every metric an expression
names is one a Bourse service really exports (its registry, rendered by prometheus_client)."""

from __future__ import annotations

import re

import yaml
from prometheus_client import CollectorRegistry, generate_latest

from services.ledger.metrics import LedgerMetrics
from services.router.nats_health import NatsMetrics
from tests.deploy.conventions import REPO

RULES = REPO / "deploy" / "prometheus" / "bourse-alerts.yaml"
_METRIC = re.compile(r"\b(bourse_[a-z0-9_]+)\b")


def _exported() -> set[str]:
    """Metric names the router's and the ledger's registries export (one registry each, as in the services)."""
    router, ledger = CollectorRegistry(), CollectorRegistry()
    NatsMetrics.create(router).dead_lettered("payload_too_large")
    metrics = LedgerMetrics.create(ledger)
    metrics.rejected.labels("malformed_telemetry").inc()
    metrics.dead_letters.labels("ledger", "undecodable").inc()
    names: set[str] = set()
    for registry in (router, ledger):
        text = generate_latest(registry).decode()
        names |= {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}
    return names


def test_rules_are_well_formed_and_name_exported_metrics() -> None:
    document = yaml.safe_load(RULES.read_text())
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} >= {"BourseEventsDeadLettered", "BourseRouterNatsClientClosed"}
    exported = _exported()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        named = set(_METRIC.findall(rule["expr"]))
        assert named and named <= exported, (rule["alert"], named - exported)
