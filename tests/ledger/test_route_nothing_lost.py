"""Nothing lost, end to end: Route calls through the real router, provider-adapter and simulator while the
router's nats-server is stopped mid-load and restarted on the same port and data directory. Route keeps
answering while NATS is down (its events spill to the spool file), and afterwards the ledger holds every
request id exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from services.ledger.server import LedgerServer
from services.ledger.server import create_server as create_ledger
from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.server import create_server as create_adapter
from services.router.config import QualityConfig, RouterConfig
from services.router.server import RouterParts, create_router
from services.simulator.config import SimulatorConfig
from services.simulator.server import start_simulator
from shared.logging import get_logger
from shared.processes import NatsServer
from shared.serving import insecure_channel
from tests.support.eventually import eventually
from tests.support.requests import route

from .conftest import ledger_config

pytestmark = pytest.mark.slow

REQUESTS = 200
CONCURRENCY = 8
STOP_AFTER = 40  # completed requests before nats-server is stopped
DOWN_FOR = 60  # requests answered while it is down, before it is restarted


@dataclass
class Stack:
    nats: NatsServer
    router: router_grpc.RouterServiceStub
    parts: RouterParts
    ledger: LedgerServer
    spool_path: Path


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    logger = get_logger("route-nothing-lost")
    nats = NatsServer(data_dir=tmp_path / "nats" / "data", name="nats-route-restart")
    nats.start()
    runner, sim_port = await start_simulator(SimulatorConfig(listen="127.0.0.1:0", seed=7))
    adapter = await create_adapter(
        AdapterConfig(listen="127.0.0.1:0", simulator_url=f"http://127.0.0.1:{sim_port}"), logger, environ={}
    )
    await adapter.start()
    ledger = await create_ledger(ledger_config(nats.url, tmp_path, http_listen=""), logger)
    await ledger.start()
    spool_path = tmp_path / "spool" / "router-events.spool"
    config = RouterConfig(
        listen="127.0.0.1:0",
        nats_url=nats.url,
        adapter_target=f"127.0.0.1:{adapter.port}",
        event_spool_path=str(spool_path),
        total_deadline_s=10.0,
        quality=QualityConfig(default_policy="cheapest", use_predictor=False),
    )
    service, parts = await create_router(config, logger)
    await service.start()
    channel = insecure_channel(f"127.0.0.1:{service.port}")
    stub = router_grpc.RouterServiceStub(channel)  # type: ignore[no-untyped-call]
    try:
        yield Stack(nats, stub, parts, ledger, spool_path)
    finally:
        if nats.child is not None and not nats.child.alive:  # a failure while it was down: let clients close
            nats.start()
        await channel.close()
        await service.stop(1.0)
        await ledger.stop(1.0)
        await adapter.stop(0.5)
        await runner.cleanup()
        nats.stop()


def _request(tenant: str) -> pb.RouteRequest:
    request = route("Say hello.", tenant=tenant, max_tokens=16)
    request.constraints.cache.no_cache = True
    return request


async def test_every_routed_request_is_in_the_ledger_once_across_a_nats_restart(stack: Stack) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    requests = [_request(tenant) for _ in range(REQUESTS)]
    ids = [r.context.request_id for r in requests]
    assert len(set(ids)) == REQUESTS
    answered: list[str] = []
    assigned: list[str] = []  # the ids the router gave: the ledger's keys
    failures: list[str] = []
    answered_while_down: list[str] = []
    nats_down = asyncio.Event()
    restarted = asyncio.Event()
    queue: asyncio.Queue[pb.RouteRequest] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def client() -> None:
        while True:
            if len(answered_while_down) >= DOWN_FOR:
                await restarted.wait()  # keep the rest of the load for after the restart
            try:
                request = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            try:
                reply = await stack.router.Route(request, timeout=15)
            except grpc.aio.AioRpcError as error:
                failures.append(f"{request.context.request_id}: {error.code().name} {error.details()}")
                continue
            if reply.client_request_id != request.context.request_id or not reply.request_id:
                failures.append(f"{request.context.request_id}: reply carries {reply.client_request_id!r}")
            answered.append(request.context.request_id)
            assigned.append(reply.request_id)
            if nats_down.is_set() and not restarted.is_set():
                answered_while_down.append(request.context.request_id)

    async def restart_nats_mid_load() -> None:
        publisher = stack.parts.publisher
        try:
            await eventually(lambda: len(answered) >= STOP_AFTER, timeout_s=30, what=f"{STOP_AFTER} answers")
            await asyncio.to_thread(stack.nats.stop)
            nats_down.set()
            # Route goes on answering; the router's events pile up in its spool file meanwhile.
            await eventually(
                lambda: len(answered_while_down) >= DOWN_FOR or bool(failures),
                timeout_s=30,
                what=f"{DOWN_FOR} answers while NATS is down",
            )
            # Unacknowledged events move to the spool file once their ack times out.
            await eventually(lambda: publisher.stats.spooled > 0, timeout_s=15, what="events in the spool")
            assert stack.spool_path.stat().st_size > 0
            await asyncio.to_thread(stack.nats.start)  # same port, same data directory
        finally:
            restarted.set()  # release the clients whatever happened

    await asyncio.gather(restart_nats_mid_load(), *(client() for _ in range(CONCURRENCY)))

    assert failures == [], f"{len(failures)} Route calls failed, first: {failures[:3]}"
    assert sorted(answered) == sorted(ids)
    assert len(answered_while_down) >= DOWN_FOR

    store = stack.ledger.store
    assert store is not None

    def stored() -> int:
        return int(store.query("SELECT count(*) FROM requests WHERE tenant = ?", [tenant])[0][0])

    await eventually(lambda: stored() >= REQUESTS, timeout_s=30, what=f"{REQUESTS} requests in the ledger")
    rows = store.query("SELECT request_id FROM requests WHERE tenant = ?", [tenant])
    assert len(set(assigned)) == REQUESTS
    assert sorted(r[0] for r in rows) == sorted(assigned)  # every request, exactly once
    stats = stack.parts.publisher.stats
    assert stats.dropped == 0, stats
    assert stats.replayed >= stats.spooled > 0, stats
