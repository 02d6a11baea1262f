"""The ledger's Prometheus metrics: its RPCs, its ingest, and spend/tokens/cache figures from the events it stores.

The spend, token and cache counters are counted from stored (deduplicated) events, so Grafana shows the same
money as `bourse report`, whichever router replica served the request.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.events.schemas import TelemetryEvent
from shared.metrics import LATENCY_BUCKETS, RpcMetrics


@dataclass
class LedgerMetrics:
    rpc: RpcMetrics
    events: Counter
    rejected: Counter
    dead_letters: Counter
    batch_seconds: Histogram
    spend: Counter
    saved: Counter
    tokens: Counter
    served: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> LedgerMetrics:
        labels = ["provider", "model"]
        return cls(
            rpc=RpcMetrics.create(registry, "ledger"),
            events=Counter(
                "bourse_ledger_events", "Events stored, by kind and whether new", ["kind", "result"], registry=registry
            ),
            dead_letters=Counter(
                "bourse_events_dead_lettered",
                "Events parked on the BOURSE_DEAD_LETTER stream, by service and reason",
                ["service", "reason"],
                registry=registry,
            ),
            rejected=Counter(
                "bourse_ledger_events_rejected", "Events refused, by reason", ["reason"], registry=registry
            ),
            batch_seconds=Histogram(
                "bourse_ledger_write_seconds",
                "Time to write one batch durably",
                buckets=LATENCY_BUCKETS,
                registry=registry,
            ),
            spend=Counter("bourse_ledger_spend_micro_usd", "Spend in micro-dollars", labels, registry=registry),
            saved=Counter(
                "bourse_ledger_saved_micro_usd", "Spend avoided by cache/local answers", labels, registry=registry
            ),
            tokens=Counter(
                "bourse_ledger_tokens",
                "Tokens, by kind (prompt, completion, cached)",
                [*labels, "kind"],
                registry=registry,
            ),
            served=Counter(
                "bourse_ledger_requests_served",
                "Requests by where they were served from and outcome",
                ["served_from", "outcome"],
                registry=registry,
            ),
        )

    def observe_stored(self, events: Iterable[TelemetryEvent]) -> None:
        """Count one batch of newly stored events (aggregated first: one update per label set)."""
        spend: Tally[tuple[str, str]] = Tally()
        saved: Tally[tuple[str, str]] = Tally()
        tokens: Tally[tuple[str, str, str]] = Tally()
        served: Tally[tuple[str, str]] = Tally()
        for e in events:
            key = (e.provider, e.model)
            spend[key] += e.cost_micro_usd
            saved[key] += e.saved_micro_usd
            tokens[(*key, "prompt")] += e.prompt_tokens
            tokens[(*key, "completion")] += e.completion_tokens
            tokens[(*key, "cached")] += e.cached_tokens
            served[(e.served_from, e.outcome)] += 1
        for labels, value in spend.items():
            self.spend.labels(*labels).inc(value)
        for labels, value in saved.items():
            if value:
                self.saved.labels(*labels).inc(value)
        for token_labels, value in tokens.items():
            self.tokens.labels(*token_labels).inc(value)
        for labels, value in served.items():
            self.served.labels(*labels).inc(value)
