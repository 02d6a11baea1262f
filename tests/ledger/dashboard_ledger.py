"""A known ledger for the dashboard tests, with every figure the page must show worked out by hand.

Prices for the comparison model openai/gpt-4o (router manifest): $2.50 in, $10 out per million tokens, so a
request of 100 prompt and 50 completion tokens costs 250 + 500 = 750 µ$ there.
"""

from __future__ import annotations

from services.ledger.core.store import LedgerStore
from shared.events.schemas import AttemptRecord, Feedback

from .sample_events import event

END_MS = 1_795_176_000_000  # 2026-11-20T12:00:00Z: the view's end, passed as end_ms
HOUR_MS = 3_600_000
BAD_REQUEST_ID = "cache-answer-scored-bad"

# Today (2026-11-20), within the last hour:
#   acme     3 x openai/gpt-4o-mini chat, 7 µ$ each                      spend 21 µ$       on gpt-4o 3 x 750
#   acme     4 x cache answers chat, saved 5 µ$ each, one scored 0.1      spend 0, cache saved 3 x 5 = 15 µ$ (net)
#   globex   1 x openai/gpt-4o summarize, 4000 + 2000 tokens, 30,000 µ$   on gpt-4o 10,000 + 20,000 = 30,000
#            (after an answer from openai/gpt-4o-mini that failed the request's output checks)
#   initech  2 x local answers classification, saved 300 µ$ each          local saved 600 µ$
# Two days earlier (2026-11-18):
#   globex   1 x anthropic/claude-sonnet summarize, 100,000 + 20,000 tokens, $2.50; on gpt-4o 250,000 + 200,000
SPEND_ALL = 21 + 30_000 + 2_500_000  # $2.53
SPEND_ACME = 21  # must read "21 µ$", never "$0.0000"
COUNTERFACTUAL_TODAY = 3 * 750 + 3 * 750 + 30_000 + 2 * 750  # the bad cache answer left out: 36,000
COUNTERFACTUAL_EARLIER = 450_000
REQUESTS_ALL = 3 + 4 + 1 + 2 + 1
REQUESTS_LAST_HOUR = REQUESTS_ALL - 1


def seed_known_ledger(store: LedgerStore) -> None:
    now = END_MS - HOUR_MS // 2
    events = [event(tenant="acme", cost_micro_usd=7, ts_ms=now - i * 1000, latency_ms=900.0) for i in range(3)]
    events += [
        event(
            tenant="acme",
            provider="cache",
            served_from="cache",
            cost_micro_usd=0,
            saved_micro_usd=5,
            ts_ms=now - 10_000 - i * 1000,
            latency_ms=4.0,
            request_id=BAD_REQUEST_ID if i == 0 else None,
        )
        for i in range(4)
    ]
    escalated = event(
        tenant="globex",
        model="gpt-4o",
        task_kind="summarize",
        prompt_tokens=4000,
        completion_tokens=2000,
        cost_micro_usd=30_000,
        ts_ms=now - 20_000,
        latency_ms=2400.0,
    )
    escalated.attempts.insert(  # gpt-4o-mini's answer failed the request's output checks first
        0, AttemptRecord(provider="openai", model="gpt-4o-mini", served_from="remote", outcome="invalid_output")
    )
    events.append(escalated)
    events += [
        event(
            tenant="initech",
            provider="local",
            model="smollm2-135m-instruct",
            task_kind="classification",
            served_from="local",
            cost_micro_usd=0,
            saved_micro_usd=300,
            ts_ms=now - 30_000 - i * 1000,
            latency_ms=60.0,
        )
        for i in range(2)
    ]
    events.append(
        event(
            tenant="globex",
            provider="anthropic",
            model="claude-sonnet-4-20250514",
            task_kind="summarize",
            prompt_tokens=100_000,
            completion_tokens=20_000,
            cost_micro_usd=2_500_000,
            ts_ms=END_MS - 48 * HOUR_MS,
            latency_ms=8000.0,
        )
    )
    store.insert_requests(events)
    store.insert_feedback([Feedback(request_id=BAD_REQUEST_ID, tenant="acme", score=0.1)])
