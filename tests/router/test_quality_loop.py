"""Closed loop of quality-aware routing on real components: simulator (one model answers code poorly), provider
adapter, two router replicas on port 0, nats-server with JetStream, feedback published like a client would."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from bourse.common.v1 import routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as router_grpc
from nats.aio.client import Client as NATS

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.server import create_server as create_adapter
from services.router.config import QualityConfig, RouterConfig
from services.router.server import RouterParts, create_router
from services.simulator.config import SimulatorConfig
from services.simulator.knobs import POOR_ANSWER_MARKER, ModelKnobs
from services.simulator.server import start_simulator
from shared.events import subjects
from shared.events.schemas import Feedback
from shared.logging import get_logger
from shared.pricing.manifest import default_manifest_path
from shared.serving import ServiceServer, insecure_channel
from tests.support.requests import chat

ALPHA = ("openai", "gpt-4o-mini")  # cheaper, answers code poorly in the simulator
BETA = ("openai", "gpt-4.1-mini")  # dearer, the next model
CODE_MARK = "#code-task"
HALF_LIFE_S = 2.0
MAX_REQUESTS_TO_MOVE = 12


def _manifest(path: Path) -> Path:
    """The shipped entries of ALPHA and BETA, with code scores both above the target and ALPHA cheaper."""
    raw = json.loads(default_manifest_path().read_text())
    keep = []
    for entry in raw["models"]:
        if (entry["provider"], entry["model"]) == ALPHA:
            entry["quality"]["code"] = 0.82
            entry["prices"] = {"input_per_mtok": 0.1, "output_per_mtok": 0.4}
            keep.append(entry)
        elif (entry["provider"], entry["model"]) == BETA:
            entry["quality"]["code"] = 0.86
            entry["prices"] = {"input_per_mtok": 0.4, "output_per_mtok": 1.6}
            keep.append(entry)
    raw["models"] = keep
    path.write_text(json.dumps(raw))
    return path


@pytest.fixture(scope="module")
async def poor_adapter() -> AsyncIterator[str]:
    knobs = {f"{ALPHA[0]}/{ALPHA[1]}": ModelKnobs(poor_on=[CODE_MARK])}
    runner, port = await start_simulator(SimulatorConfig(listen="127.0.0.1:0", seed=5, models=knobs))
    adapter = await create_adapter(
        AdapterConfig(listen="127.0.0.1:0", simulator_url=f"http://127.0.0.1:{port}"),
        get_logger("q-adapter"),
        environ={},
    )
    await adapter.start()
    yield f"127.0.0.1:{adapter.port}"
    await adapter.stop(0.5)
    await runner.cleanup()


Replica = tuple[router_grpc.RouterServiceStub, RouterParts]


@pytest.fixture
async def replicas(nats_url: str, poor_adapter: str, tmp_path: Path) -> AsyncIterator[Callable[[], Awaitable[Replica]]]:
    manifest = _manifest(tmp_path / "manifest.json")
    started: list[tuple[ServiceServer, Any]] = []

    async def start() -> Replica:
        config = RouterConfig(
            listen="127.0.0.1:0",
            nats_url=nats_url,
            adapter_target=poor_adapter,
            manifest_path=str(manifest),
            total_deadline_s=10.0,
            quality=QualityConfig(
                use_predictor=False,
                prior_strength=10.0,
                evidence_half_life_s=HALF_LIFE_S,
                # Room for every request id in the shared nats-server's telemetry history, which a starting
                # replica replays while these tests route: the ids they give feedback for must not be evicted.
                max_served_requests=200_000,
            ),
        )
        service, parts = await create_router(config, get_logger("q-router"))
        await service.start()
        channel = insecure_channel(f"127.0.0.1:{service.port}")
        started.append((service, channel))
        return router_grpc.RouterServiceStub(channel), parts  # type: ignore[no-untyped-call]

    yield start
    for service, channel in started:
        await channel.close()
        await service.stop(0.5)


def _request(tenant: str) -> pb.RouteRequest:
    return pb.RouteRequest(
        chat=chat(f"{CODE_MARK} write a function that reverses a list"),
        constraints=pb.RoutingConstraints(task_kind=routing_pb2.TASK_KIND_CODE),
        context=pb.RequestContext(request_id=uuid.uuid4().hex, tenant_id=tenant),
    )


async def _feedback(nc: NATS, tenant: str, request_id: str, score: float) -> None:
    payload = msgspec.json.encode(
        Feedback(request_id=request_id, tenant=tenant, score=score, ts_ms=int(time.time() * 1000))
    )
    await nc.jetstream().publish(subjects.feedback(tenant), payload)


async def _first_candidate(stub: router_grpc.RouterServiceStub, tenant: str) -> pb.Candidate:
    request = _request(tenant)
    reply = await stub.Explain(
        pb.ExplainRequest(chat=request.chat, constraints=request.constraints, context=request.context)
    )
    first: pb.Candidate = reply.candidates[0]
    return first


async def _wait_until(check: Callable[[], Awaitable[bool]], deadline_s: float, what: str) -> None:
    deadline = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.05)


async def test_a_poorly_scored_model_loses_its_task_kind_and_wins_it_back(
    replicas: Callable[[], Awaitable[Replica]], nc: NATS
) -> None:
    tenant = f"loop-{uuid.uuid4().hex[:8]}"
    (one, one_parts), (two, two_parts) = await replicas(), await replicas()
    assert (await _first_candidate(one, tenant)).model == ALPHA[1]
    moved_after = None
    for number in range(1, MAX_REQUESTS_TO_MOVE + 1):
        stub = one if number % 2 else two  # the client's requests land on either replica
        reply = await stub.Route(_request(tenant))
        if reply.model == BETA[1]:
            moved_after = number
            break
        assert reply.model == ALPHA[1] and reply.completion.content.startswith(POOR_ANSWER_MARKER)
        before = [_counts(parts, tenant)[1] for parts in (one_parts, two_parts)]
        await _feedback(nc, tenant, reply.request_id, 0.0)

        async def applied(before: list[float] = before) -> bool:
            now = [_counts(parts, tenant)[1] for parts in (one_parts, two_parts)]
            return all(after > earlier + 0.5 for after, earlier in zip(now, before, strict=True))

        # The feedback round-trip (feedback stream, resolution, evidence stream) is asynchronous.
        await _wait_until(applied, 20.0, "both replicas applied the feedback")
    assert moved_after is not None, f"still on {ALPHA} after {MAX_REQUESTS_TO_MOVE} poorly scored answers"
    # Both replicas hold the same evidence and send code to the next model.
    first_one, first_two = await _first_candidate(one, tenant), await _first_candidate(two, tenant)
    assert first_one.model == first_two.model == BETA[1]
    counts = [_counts(parts, tenant) for parts in (one_parts, two_parts)]
    assert counts[0][1] == pytest.approx(counts[1][1], rel=0.05, abs=0.05)
    # With no new bad evidence it decays (half-life 2 s) and ALPHA, cheaper, wins code back on both replicas.
    await _wait_until(
        lambda: _explains(one, tenant, ALPHA[1]), 30.0, "replica one routes code to the cheaper model again"
    )
    assert (await _first_candidate(two, tenant)).model == ALPHA[1]
    assert (await one.Route(_request(tenant))).model == ALPHA[1]


async def _explains(stub: router_grpc.RouterServiceStub, tenant: str, model: str) -> bool:
    return (await _first_candidate(stub, tenant)).model == model


def _counts(parts: RouterParts, tenant: str) -> tuple[float, float]:
    assert parts.executor.quality is not None
    counts = parts.executor.quality.estimator.evidence.counts((tenant, "code", "/".join(ALPHA)), time.time())
    return counts.successes, counts.failures


async def test_bad_feedback_is_refused_and_counted_and_posteriors_stay_untouched(
    replicas: Callable[[], Awaitable[Replica]], nc: NATS
) -> None:
    tenant = f"refuse-{uuid.uuid4().hex[:8]}"
    stub, parts = await replicas()
    reply = await stub.Route(_request(tenant))
    events = parts.quality
    assert events is not None and parts.executor.quality is not None
    evidence = parts.executor.quality.estimator.evidence
    before = evidence.snapshot(0.0)
    await _feedback(nc, tenant, "never-served-" + uuid.uuid4().hex, 0.0)
    await _feedback(nc, tenant, reply.request_id, 1.5)
    await nc.jetstream().publish(subjects.feedback(tenant), b'{"request_id": 1}')
    await nc.jetstream().publish(subjects.feedback(tenant), b"x" * 10_000)

    async def all_refused() -> bool:
        return (
            events.count("feedback", {"outcome": "unknown_request"}) >= 1
            and events.count("feedback", {"outcome": "bad_score"}) >= 1
            and events.count("feedback", {"outcome": "malformed"}) >= 1
            and events.count("feedback", {"outcome": "oversized"}) >= 1
        )

    await _wait_until(all_refused, 20.0, "the four bad feedback messages were refused")
    assert evidence.snapshot(0.0) == before
    assert events.count("feedback", {"outcome": "accepted"}) == 0


async def test_bad_evidence_is_dropped_and_a_restarted_replica_recovers_the_rest(
    replicas: Callable[[], Awaitable[Replica]], nc: NATS
) -> None:
    tenant = f"recover-{uuid.uuid4().hex[:8]}"
    stub, parts = await replicas()
    assert parts.quality is not None
    reply = await stub.Route(_request(tenant))
    await nc.jetstream().publish(f"bourse.quality.{tenant}", b"{garbage")
    await nc.jetstream().publish(f"bourse.quality.{tenant}", b"{" + b" " * 4096 + b"}")
    await _feedback(nc, tenant, reply.request_id, 0.0)

    async def dropped_and_applied() -> bool:
        return (
            parts.quality is not None
            and parts.quality.count("evidence", {"direction": "in", "outcome": "malformed"}) >= 1
            and parts.quality.count("evidence", {"direction": "in", "outcome": "oversized"}) >= 1
            and _counts(parts, tenant)[1] > 0.5
        )

    await _wait_until(dropped_and_applied, 20.0, "bad evidence dropped and the feedback applied")
    assert (await stub.Route(_request(tenant))).model  # still serving
    _, late = await replicas()  # a replica started now replays the evidence stream before it serves
    assert _counts(late, tenant)[1] == pytest.approx(_counts(parts, tenant)[1], rel=0.05)


async def test_a_reported_bad_cache_hit_counts_against_the_model_that_answered(
    replicas: Callable[[], Awaitable[Replica]], nc: NATS
) -> None:
    tenant = f"badhit-{uuid.uuid4().hex[:8]}"
    stub, parts = await replicas()
    assert parts.quality is not None
    reply = await stub.Route(_request(tenant))
    before = _counts(parts, tenant)[1]
    report = {
        "v": 1,
        "ts_ms": int(time.time() * 1000),
        "tenant": tenant,
        "entry_key": "k",
        "request_id": reply.request_id,
    }
    await nc.publish(f"bourse.cache.bad_hit.{tenant}", json.dumps(report).encode())
    await nc.publish(f"bourse.cache.bad_hit.{tenant}", json.dumps({**report, "request_id": "unknown"}).encode())

    async def applied() -> bool:
        assert parts.quality is not None
        return (
            _counts(parts, tenant)[1] > before + 0.5
            and parts.quality.count("feedback", {"outcome": "bad_hit_unknown_request"}) >= 1
        )

    await _wait_until(applied, 20.0, "the bad hit became a failure and the unknown one was refused")
