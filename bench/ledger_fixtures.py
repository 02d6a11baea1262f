"""Synthetic ledger traffic for the benchmarks: realistic spread of tenants, models, task kinds and outcomes."""

from __future__ import annotations

import random
import uuid

from shared.events.schemas import AttemptRecord, TelemetryEvent

MODELS = [
    ("openai", "gpt-4o-mini"),
    ("openai", "gpt-4.1-nano"),
    ("openai", "gpt-4o"),
    ("anthropic", "claude-3-5-haiku"),
    ("anthropic", "claude-sonnet-4"),
    ("gemini", "gemini-2.5-flash"),
    ("deepseek", "deepseek-chat"),
    ("cache", "gpt-4o-mini"),
    ("local", "qwen2.5-0.5b"),
]
KINDS = ["chat", "classification", "extraction", "formatting", "summarization", "code", "reasoning"]
T0_MS = 1_790_000_000_000


def events(n: int, seed: int = 7, span_ms: int = 7 * 86_400_000) -> list[TelemetryEvent]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        provider, model = MODELS[rnd.randrange(len(MODELS))]
        served = "cache" if provider == "cache" else "local" if provider == "local" else "remote"
        prompt, completion = rnd.randint(20, 4000), rnd.randint(1, 800)
        cost = 0 if served != "remote" else (prompt * rnd.choice((0.15, 0.4, 2.5)) + completion * 2) // 1
        error = rnd.random() < 0.02
        out.append(
            TelemetryEvent(
                request_id=uuid.UUID(int=rnd.getrandbits(128)).hex,
                ts_ms=T0_MS + (i * span_ms) // max(n, 1),
                tenant=f"tenant-{rnd.randrange(50)}",
                task_kind=KINDS[rnd.randrange(len(KINDS))],
                provider=provider,
                model=model,
                served_from=served,
                prompt_tokens=prompt,
                completion_tokens=completion,
                cached_tokens=rnd.choice((0, 0, 0, prompt // 2)),
                cost_micro_usd=int(cost),
                saved_micro_usd=int(prompt * 0.4) if served != "remote" else 0,
                latency_ms=rnd.lognormvariate(6.0, 0.8) if served == "remote" else rnd.uniform(1, 60),
                upstream_ms=0.0,
                retries=1 if rnd.random() < 0.05 else 0,
                attempts=[AttemptRecord(provider=provider, model=model, served_from=served, outcome="success")],
                outcome="error" if error else "ok",
                error_reason="UPSTREAM_5XX" if error else "",
            )
        )
    return out
