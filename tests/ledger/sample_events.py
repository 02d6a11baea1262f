"""Telemetry events for ledger tests, with figures easy to add up by hand."""

from __future__ import annotations

import uuid

from shared.events.schemas import AttemptRecord, TelemetryEvent

T0_MS = 1_790_000_000_000  # a fixed instant, so time filters are exact


def event(
    *,
    tenant: str = "acme",
    provider: str = "openai",
    model: str = "gpt-4o-mini",
    task_kind: str = "chat",
    served_from: str = "remote",
    ts_ms: int = T0_MS,
    prompt_tokens: int = 100,
    completion_tokens: int = 50,
    cached_tokens: int = 0,
    cost_micro_usd: int = 45,
    saved_micro_usd: int = 0,
    latency_ms: float = 100.0,
    retries: int = 0,
    outcome: str = "ok",
    request_id: str | None = None,
) -> TelemetryEvent:
    return TelemetryEvent(
        request_id=request_id or uuid.uuid4().hex,
        ts_ms=ts_ms,
        tenant=tenant,
        task_kind=task_kind,
        provider=provider,
        model=model,
        served_from=served_from,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cached_tokens=cached_tokens,
        cost_micro_usd=cost_micro_usd,
        saved_micro_usd=saved_micro_usd,
        latency_ms=latency_ms,
        upstream_ms=latency_ms * 0.9,
        retries=retries,
        attempts=[AttemptRecord(provider=provider, model=model, served_from=served_from, outcome="success")],
        outcome=outcome,
        error_reason="" if outcome == "ok" else "UPSTREAM_5XX",
    )
