"""Budgets on a real NATS KV bucket: reservation before the call, settlement after, limits shared by replicas
(compare-and-set under concurrency), RESOURCE_EXHAUSTED naming the limit, alerts at thresholds."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid

import grpc
import nats.js.errors
import pytest
import structlog
import structlog.testing
from nats.aio.client import Client as NATS
from nats.js.kv import KeyValue
from prometheus_client import CollectorRegistry

from services.router.budget_store import CasPolicy, KvCounterStore
from services.router.core.budgets import (
    BudgetMetrics,
    Budgets,
    BudgetStoreUnavailable,
    Limits,
    kv_safe,
    window_left_s,
)
from shared.errors import BudgetExceeded, Kind
from shared.events.schemas import BudgetAlert
from shared.grpc_errors import to_status
from shared.prometheus_instruments import PrometheusInstruments
from tests.router.conftest import RouterFactory
from tests.support.eventually import eventually

# These tests are about no lost update under contention, not the production deadline: on a loaded machine
# (parallel test workers) 150 racing writers need longer than CasPolicy's 5 s.
PATIENT = CasPolicy(max_attempts=100_000, deadline_s=60.0)

NOW = 1_795_000_000.0  # a fixed instant: 2026-11-18 UTC


async def _store(nc: NATS) -> KvCounterStore:
    return await KvCounterStore.open(nc.jetstream(), f"budgets_{uuid.uuid4().hex[:8]}")


def _budgets(store: KvCounterStore, limits: list[tuple[str, str, Limits]], alerts: list[BudgetAlert]) -> Budgets:
    return Budgets(limits, store, on_alert=alerts.append, thresholds_pct=(50, 80, 100), clock=lambda: NOW)


async def test_tenants_without_limits_touch_nothing(nc: NATS) -> None:
    budgets = _budgets(await _store(nc), [("t", "", Limits(daily_micro_usd=10))], [])
    reservation = await budgets.admit("other", "", 10**9)
    assert reservation.empty
    assert not Budgets([], None, on_alert=lambda a: None, clock=lambda: NOW).applies_to("t")


async def test_daily_limit_reserves_estimates_and_settles_actuals(nc: NATS) -> None:
    store, alerts = await _store(nc), list[BudgetAlert]()
    budgets = _budgets(store, [("acme", "", Limits(daily_micro_usd=1000))], alerts)
    first = await budgets.admit("acme", "", 400)
    await budgets.settle(first, 300)  # the estimate was high: 300 is spent, not 400
    assert await store.read("spend.acme._.2026-11-18") == 300
    second = await budgets.admit("acme", "", 600)
    await budgets.settle(second, 650)
    assert await store.read("spend.acme._.2026-11-18") == 950
    assert [(a.limit, a.threshold_pct) for a in alerts] == [("daily", 50), ("daily", 80)]
    with pytest.raises(BudgetExceeded) as caught:
        await budgets.admit("acme", "", 100)
    assert caught.value.kind is Kind.RESOURCE_EXHAUSTED
    assert caught.value.metadata["limit"] == "daily"
    assert "daily" in caught.value.message
    assert caught.value.retry_after_s == 86400 - NOW % 86400  # until the UTC day rolls over


async def test_monthly_limit_is_named_and_earlier_reservations_are_released(nc: NATS) -> None:
    store = await _store(nc)
    budgets = _budgets(store, [("acme", "", Limits(daily_micro_usd=10_000, monthly_micro_usd=500))], [])
    with pytest.raises(BudgetExceeded) as caught:
        await budgets.admit("acme", "", 600)
    assert caught.value.metadata["limit"] == "monthly"
    assert caught.value.retry_after_s == dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp() - NOW
    assert await store.read("spend.acme._.2026-11-18") == 0  # the daily reservation was given back


async def test_key_limit_applies_besides_the_tenant_limit(nc: NATS) -> None:
    store = await _store(nc)
    limits = [("acme", "", Limits(daily_micro_usd=10_000)), ("acme", "key-1", Limits(daily_micro_usd=100))]
    budgets = _budgets(store, limits, [])
    await budgets.admit("acme", "key-2", 500)
    with pytest.raises(BudgetExceeded) as caught:
        await budgets.admit("acme", "key-1", 500)
    assert caught.value.metadata == {"limit": "daily", "scope": "key", "limit_value": "100"}


async def test_requests_per_minute(nc: NATS) -> None:
    budgets = _budgets(await _store(nc), [("acme", "", Limits(requests_per_minute=3))], [])
    for _ in range(3):
        await budgets.admit("acme", "", 0)
    with pytest.raises(BudgetExceeded) as caught:
        await budgets.admit("acme", "", 0)
    assert caught.value.metadata["limit"] == "requests_per_minute"
    assert caught.value.retry_after_s == 60 - NOW % 60


@pytest.mark.parametrize(
    ("limit", "now", "seconds"),
    [
        ("requests_per_minute", "2026-11-29T10:15:40.5", 19.5),
        ("daily", "2026-11-29T23:00:00", 3600),
        ("monthly", "2026-12-31T23:59:00", 60),
        ("monthly", "2026-02-28T00:00:00", 24 * 3600),
    ],
)
def test_a_spent_budget_says_when_its_window_rolls_over(limit: str, now: str, seconds: float) -> None:
    at = dt.datetime.fromisoformat(now).replace(tzinfo=dt.UTC)
    assert window_left_s(limit, at) == seconds


async def test_replicas_share_counters_without_losing_updates(nc: NATS) -> None:
    bucket = f"budgets_{uuid.uuid4().hex[:8]}"
    js = nc.jetstream()
    replicas = [
        Budgets(
            [("acme", "", Limits(daily_micro_usd=50))],
            await KvCounterStore.open(js, bucket, policy=PATIENT),
            on_alert=lambda a: None,
            clock=lambda: NOW,
        )
        for _ in range(3)
    ]
    results = await asyncio.gather(*(replicas[i % 3].admit("acme", "", 1) for i in range(80)), return_exceptions=True)
    admitted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert len(admitted) == 50 and len(refused) == 30
    assert await (await KvCounterStore.open(js, bucket)).read("spend.acme._.2026-11-18") == 50


def test_kv_keys_are_safe_for_any_name() -> None:
    assert kv_safe("acme") == "acme"
    assert kv_safe("a.b c/é") == "a=2Eb=20c=2F=C3=A9"
    assert kv_safe("") == "_"


async def test_route_refuses_over_budget_requests_and_alerts(make_router: RouterFactory, nc: NATS) -> None:
    import msgspec
    from bourse.router.v1 import router_service_pb2 as pb

    from services.router.config import BudgetRule
    from shared.events import subjects
    from shared.grpc_errors import from_rpc_error
    from tests.support.requests import route

    prompt = "Summarise this. " + "The quarterly report shows steady growth. " * 300  # costs a few micro-USD
    probe_stub, _ = await make_router()
    probe = route(prompt, max_tokens=12)
    estimate = (await probe_stub.Explain(pb.ExplainRequest(chat=probe.chat))).candidates[0].estimated_cost_micro_usd
    actual = (await probe_stub.Route(probe, timeout=10)).cost_micro_usd  # the simulator answers the same again
    limit = max(estimate, actual)
    assert actual * 2 >= limit > 4  # the estimate is within 2x of the bill, so the 50% alert must fire

    tenant = f"t-{uuid.uuid4().hex[:8]}"
    stub, parts = await make_router(
        budgets=[BudgetRule(tenant=tenant, daily_micro_usd=limit)], budget_bucket=f"budgets_{uuid.uuid4().hex[:8]}"
    )
    first = await stub.Route(route(prompt, tenant=tenant, max_tokens=12), timeout=10)
    assert first.cost_micro_usd == actual
    await parts.executor.drain()  # settlement runs after the answer, off the request path
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(route(prompt, tenant=tenant, max_tokens=12), timeout=10)
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    error = from_rpc_error(caught.value)
    assert error.reason == "BUDGET_EXCEEDED" and error.metadata["limit"] == "daily" and "per day" in error.message
    assert error.retry_after_s is not None and 0 < error.retry_after_s <= 86400  # RetryInfo: when the day ends

    expected = [pct for pct in (50, 80, 100) if actual >= limit * pct // 100]
    sub = await nc.jetstream().subscribe(subjects.budget_alert(tenant), ordered_consumer=True)
    alerts = [msgspec.json.decode((await sub.next_msg(timeout=5)).data, type=BudgetAlert) for _ in expected]
    await sub.unsubscribe()
    assert [a.threshold_pct for a in alerts] == expected and alerts[0].spent_micro_usd == actual

    other = f"t-{uuid.uuid4().hex[:8]}"  # a tenant without limits is not affected
    assert (await stub.Route(route(prompt, tenant=other, max_tokens=12), timeout=10)).cost_micro_usd == actual


async def test_route_enforces_requests_per_minute_per_key(make_router: RouterFactory) -> None:
    from services.router.config import BudgetRule
    from shared.grpc_errors import from_rpc_error
    from tests.support.requests import route

    # the counter is per calendar minute: start with time to spare, so the three requests share one minute
    await eventually(lambda: time.gmtime().tm_sec < 40, timeout_s=61, interval_s=0.2, what="the minute's first 40 s")
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    stub, _ = await make_router(
        budgets=[BudgetRule(tenant=tenant, key_id="k", requests_per_minute=2)],
        budget_bucket=f"budgets_{uuid.uuid4().hex[:8]}",
    )
    for _ in range(2):
        await stub.Route(route(tenant=tenant, key_id="k"), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(route(tenant=tenant, key_id="k"), timeout=10)
    assert from_rpc_error(caught.value).metadata["limit"] == "requests_per_minute"
    await stub.Route(route(tenant=tenant, key_id="other-key"), timeout=10)  # the limit is per key


# --- contention and failures ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_heavy_contention_on_one_counter_loses_no_add_and_fails_none(nc: NATS) -> None:
    """150 adds race on one new counter from 3 stores: each must land exactly once (backoff, not give-up)."""
    bucket = f"budgets_{uuid.uuid4().hex[:8]}"
    js = nc.jetstream()
    stores = [await KvCounterStore.open(js, bucket, policy=PATIENT) for _ in range(3)]
    results = await asyncio.gather(*(stores[i % 3].add("spend.hot", 1) for i in range(150)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert sorted(r for r in results if isinstance(r, int)) == list(range(1, 151))
    assert await stores[0].read("spend.hot") == 150
    assert sum(store.conflicts for store in stores) > 0  # the races did happen


async def test_contention_past_the_deadline_is_a_retryable_unavailable_error(nc: NATS) -> None:
    bucket = f"budgets_{uuid.uuid4().hex[:8]}"
    store = await KvCounterStore.open(nc.jetstream(), bucket, policy=CasPolicy(max_attempts=2, deadline_s=0.5))
    results = await asyncio.gather(*(store.add("spend.hot", 1) for _ in range(30)), return_exceptions=True)
    landed = [r for r in results if isinstance(r, int)]
    failed = [r for r in results if isinstance(r, BaseException)]
    assert failed, "30 writers with 2 tries each must leave some unsettled"
    for error in failed:
        assert isinstance(error, BudgetStoreUnavailable)
        assert error.kind is Kind.UNAVAILABLE and error.retryable and error.reason == "BUDGET_STORE_CONTENDED"
        assert to_status(error).code == grpc.StatusCode.UNAVAILABLE  # clients retry it; never INTERNAL
    assert await store.read("spend.hot") == len(landed)  # a refused add changed nothing


class _LaggingReplicaKv:
    """A real KV bucket seen through a stream replica that has not applied the latest create yet: reads of a
    key miss until it has been written through this view, and a create that loses the race reports "key not
    found" (nats-py re-reads the key after "wrong last sequence", and that read lands on the lagging replica)."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._seen: set[str] = set()

    async def get(self, key: str) -> object:
        if key not in self._seen:
            self._seen.add(key)  # the replica catches up after one miss
            raise nats.js.errors.KeyNotFoundError
        return await self._kv.get(key)

    async def create(self, key: str, value: bytes) -> int:
        try:
            return await self._kv.create(key, value)
        except nats.js.errors.KeyWrongLastSequenceError:
            raise nats.js.errors.KeyNotFoundError from None

    async def update(self, key: str, value: bytes, last: int) -> int:
        return await self._kv.update(key, value, last=last)


async def test_two_replicas_creating_one_counter_both_land(nc: NATS) -> None:
    bucket = f"budgets_{uuid.uuid4().hex[:8]}"
    js = nc.jetstream()
    first = await KvCounterStore.open(js, bucket)
    await first.add("spend.new", 5)  # the other replica created the counter a moment ago
    lagging = KvCounterStore(_LaggingReplicaKv(await js.key_value(bucket)))  # type: ignore[arg-type]
    assert await lagging.add("spend.new", 7) == 12
    assert await first.read("spend.new") == 12


async def test_a_failed_settle_is_retried_logged_and_counted_never_raised(nc: NATS) -> None:
    bucket = f"budgets_{uuid.uuid4().hex[:8]}"
    js = nc.jetstream()
    store = await KvCounterStore.open(js, bucket, policy=CasPolicy(max_attempts=3, deadline_s=0.2))
    logger = structlog.get_logger()
    registry = CollectorRegistry()
    budgets = Budgets(
        [("acme", "", Limits(daily_micro_usd=1000))],
        store,
        on_alert=lambda a: None,
        clock=lambda: NOW,
        logger=logger,
        metrics=BudgetMetrics.create(PrometheusInstruments(registry, prefix="bourse_router_")),
        settle_backoff_s=0.01,
    )
    reservation = await budgets.admit("acme", "", 100)
    await js.delete_key_value(bucket)  # the store is gone: every settle attempt fails
    with structlog.testing.capture_logs() as logs:
        await budgets.settle(reservation, 90)
    assert registry.get_sample_value("bourse_router_budget_settle_failures_total", {"limit": "daily"}) == 1
    assert [(e["event"], e["key"]) for e in logs] == [("budget settle failed", "spend.acme._.2026-11-18")]


async def test_a_contended_settle_is_retried_until_it_lands(nc: NATS) -> None:
    bucket = f"budgets_{uuid.uuid4().hex[:8]}"
    js = nc.jetstream()
    store = await KvCounterStore.open(js, bucket, policy=CasPolicy(max_attempts=2, deadline_s=0.5))
    registry = CollectorRegistry()
    budgets = Budgets(
        [("acme", "", Limits(daily_micro_usd=10**9))],
        store,
        on_alert=lambda a: None,
        clock=lambda: NOW,
        metrics=BudgetMetrics.create(PrometheusInstruments(registry, prefix="bourse_router_")),
        settle_attempts=50,
        settle_backoff_s=0.001,
    )
    reservations = [await budgets.admit("acme", "", 10) for _ in range(30)]
    await asyncio.gather(*(budgets.settle(r, 7) for r in reservations))  # 30 settlements race, 2 tries each
    assert await store.read("spend.acme._.2026-11-18") == 30 * 7
    assert registry.get_sample_value("bourse_router_budget_settle_failures_total", {"limit": "daily"}) in (None, 0)


async def test_a_store_failure_during_admission_gives_back_what_was_taken(nc: NATS) -> None:
    bucket = f"budgets_{uuid.uuid4().hex[:8]}"
    js = nc.jetstream()
    store = await KvCounterStore.open(js, bucket)
    await store.add("spend.acme._.2026-11-18", 0)
    await store.add("spend.acme._.2026-11", 1)  # a monthly counter that is not an integer stops admission
    kv = await js.key_value(bucket)
    await kv.put("spend.acme._.2026-11", b"corrupt")
    budgets = _budgets(store, [("acme", "", Limits(daily_micro_usd=1000, monthly_micro_usd=5000))], [])
    with pytest.raises(ValueError, match="corrupt"):
        await budgets.admit("acme", "", 100)
    assert await store.read("spend.acme._.2026-11-18") == 0
