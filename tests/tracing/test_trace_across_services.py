"""One trace across the real services (gateway, router, cache, provider adapter, simulator), each on port 0 with
its own TracerProvider exporting over OTLP/HTTP to a loopback receiver, decoded with opentelemetry-proto.

The client sends its own W3C `traceparent`, so the test knows the trace id; a failover and a hedge are forced
with the simulator's fault knobs and must show as sibling provider-attempt spans under the router's route span.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from services.cache.config import CacheConfig
from services.cache.server import CacheService
from services.cache.server import create_server as create_cache
from services.gateway.config import GatewayConfig
from services.gateway.core.api_keys import issue_key
from services.gateway.key_store import KeyStore, open_bucket
from services.gateway.server import GatewayServer
from services.gateway.server import create_server as create_gateway
from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.server import create_server as create_adapter
from services.router.config import RouterConfig
from services.router.server import create_server as create_router
from services.simulator.config import SimulatorConfig
from services.simulator.server import create_server as create_simulator
from shared.embedding.convert import ensure_minilm
from shared.events.connect import connect
from shared.logging import get_logger
from shared.processes import wait_healthy
from shared.tracing_switch import tracing_from_env
from tests.tracing.otlp_receiver import OtlpReceiver, ReceivedSpan

SERVICES = ("bourse-gateway", "bourse-router", "bourse-cache", "bourse-provider-adapter", "bourse-simulator")


@dataclass
class TracedStack:
    gateway: GatewayServer
    sim_url: str
    key: str
    receiver: OtlpReceiver


@pytest.fixture(scope="module")
def cache_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cache-models")
    ensure_minilm(root)
    return root


@pytest.fixture(scope="module")
async def traced_stack(
    nats_url: str, cache_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TracedStack]:
    receiver = OtlpReceiver()
    await receiver.start()
    # The standard variables, read by the SDK's exporter and batch processor (restored afterwards).
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, "OTEL_BSP_SCHEDULE_DELAY": "50"}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)

    def tracing(service: str):  # type: ignore[no-untyped-def]
        built = tracing_from_env(service, env)
        assert built is not None
        return built

    try:
        logger = get_logger("tracing-e2e")
        simulator = await create_simulator(
            SimulatorConfig(listen="127.0.0.1:0", seed=5), logger, tracing=tracing("simulator")
        )
        await simulator.start()
        sim_url = f"http://127.0.0.1:{simulator.port}"
        adapter = await create_adapter(
            AdapterConfig(listen="127.0.0.1:0", simulator_url=sim_url),
            logger,
            environ={},
            tracing=tracing("provider-adapter"),
        )
        await adapter.start()
        cache: CacheService = await create_cache(
            CacheConfig(
                listen="127.0.0.1:0",
                nats_url=nats_url,
                models_dir=str(cache_models),
                data_dir=str(tmp_path_factory.mktemp("cache-data")),
                replication=False,
                replica_id=uuid.uuid4().hex[:8],
            ),
            logger,
            tracing=tracing("cache"),
        )
        await cache.start()
        await wait_healthy(f"127.0.0.1:{cache.port}", "bourse.cache.v1.CacheService", timeout_s=60)
        router = await create_router(
            RouterConfig(
                listen="127.0.0.1:0",
                nats_url=nats_url,
                adapter_target=f"127.0.0.1:{adapter.port}",
                cache_target=f"127.0.0.1:{cache.port}",
                cache_deadline_ms=5000,  # generous: the machine is shared
                budget_bucket=f"trace_budgets_{secrets.token_hex(4)}",
            ),
            logger,
            tracing=tracing("router"),
        )
        await router.start()
        bucket = f"TRACE_KEYS_{secrets.token_hex(4)}"
        nc = await connect([nats_url], logger, name="tracing-e2e-keys")
        issued = issue_key("trace-tenant", "trace")
        await KeyStore(await open_bucket(nc.jetstream(), bucket), logger).put(issued.record)
        gateway = await create_gateway(
            GatewayConfig(
                listen="127.0.0.1:0",
                router=f"127.0.0.1:{router.port}",
                inference="127.0.0.1:1",
                nats_url=nats_url,
                keys_bucket=bucket,
                request_timeout_s=60.0,
            ),
            logger,
            tracing=tracing("gateway"),
        )
        await gateway.start()
        yield TracedStack(gateway=gateway, sim_url=sim_url, key=issued.key, receiver=receiver)
        await gateway.stop()
        await router.stop(0.5)
        await cache.stop(0.5)
        await adapter.stop(0.5)
        await simulator.stop()
        await nc.drain()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        await receiver.stop()


async def _chat(
    stack: TracedStack, headers: dict[str, str], content: str, **bourse: object
) -> tuple[int, dict[str, str]]:
    body = {"model": "bourse/cheapest", "messages": [{"role": "user", "content": content}], "bourse": bourse}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{stack.gateway.base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {stack.key}", **headers},
        ) as response,
    ):
        await response.read()
        return response.status, {key.lower(): value for key, value in response.headers.items()}


async def _fault(stack: TracedStack, **fault: object) -> None:
    async with aiohttp.ClientSession() as session, session.post(f"{stack.sim_url}/_sim/faults", json=fault) as response:
        assert response.status == 201, await response.text()


def _traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


def _one(spans: list[ReceivedSpan], service: str, name: str) -> ReceivedSpan:
    found = [s for s in spans if s.service == service and s.name == name]
    assert len(found) == 1, (service, name, [(s.service, s.name) for s in spans])
    return found[0]


def _attempts(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return [s for s in spans if s.service == "bourse-router" and s.name == "provider_attempt"]


async def test_one_trace_spans_every_service_with_a_failover(traced_stack: TracedStack) -> None:
    trace_id, traceparent = _traceparent()
    # The first provider call fails with a 500: the router fails over to the next candidate.
    await _fault(traced_stack, kind="server_error", count=1)
    status, headers = await _chat(
        traced_stack, {"traceparent": traceparent}, f"failover please {trace_id}", no_local=True
    )
    assert status == 200
    request_id = headers["x-request-id"]

    def complete(spans: list[ReceivedSpan]) -> bool:
        services = {s.service for s in spans}
        return set(SERVICES) <= services and len(_attempts(spans)) >= 2 and any(s.name == "route" for s in spans)

    spans = await traced_stack.receiver.wait_for(trace_id, complete)
    gateway = _one(spans, "bourse-gateway", "POST /v1/chat/completions")
    assert gateway.parent_id == traceparent.split("-")[2]  # continued the client's trace
    assert gateway.attributes["bourse.request_id"] == request_id
    assert gateway.attributes["http.response.status_code"] == 200
    router_rpc = _one(spans, "bourse-router", "bourse.router.v1.RouterService/Route")
    assert router_rpc.parent_id == gateway.span_id
    route = _one(spans, "bourse-router", "route")
    assert route.parent_id == router_rpc.span_id
    assert route.attributes["bourse.request_id"] == request_id
    assert route.attributes["bourse.served_from"] == "remote"
    assert route.attributes["gen_ai.operation.name"] == "chat"
    assert route.attributes["bourse.cost_micro_usd"] > 0
    assert route.attributes["gen_ai.usage.output_tokens"] > 0
    cache_lookup = _one(spans, "bourse-router", "cache_lookup")
    assert cache_lookup.parent_id == route.span_id
    assert cache_lookup.attributes["bourse.attempt.outcome"] == "miss"
    cache_rpc = _one(spans, "bourse-cache", "bourse.cache.v1.CacheService/Lookup")
    assert cache_rpc.parent_id == cache_lookup.span_id
    # The failover: two provider attempts, siblings under the route span, the first failed.
    first, second = sorted(_attempts(spans), key=lambda s: s.attributes["bourse.attempt.reason"] != "first")
    assert first.parent_id == second.parent_id == route.span_id
    assert first.attributes["bourse.attempt.reason"] == "first"
    assert first.status_code == 2  # STATUS_CODE_ERROR
    assert first.attributes["bourse.error.reason"]
    assert second.attributes["bourse.attempt.reason"] == "failover"
    assert second.attributes["bourse.attempt.outcome"] == "success"
    for attempt in (first, second):
        assert attempt.attributes["gen_ai.system"]
        assert attempt.attributes["gen_ai.request.model"]
    assert second.attributes["gen_ai.response.model"] == route.attributes["gen_ai.response.model"]
    assert second.attributes["gen_ai.usage.input_tokens"] > 0
    # Each attempt reached the adapter (its RPC span a child of the attempt), whose upstream call carried the
    # trace context to the simulator in its HTTP headers.
    adapter_rpcs = [s for s in spans if s.service == "bourse-provider-adapter" and s.name.endswith("/Complete")]
    assert {s.parent_id for s in adapter_rpcs} == {first.span_id, second.span_id}
    upstream = [s for s in spans if s.service == "bourse-provider-adapter" and s.name == "upstream_call"]
    assert {s.parent_id for s in upstream} == {s.span_id for s in adapter_rpcs}
    ok_call = next(s for s in upstream if s.status_code != 2)
    assert ok_call.attributes["gen_ai.usage.output_tokens"] == second.attributes["gen_ai.usage.output_tokens"]
    simulated = [s for s in spans if s.service == "bourse-simulator"]
    assert {s.parent_id for s in simulated} == {s.span_id for s in upstream}


async def test_a_hedge_is_a_sibling_of_the_attempt_it_backs_up(traced_stack: TracedStack) -> None:
    trace_id, traceparent = _traceparent()
    # The first call hangs: after the candidate's p95 the router starts the hedge, which answers first.
    await _fault(traced_stack, kind="timeout", count=1, hang_s=30)
    status, _headers = await _chat(
        traced_stack, {"traceparent": traceparent}, f"hedge please {trace_id}", no_local=True, hedge=True
    )
    assert status == 200

    def complete(spans: list[ReceivedSpan]) -> bool:
        return len(_attempts(spans)) >= 2 and any(s.name == "route" for s in spans)

    spans = await traced_stack.receiver.wait_for(trace_id, complete)
    route = _one(spans, "bourse-router", "route")
    attempts = {s.attributes["bourse.attempt.reason"]: s for s in _attempts(spans)}
    assert set(attempts) == {"first", "hedge"}
    assert attempts["first"].parent_id == attempts["hedge"].parent_id == route.span_id
    assert attempts["first"].attributes["bourse.attempt.outcome"] == "cancelled"
    assert attempts["hedge"].attributes["bourse.attempt.outcome"] == "success"


async def test_a_malformed_traceparent_starts_a_new_trace(traced_stack: TracedStack) -> None:
    status, headers = await _chat(
        traced_stack, {"traceparent": "00-not-a-trace-id-01", "tracestate": "=,="}, "malformed context"
    )
    assert status == 200  # ignored, not refused
    request_id = headers["x-request-id"]
    receiver = traced_stack.receiver

    def tagged(service: str) -> list[ReceivedSpan]:
        return [
            s for s in receiver.spans if s.service == service and s.attributes.get("bourse.request_id") == request_id
        ]

    await receiver.wait_until(lambda: bool(tagged("bourse-gateway")) and bool(tagged("bourse-router")))
    (gateway,) = tagged("bourse-gateway")
    assert gateway.parent_id == ""  # a new root, not a child of the malformed parent
    assert len(gateway.trace_id) == 32 and int(gateway.trace_id, 16) != 0
    (route,) = tagged("bourse-router")
    assert route.trace_id == gateway.trace_id  # and the new trace still follows the request into the router
