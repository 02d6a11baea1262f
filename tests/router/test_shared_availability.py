"""Retry-After blocks and circuit changes shared by router replicas over NATS (services/router/
availability_events.py): the core rules first, then two real routers on a real nats-server."""

from __future__ import annotations

import time

import aiohttp
import msgspec
import nats
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as router_grpc
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry

from services.router.availability_events import AvailabilitySharing, new_replica_id
from services.router.core.resilience.backoff import ANNOUNCE_MIN_EXTENSION_S, BlockAnnounced, RetryAfterBook
from services.router.core.resilience.circuit import CircuitAnnounced, CircuitBreakers, CircuitState
from services.router.server import RouterParts
from shared.events import subjects
from shared.events.schemas import AvailabilityEvent
from shared.logging import get_logger
from tests.router.conftest import RouterFactory
from tests.router.faults import inject, requests_to
from tests.support.eventually import eventually
from tests.support.requests import route

CHEAPEST = ("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct")
WAIT_S = 10.0


def sharing_of(parts: RouterParts) -> AvailabilitySharing:
    assert parts.sharing is not None
    return parts.sharing


def blocked(parts: RouterParts, provider: str, model: str) -> bool:
    return parts.policy.retry_after.blocked_until(provider, model, time.monotonic()) is not None


def circuit_state(parts: RouterParts, provider: str, model: str) -> CircuitState:
    return parts.policy.circuits.state(provider, model, time.monotonic())


async def _routes_to_cheapest(stub: router_grpc.RouterServiceStub) -> bool:
    response: pb.RouteResponse = await stub.Route(route(), timeout=10)
    return response.model == CHEAPEST[1]


def event(kind: str, *, origin: str, duration_ms: int = 0, provider: str = "p", model: str = "m") -> bytes:
    now_ms = int(time.time() * 1000)
    return msgspec.json.encode(
        AvailabilityEvent(
            provider=provider,
            model=model,
            kind=kind,
            duration_ms=duration_ms,
            until_ms=now_ms + duration_ms,
            origin=origin,
            ts_ms=now_ms,
        )
    )


# ---- core rules, no NATS


def test_local_block_is_announced_once_per_burst_and_remote_never_shortens() -> None:
    book, heard = RetryAfterBook(), list[BlockAnnounced]()
    book.set_listener(heard.append)
    book.record("p", "m", 30.0, now=100.0)
    book.record("p", "m", 30.0, now=100.01)  # the same 429 from a concurrent request: no second announcement
    assert heard == [BlockAnnounced("p", "m", 30.0)]
    book.record("p", "m", 30.0, now=100.0 + ANNOUNCE_MIN_EXTENSION_S + 0.01)  # a real extension is announced
    assert len(heard) == 2
    assert not book.apply_remote("p", "m", 1.0, now=101.0)  # never shortens
    assert book.blocked_until("p", "m", 101.0) is not None and book.blocked_until("p", "m", 130.0) is not None
    assert book.apply_remote("p", "m", 60.0, now=101.0)  # extends
    assert book.blocked_until("p", "m", 160.0) is not None
    assert len(heard) == 2  # applying another replica's block is never announced again
    assert book.apply_remote("p", "", 5.0, now=200.0)  # model "" blocks the whole provider
    assert book.blocked_until("p", "other", 204.0) is not None
    assert book.blocked_until("p", "other", 205.0) is None


def test_circuit_announcements_and_remote_rules() -> None:
    breakers, heard = CircuitBreakers(failure_threshold=1, open_s=10), list[CircuitAnnounced]()
    breakers.set_listener(heard.append)
    breakers.on_failure("p", "m", 0.0)
    breakers.on_failure("p", "m", 1.0)  # already open: not announced again
    assert heard == [CircuitAnnounced("p", "m", opened=True, open_s=10)]
    breakers.on_success("p", "m")
    assert heard[-1] == CircuitAnnounced("p", "m", opened=False)
    breakers.on_success("p", "m")  # already closed: nothing to announce
    assert len(heard) == 2

    assert breakers.apply_remote_open("p", "x", 20.0, now=0.0)
    assert not breakers.apply_remote_open("p", "x", 5.0, now=1.0)  # never shortens the open period
    assert breakers.state("p", "x", 19.9) is CircuitState.OPEN
    assert not breakers.apply_remote_closed("p", "x", now=10.0)  # an open period is never cut short
    assert breakers.state("p", "x", 10.0) is CircuitState.OPEN
    assert breakers.state("p", "x", 20.0) is CircuitState.HALF_OPEN
    assert breakers.apply_remote_closed("p", "x", now=20.0)  # another replica's probe spares this one its own
    assert breakers.state("p", "x", 20.0) is CircuitState.CLOSED
    assert not breakers.apply_remote_closed("p", "never-opened", now=0.0)
    assert len(heard) == 2  # remote changes are never announced again


# ---- two real routers on a real nats-server


async def test_retry_after_on_one_replica_blocks_the_other(
    make_router: RouterFactory, sim: aiohttp.ClientSession
) -> None:
    stub_a, parts_a = await make_router()
    stub_b, parts_b = await make_router()
    first: pb.RouteResponse = await stub_b.Route(route(), timeout=10)
    assert (first.provider, first.model) == CHEAPEST
    # rate limited for 0.5 s, asking for 3 s: both replicas must keep away for the 3 s
    await inject(sim, provider=CHEAPEST[0], model=CHEAPEST[1], kind="rate_limit", duration_s=0.5, retry_after_s=3.0)
    limited: pb.RouteResponse = await stub_a.Route(route(), timeout=10)
    assert [a.error_reason for a in limited.attempts] == ["RATE_LIMITED", ""]
    await eventually(
        lambda: blocked(parts_b, *CHEAPEST), timeout_s=WAIT_S, what="router B to learn router A's Retry-After"
    )
    assert sharing_of(parts_b).count("in", "applied") >= 1
    assert sharing_of(parts_a).count("out", "published") >= 1
    tried = await requests_to(sim, *CHEAPEST)

    during: pb.RouteResponse = await stub_b.Route(route(), timeout=10)
    assert during.model != CHEAPEST[1]
    assert all(a.model != CHEAPEST[1] for a in during.attempts)  # B never tried it: no 429 of its own
    assert await requests_to(sim, *CHEAPEST) == tried
    explained = await stub_b.ListModels(pb.ListModelsRequest(), timeout=10)
    assert not next(m for m in explained.models if m.model == CHEAPEST[1]).available

    # both come back once the window is over (a paced client; the loop ends on the condition)
    for stub in (stub_a, stub_b):
        await eventually(
            lambda stub=stub: _routes_to_cheapest(stub),
            timeout_s=WAIT_S,
            interval_s=0.1,
            what="the replica going back to the cheapest model",
        )


async def test_circuit_opened_on_one_replica_is_skipped_by_the_other_and_closed_by_its_probe(
    make_router: RouterFactory, sim: aiohttp.ClientSession
) -> None:
    settings = {"circuit_failure_threshold": 1, "circuit_open_s": 2.0}
    stub_a, parts_a = await make_router(**settings)
    stub_b, parts_b = await make_router(**settings)
    await inject(sim, provider=CHEAPEST[0], model=CHEAPEST[1], kind="server_error", count=1)
    failed_over: pb.RouteResponse = await stub_a.Route(route(), timeout=10)
    assert failed_over.attempts[0].model == CHEAPEST[1] and failed_over.attempts[0].error_reason
    assert circuit_state(parts_a, *CHEAPEST) is CircuitState.OPEN
    await eventually(
        lambda: circuit_state(parts_b, *CHEAPEST) is CircuitState.OPEN, timeout_s=WAIT_S, what="router B to open it"
    )
    tried = await requests_to(sim, *CHEAPEST)
    skipped: pb.RouteResponse = await stub_b.Route(route(), timeout=10)
    assert skipped.model != CHEAPEST[1]
    assert all(a.model != CHEAPEST[1] for a in skipped.attempts)  # B never tried it
    assert await requests_to(sim, *CHEAPEST) == tried

    # B's open period ends: it is half-open. A's probe succeeds and its news closes B's circuit without a probe.
    await eventually(
        lambda: circuit_state(parts_b, *CHEAPEST) is CircuitState.HALF_OPEN, timeout_s=WAIT_S, what="router B half-open"
    )
    await eventually(
        lambda: circuit_state(parts_a, *CHEAPEST) is CircuitState.HALF_OPEN, timeout_s=WAIT_S, what="router A half-open"
    )
    probe: pb.RouteResponse = await stub_a.Route(route(), timeout=10)
    assert probe.model == CHEAPEST[1]
    await eventually(
        lambda: circuit_state(parts_b, *CHEAPEST) is CircuitState.CLOSED, timeout_s=WAIT_S, what="router B to close it"
    )
    assert sharing_of(parts_a).count("out", "published") >= 2  # circuit_open, then circuit_closed


async def test_own_malformed_and_shorter_events(make_router: RouterFactory, nc: NATS) -> None:
    _, parts = await make_router()
    sharing = sharing_of(parts)
    parts.policy.retry_after.record("q", "long", 60.0, time.monotonic())
    # the replica hears its own announcement back, and ignores it
    await eventually(lambda: sharing.count("in", "own") == 1, timeout_s=WAIT_S, what="the router's own announcement")
    subject = subjects.circuit("p", "m")
    await nc.publish(subject, b'{"kind": "retry_after"')  # not JSON
    await nc.publish(subject, b'{"provider": "p"}')  # missing fields
    await nc.publish(subject, event("circuit_reset", origin="elsewhere", duration_ms=1000))  # unknown kind
    await nc.publish(subject, event("retry_after", origin="elsewhere", duration_ms=-5))
    await nc.publish(subject, event("retry_after", origin=sharing.replica_id, duration_ms=60_000))  # its own
    shorter = event("retry_after", origin="elsewhere", duration_ms=1000, provider="q", model="long")
    await nc.publish(subjects.circuit("q", "long"), shorter)
    await nc.publish(subject, event("retry_after", origin="elsewhere", duration_ms=60_000, model="other"))
    await eventually(
        lambda: blocked(parts, "p", "other"), timeout_s=WAIT_S, what="the valid event from another replica"
    )
    # one subscription delivers in order: every earlier event has been handled by now
    assert sharing.count("in", "rejected") == 4
    assert sharing.count("in", "own") == 2
    assert not blocked(parts, "p", "m")  # its own event was not applied a second time
    assert sharing.count("in", "unchanged") == 1  # the shorter block did not shorten the 60 s one
    assert parts.policy.retry_after.blocked_until("q", "long", time.monotonic() + 30) is not None


async def test_sharing_can_be_turned_off(make_router: RouterFactory, nc: NATS) -> None:
    _, sharing_parts = await make_router()
    _, alone = await make_router(share_availability=False)
    assert alone.sharing is None
    await nc.publish(subjects.circuit("p", "m"), event("circuit_open", origin="elsewhere", duration_ms=60_000))
    await eventually(
        lambda: circuit_state(sharing_parts, "p", "m") is CircuitState.OPEN, timeout_s=WAIT_S, what="the sharing router"
    )
    await nc.flush()
    assert circuit_state(alone, "p", "m") is CircuitState.CLOSED


async def test_news_raised_while_nats_is_gone_is_dropped_not_replayed(nats_url: str) -> None:
    client = await nats.connect(nats_url)
    book, breakers, registry = RetryAfterBook(), CircuitBreakers(), CollectorRegistry()
    sharing = AvailabilitySharing(
        client, book, breakers, get_logger("test-sharing"), replica_id=new_replica_id(), registry=registry
    )
    await sharing.start()
    book.record("p", "m", 30.0, time.monotonic())
    await eventually(lambda: sharing.count("out", "published") == 1, timeout_s=WAIT_S, what="the block to be published")
    await client.close()
    book.record("p", "other", 30.0, time.monotonic())
    await eventually(
        lambda: sharing.count("out", "dropped") == 1, timeout_s=WAIT_S, what="the block raised offline to be dropped"
    )
    await sharing.close()
    book.record("p", "third", 30.0, time.monotonic())  # closed: the listener is gone, nothing is queued
    assert sharing.count("out", "published") == 1 and sharing.count("out", "dropped") == 1
