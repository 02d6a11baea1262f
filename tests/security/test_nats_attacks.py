"""Attacks on the event log, against nats-server running the production permission matrix: a forged price
update, forged feedback and wildcard tenants are refused by the server, and nothing they carry is applied."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import grpc
import msgspec
import nats.js.api as js_api
import pytest
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from services.provider_adapter.config import AdapterConfig
from services.router.config import RouterConfig
from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.market import MarketFeed
from services.simulator.config import SimulatorConfig
from shared.events import streams, subjects
from shared.events.healing import Backoff, HealingConnection
from shared.events.schemas import Feedback, PriceUpdate
from shared.logging import get_logger
from shared.pricing.price_table import PriceBook
from shared.pricing.prices import encode_update
from tests.router.model_entries import entry, manifest
from tests.security.locked_nats import Client, LockedNats, connect_as, locked_nats
from tests.support.eventually import eventually
from tests.support.nats_faults import close_by_control_line
from tests.support.requests import route
from tests.support.services import LOOPBACK_ANY_PORT, Services, running_services

Connect = Callable[[str], Awaitable[Client]]


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockedNats]:
    with locked_nats(tmp_path_factory.mktemp("locked-nats")) as server:
        yield server


@pytest.fixture
async def connect(locked: LockedNats) -> AsyncIterator[Connect]:
    clients: list[Client] = []

    async def open_as(user: str) -> Client:
        clients.append(await connect_as(locked, user))
        return clients[-1]

    yield open_as
    for client in clients:
        await client.nc.close()


@pytest.fixture(scope="module")
async def core_streams(locked: LockedNats) -> None:
    router = await connect_as(locked, "router")
    try:
        await streams.ensure_streams(router.nc.jetstream())
    finally:
        await router.nc.close()


async def test_a_forged_price_update_is_refused_and_never_applied(connect: Connect, core_streams: None) -> None:
    model = f"m-{uuid.uuid4().hex[:10]}"
    book = PriceBook.from_manifest(
        manifest(entry("acme", model, prices={"input_per_mtok": 1.0, "output_per_mtok": 2.0}))
    )
    router = await connect("router")
    feed = MarketFeed(router.nc, book, LiveStats(book), TokenEstimator(), get_logger("test"), telemetry_replay_s=0)
    await feed.start()
    try:
        subject = subjects.pricing("acme", model)
        forged = encode_update(PriceUpdate(provider="acme", model=model, input_per_mtok=0.0001, as_of="2025-08-01"))
        for attacker_name in ("gateway", "tenant-acme", "cost-reader", "router"):
            attacker = await connect(attacker_name)
            await attacker.nc.publish(subject, forged)
            await attacker.refused("publish", subject)
        pricing = await connect("pricing")
        genuine = PriceUpdate(provider="acme", model=model, input_per_mtok=2.0, as_of="2025-08-02")
        await pricing.nc.jetstream().publish(subject, encode_update(genuine))
        await eventually(lambda: book.current.get("acme", model).prices.input_per_mtok == 2.0)  # type: ignore[union-attr]
        assert feed.applied == 1  # the genuine update only: the forged ones never reached the stream
        info = await pricing.nc.jetstream().stream_info(streams.PRICING.name, subjects_filter=subject)
        assert info.state.subjects == {subject: 1}
    finally:
        await feed.close()


async def test_forged_feedback_is_refused_and_never_stored(connect: Connect, core_streams: None) -> None:
    request_id = uuid.uuid4().hex
    acme, cost_reader, cache = await connect("tenant-acme"), await connect("cost-reader"), await connect("cache")
    forged = msgspec.json.encode(Feedback(request_id=request_id, tenant="globex", score=0.0))
    await acme.nc.publish(subjects.feedback("globex"), forged)  # acme scoring globex's answers
    await acme.refused("publish", subjects.feedback("globex"))
    for attacker in (cost_reader, cache):
        await attacker.nc.publish(subjects.feedback("acme"), forged)
        await attacker.refused("publish", subjects.feedback("acme"))
    genuine = msgspec.json.encode(Feedback(request_id=request_id, tenant="acme", score=1.0))
    await acme.nc.jetstream().publish(subjects.feedback("acme"), genuine)

    ledger = await connect("ledger")
    sub = await ledger.nc.jetstream().subscribe(
        f"{subjects.FEEDBACK_PREFIX}.>",
        ordered_consumer=True,
        config=js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.ALL),
    )
    stored = []
    try:
        while True:
            msg = await sub.next_msg(timeout=5)
            stored.append(msgspec.json.decode(msg.data, type=Feedback))
            if msg.metadata.num_pending == 0:
                break
    finally:
        await sub.unsubscribe()
    assert [(f.tenant, f.score) for f in stored if f.request_id == request_id] == [("acme", 1.0)]


@pytest.mark.parametrize("tenant", ["*", ">"])
async def test_a_wildcard_tenant_is_one_literal_subject(connect: Connect, core_streams: None, tenant: str) -> None:
    assert subjects.cost(tenant) in ("bourse.cost.%2A", "bourse.cost.%3E")
    wildcard = await connect(f"tenant-{subjects.token(tenant)}")
    acme, router = await connect("tenant-acme"), await connect("router")
    for pattern in ("bourse.cost.*", "bourse.cost.>", "bourse.cost.acme"):
        await wildcard.nc.subscribe(pattern)
        await wildcard.refused("subscription", pattern)
    own = await wildcard.nc.subscribe(subjects.cost(tenant))
    acme_own = await acme.nc.subscribe(subjects.cost("acme"))
    await wildcard.nc.flush()
    await acme.nc.flush()
    await router.nc.publish(subjects.cost("acme"), b"acme")
    await router.nc.publish(subjects.cost(tenant), b"wildcard")
    assert (await own.next_msg(timeout=5)).data == b"wildcard"  # acme's event, sent first, never reached it
    assert (await acme_own.next_msg(timeout=5)).data == b"acme"
    assert own.pending_msgs == 0 and acme_own.pending_msgs == 0


def test_the_cli_uses_its_role_and_a_wrong_role_fails_clearly(locked: LockedNats) -> None:
    def keys(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "services.cli", "keys", "--nats-url", locked.url, *argv]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("BOURSE_NATS_")} | env
        return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=60, check=False)

    created = keys("create", "--tenant", "acme", BOURSE_NATS_ACCOUNTS=str(locked.accounts.directory))
    assert created.returncode == 0 and created.stdout.startswith("bsk_"), created.stderr
    password = str(locked.accounts.password_file("gateway"))
    refused = keys("--nats-user", "gateway", "--nats-password-file", password, "create", "--tenant", "acme")
    assert refused.returncode == 1  # gateways only read key records
    assert "NATS refused it" in refused.stderr


@pytest.fixture(scope="module")
async def adapter_target() -> AsyncIterator[str]:
    async with running_services() as started:
        simulator = await started.simulator(SimulatorConfig(listen=LOOPBACK_ANY_PORT, seed=11))
        adapter = await started.adapter(AdapterConfig(listen=LOOPBACK_ANY_PORT, simulator_url=simulator))
        yield f"127.0.0.1:{adapter.port}"


@pytest.mark.parametrize("tenant", ["*", ">", "acme.*", "a>"])
async def test_a_router_refuses_a_wildcard_tenant_and_charges_only_literal_subjects(
    locked: LockedNats, connect: Connect, adapter_target: str, services: Services, tenant: str
) -> None:
    config = RouterConfig(
        listen=LOOPBACK_ANY_PORT,
        nats_url=locked.url,
        nats_auth=locked.accounts.auth("router"),
        adapter_target=adapter_target,
    )
    service, _ = await services.router(config)
    stub = router_grpc.RouterServiceStub(services.channel(f"127.0.0.1:{service.port}"))
    everything = await connect("cost-reader")
    costs = await everything.nc.subscribe("bourse.cost.>")
    await everything.nc.flush()
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(route(tenant=tenant), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT  # tenant ids: shared/input_bounds.py
    assert "context.tenant_id" in (caught.value.details() or "")
    await stub.Route(route(tenant="acme"), timeout=30)
    charged = await costs.next_msg(timeout=10)  # the refused request charged nobody: acme's is the first
    assert charged.subject == subjects.cost("acme")
    assert msgspec.json.decode(charged.data)["tenant"] == "acme"


async def test_a_replaced_nats_client_keeps_its_user(locked: LockedNats) -> None:
    connection = await HealingConnection.open(
        [locked.url],
        get_logger("test"),
        name="test-healing",
        auth=locked.accounts.auth("router"),
        backoff=Backoff(0.01, 0.05),
    )
    try:
        first = connection.nc
        await close_by_control_line(first)
        await eventually(lambda: connection.nc is not first and connection.connected, what="a replacement client")
        assert connection.nc.options["user"] == "router"
        await connection.nc.jetstream().publish(subjects.telemetry("openai", "gpt-4o"), b"{}")  # its grants hold
    finally:
        await connection.close()
