"""The permission matrix, enforced by nats-server itself: every forbidden publish and subscription is refused by
the server, and every allowed path works end to end (docs/nats-permissions.md)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats.errors
import nats.js.api as js_api
import pytest
import yaml

from services.cli.nats_accounts import helm_authorization, password_variable
from services.router.config import RouterConfig
from shared.events import permissions, streams, subjects
from shared.events.permissions import matrix_markdown
from tests.deploy.test_manifests import rendered
from tests.security.locked_nats import Client, LockedNats, connect_as, locked_nats
from tests.support.services import LOOPBACK_ANY_PORT, Services

Connect = Callable[[str], Awaitable[Client]]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "nats-permissions.md"

FORBIDDEN_PUBLISH = [
    # Only the pricing publisher sets prices.
    *[(user, "bourse.pricing.openai.gpt-4o") for user in ("router", "gateway", "ledger", "cache", "keys")],
    ("cost-reader", "bourse.pricing.openai.gpt-4o"),
    ("tenant-acme", "bourse.pricing.openai.gpt-4o"),
    # Only routers report telemetry and circuit changes.
    *[(user, "bourse.telemetry.openai.gpt-4o") for user in ("gateway", "ledger", "cache", "pricing", "tenant-acme")],
    *[(user, "bourse.circuit.openai.gpt-4o") for user in ("gateway", "ledger", "cache", "pricing")],
    # Only the key admin writes key records; only routers write budgets.
    *[(user, "$KV.BOURSE_API_KEYS.0123456789abcdef") for user in ("gateway", "router", "ledger", "cost-reader")],
    *[(user, "$KV.bourse_budgets.acme") for user in ("gateway", "keys", "ledger", "tenant-acme")],
    ("tenant-acme", "$KV.BOURSE_KEY_USAGE.acme"),
    # Feedback: a tenant only for itself.
    ("tenant-acme", "bourse.feedback.globex"),
    ("cost-reader", "bourse.feedback.acme"),
    ("cache", "bourse.feedback.acme"),
    # Costs come from routers only; the cache stream from caches only.
    ("ledger", "bourse.cost.acme"),
    ("tenant-acme", "bourse.cost.acme"),
    ("router", "bourse.cache.store.acme"),
    ("gateway", "bourse.cache.invalidate.acme"),
    # Dead letters: each service parks only the kinds of events it handles.
    ("cache", "bourse.deadletter.telemetry"),
    ("gateway", "bourse.deadletter.telemetry"),
    ("tenant-acme", "bourse.deadletter.feedback"),
    # JetStream administration beyond a user's own streams.
    ("router", "$JS.API.STREAM.DELETE.BOURSE_PRICING"),
    ("cache", "$JS.API.STREAM.PURGE.BOURSE_TELEMETRY"),
    ("ledger", "$JS.API.STREAM.CREATE.BOURSE_CACHE"),
    ("tenant-acme", "$JS.API.CONSUMER.CREATE.BOURSE_COST"),
    ("gateway", "$JS.API.CONSUMER.CREATE.BOURSE_TELEMETRY"),
    ("cost-reader", "$JS.API.CONSUMER.CREATE.BOURSE_CACHE"),
    ("router", "$JS.API.CONSUMER.CREATE.BOURSE_CACHE"),
]

FORBIDDEN_SUBSCRIBE = [
    # Only the ledger and routers read telemetry.
    *[(user, "bourse.telemetry.>") for user in ("gateway", "cache", "cost-reader", "pricing", "tenant-acme")],
    # A tenant reads its own costs only: not another's, and no wildcard.
    ("tenant-acme", "bourse.cost.globex"),
    ("tenant-acme", "bourse.cost.*"),
    ("tenant-acme", "bourse.cost.>"),
    ("tenant-acme", ">"),
    ("tenant-%2A", "bourse.cost.*"),
    ("tenant-%3E", "bourse.cost.>"),
    ("ledger", "bourse.cost.>"),
    # Cached prompts and answers: the cache's user only.
    ("router", "bourse.cache.store.>"),
    ("gateway", "bourse.cache.>"),
    ("cost-reader", "bourse.cache.store.acme"),
    # Replies and consumer deliveries of other users.
    ("gateway", "_INBOX.>"),
    ("gateway", "_INBOX_router.>"),
    ("tenant-acme", "_INBOX_cost-reader.>"),
]


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
async def streams_ready(locked: LockedNats) -> None:
    """The streams exist, created by their owners (routers the core ones and dead letters, caches their own)."""
    router = await connect_as(locked, "router")
    cache = await connect_as(locked, "cache")
    try:
        await streams.ensure_streams(router.nc.jetstream())
        await streams.ensure_streams(
            router.nc.jetstream(), (streams.StreamSpec(permissions.QUALITY, ("bourse.quality.>",), 0, 1 << 20),)
        )
        await streams.ensure_streams(
            cache.nc.jetstream(), (streams.StreamSpec(permissions.CACHE, ("bourse.cache.>",), 0, 1 << 20),)
        )
    finally:
        for client in (router, cache):
            await client.nc.close()


@pytest.mark.parametrize(("user", "subject"), FORBIDDEN_PUBLISH)
async def test_the_server_refuses_a_forbidden_publish(connect: Connect, user: str, subject: str) -> None:
    client = await connect(user)
    await client.nc.publish(subject, b"{}")
    await client.refused("publish", subject)


@pytest.mark.parametrize(("user", "subject"), FORBIDDEN_SUBSCRIBE)
async def test_the_server_refuses_a_forbidden_subscription(connect: Connect, user: str, subject: str) -> None:
    client = await connect(user)
    await client.nc.subscribe(subject)
    await client.refused("subscription", subject)


async def test_no_credential_or_a_wrong_password_is_refused(locked: LockedNats, tmp_path: Path) -> None:
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect([locked.url], allow_reconnect=False, max_reconnect_attempts=1, connect_timeout=2)
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(
            [locked.url], user="router", password="guess", allow_reconnect=False, max_reconnect_attempts=1
        )


async def test_a_forbidden_jetstream_read_fails_and_nothing_is_delivered(connect: Connect, streams_ready: None) -> None:
    router, gateway = await connect("router"), await connect("gateway")
    await router.nc.jetstream().publish(subjects.telemetry("openai", "gpt-4o"), b"{}")
    with pytest.raises(nats.errors.Error):
        await gateway.nc.jetstream(timeout=1).subscribe("bourse.telemetry.>", stream=streams.TELEMETRY.name)
    await gateway.refused("publish", "$JS.API.CONSUMER.CREATE.BOURSE_TELEMETRY")


async def _first(client: Client, subject: str, stream: str) -> bytes:
    sub = await client.nc.jetstream().subscribe(
        subject,
        stream=stream,
        ordered_consumer=True,
        config=js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.LAST_PER_SUBJECT),
    )
    try:
        return (await sub.next_msg(timeout=5)).data
    finally:
        await sub.unsubscribe()


async def test_every_allowed_path_works(connect: Connect, streams_ready: None) -> None:
    router, other_router = await connect("router"), await connect("router")
    gateway, ledger, cache = await connect("gateway"), await connect("ledger"), await connect("cache")
    pricing, keys, cost_reader = await connect("pricing"), await connect("keys"), await connect("cost-reader")
    acme, ops = await connect("tenant-acme"), await connect("ops")

    # Prices: the publisher publishes, routers read.
    price = subjects.pricing("openai", "gpt-4o")
    await pricing.nc.jetstream().publish(price, b'{"price": 1}')
    assert await _first(router, price, streams.PRICING.name) == b'{"price": 1}'

    # Telemetry: routers publish; the ledger and routers read.
    telemetry = subjects.telemetry("openai", "gpt-4o")
    await router.nc.jetstream().publish(telemetry, b'{"t": 1}')
    assert await _first(ledger, telemetry, streams.TELEMETRY.name) == b'{"t": 1}'
    assert await _first(other_router, telemetry, streams.TELEMETRY.name) == b'{"t": 1}'

    # Circuit events between routers (live).
    circuit = await other_router.nc.subscribe("bourse.circuit.>")
    await other_router.nc.flush()
    await router.nc.publish(subjects.circuit("openai", "gpt-4o"), b"open")
    assert (await circuit.next_msg(timeout=5)).data == b"open"

    # Costs: a tenant gets its own live; the cost reader gets everyone's, live and from the stream.
    own = await acme.nc.subscribe(subjects.cost("acme"))
    everyone = await cost_reader.nc.subscribe("bourse.cost.>")
    await acme.nc.flush()
    await cost_reader.nc.flush()
    await router.nc.jetstream().publish(subjects.cost("globex"), b"globex")
    await router.nc.jetstream().publish(subjects.cost("acme"), b"acme")
    assert (await own.next_msg(timeout=5)).data == b"acme"  # globex's event, sent first, never reached acme
    assert [(await everyone.next_msg(timeout=5)).data for _ in range(2)] == [b"globex", b"acme"]
    assert await _first(cost_reader, subjects.cost("globex"), streams.COST.name) == b"globex"

    # Feedback: a tenant on its own subject; the ledger and routers read it.
    await acme.nc.jetstream().publish(subjects.feedback("acme"), b'{"score": 1}')
    assert await _first(ledger, subjects.feedback("acme"), streams.FEEDBACK.name) == b'{"score": 1}'

    # Key records: the key admin writes; gateways, routers and the ledger read.
    written = await keys.nc.jetstream().create_key_value(js_api.KeyValueConfig(bucket=permissions.KEYS_BUCKET))
    await written.put("0123456789abcdef", b"record")
    for reader in (gateway, router, ledger):  # the gateway, and routers and the ledger for callers' keys
        read = await reader.nc.jetstream().key_value(permissions.KEYS_BUCKET)
        assert (await read.get("0123456789abcdef")).value == b"record"

    # Usage counters: gateways and routers write; budgets: routers.
    usage = await gateway.nc.jetstream().create_key_value(js_api.KeyValueConfig(bucket=permissions.USAGE_BUCKET))
    await usage.put("acme.0123456789abcdef", b"1")
    router_usage = await router.nc.jetstream().key_value(permissions.USAGE_BUCKET)
    await router_usage.put("acme.0123456789abcdef", b"2")
    assert (await usage.get("acme.0123456789abcdef")).value == b"2"
    budgets = await router.nc.jetstream().create_key_value(js_api.KeyValueConfig(bucket=permissions.BUDGET_BUCKET))
    await budgets.put("acme", b"10")

    # The cache replicates through its own stream; quality evidence between routers; dead letters to ops.
    await cache.nc.jetstream().publish("bourse.cache.store.acme", b"sealed")
    assert await _first(cache, "bourse.cache.store.acme", permissions.CACHE) == b"sealed"
    await router.nc.jetstream().publish("bourse.quality.acme", b"evidence")
    assert await _first(other_router, "bourse.quality.acme", permissions.QUALITY) == b"evidence"
    await router.nc.jetstream().publish(subjects.dead_letter("telemetry"), b"dead")
    assert await _first(ops, subjects.dead_letter("telemetry"), permissions.DEAD_LETTER) == b"dead"

    await asyncio.gather(*(c.nc.flush() for c in (router, gateway, ledger, cache, pricing, keys, acme, ops)))
    for client in (router, other_router, gateway, ledger, cache, pricing, keys, cost_reader, acme, ops):
        assert client.refusals() == [], client.user


def test_the_documented_matrix_is_the_enforced_one() -> None:
    assert matrix_markdown() in DOCS.read_text(encoding="utf-8"), "run `bourse nats matrix` into the docs"


def test_the_helm_values_carry_the_same_matrix() -> None:
    values = yaml.safe_load((DOCS.parents[1] / "deploy" / "nats" / "values.yaml").read_text(encoding="utf-8"))
    assert values["config"]["merge"]["authorization"] == helm_authorization(list(permissions.ROLES))
    env = values["container"]["env"]
    for grant in permissions.ROLES:
        secret = env[password_variable(grant.name)]["valueFrom"]["secretKeyRef"]
        assert secret == {"name": "bourse-nats-users", "key": grant.name}
    assert values["config"]["nats"]["tls"]["enabled"] is True


def test_each_kubernetes_service_connects_as_its_own_user() -> None:
    deployments = {d["metadata"]["name"]: d for d in rendered("overlays/production") if d["kind"] == "Deployment"}
    for name in ("router", "gateway", "ledger", "cache"):
        spec = deployments[name]["spec"]["template"]["spec"]
        env = {item["name"]: item.get("value", "") for item in spec["containers"][0]["env"]}
        auth = json.loads(env[f"BOURSE_{name.upper()}_NATS_AUTH"])
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert auth["user"] == name and auth["tls_ca_file"]
        assert volumes["nats-password"]["secret"]["items"] == [{"key": name, "path": "password"}]
    assert "BOURSE_CACHE_REPLICATION_KEY_FILE" in str(deployments["cache"])


async def test_the_test_harness_runs_services_as_their_own_users(nats_url: str, services: Services) -> None:
    config = RouterConfig(listen=LOOPBACK_ANY_PORT, nats_url=nats_url, adapter_target="127.0.0.1:1")
    _, parts = await services.router(config)
    assert parts.publisher.nc.options["user"] == "router"  # the session's nats-server enforces its grants
