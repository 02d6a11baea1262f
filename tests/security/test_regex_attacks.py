"""Regex attacks on a running router (real simulator and adapter; a nats-server of its own running the permission
matrix, so these answers' telemetry teaches no other test's router; the router as its own user): a pattern RE2
cannot run is refused as INVALID_ARGUMENT naming the field; a pattern built to backtrack, in `output_pattern`
or in a JSON Schema, is judged at once, while other tenants' requests and the health check go on."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import aiohttp
import grpc
import pytest
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as router_grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.gateway.config import GatewayConfig
from services.gateway.core.api_keys import issue_key
from services.gateway.key_store import KeyStore, open_bucket
from services.provider_adapter.config import AdapterConfig
from services.router.config import RouterConfig
from services.simulator.config import SimulatorConfig
from shared.logging import get_logger
from tests.security.locked_nats import LockedNats, connect_as, locked_nats
from tests.support.requests import route
from tests.support.services import LOOPBACK_ANY_PORT, Services, running_services

# Python's re takes ~2^n steps for these on an answer of n words that does not end in "!".
BACKTRACKING_ANSWER_PATTERN = r"([a-z]+ ?)+!"
BACKTRACKING_SCHEMA = {"type": "object", "properties": {"answer": {"type": "string", "pattern": r"^([a-z]+ ?)+!$"}}}


@pytest.fixture(scope="module")
async def adapter_target() -> AsyncIterator[str]:
    async with running_services() as started:
        simulator = await started.simulator(SimulatorConfig(listen=LOOPBACK_ANY_PORT, seed=11))
        adapter = await started.adapter(AdapterConfig(listen=LOOPBACK_ANY_PORT, simulator_url=simulator))
        yield f"127.0.0.1:{adapter.port}"


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LockedNats]:
    with locked_nats(tmp_path_factory.mktemp("regex-nats")) as server:
        yield server


@pytest.fixture
async def router(
    locked: LockedNats, adapter_target: str, services: Services
) -> tuple[router_grpc.RouterServiceStub, str]:
    config = RouterConfig(
        listen=LOOPBACK_ANY_PORT,
        nats_url=locked.url,
        nats_auth=locked.accounts.auth("router"),
        adapter_target=adapter_target,
    )
    service, _ = await services.router(config)
    target = f"127.0.0.1:{service.port}"
    return router_grpc.RouterServiceStub(services.channel(target)), target


def _fields(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = status_pb2.Status.FromString(dict(error.trailing_metadata())["grpc-status-details-bin"])
    fields = {}
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.update({v.field: v.description for v in bad.field_violations})
    return fields


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<!x)a"])
async def test_a_pattern_re2_cannot_run_is_invalid_argument(router, pattern: str) -> None:
    stub, _ = router
    request = route(constraints=pb.RoutingConstraints(output_pattern=pattern))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "RE2" in _fields(caught.value)["constraints.output_pattern"]


async def test_a_schema_pattern_re2_cannot_run_is_invalid_argument(router) -> None:
    stub, _ = router
    request = route()
    schema = {"type": "object", "properties": {"a": {"type": "string", "pattern": r"(x)\1"}}}
    request.chat.response_format.CopyFrom(
        chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=json.dumps(schema))
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "pattern refused" in _fields(caught.value)["chat.response_format.json_schema"]


async def _outcome(call: object) -> tuple[grpc.StatusCode, str]:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code(), error.details() or ""
    return grpc.StatusCode.OK, ""


@pytest.mark.timeout(120)  # on a backtracking engine these requests would not finish
async def test_backtracking_patterns_are_judged_at_once_and_others_are_served(router) -> None:
    stub, target = router
    by_pattern = route(
        "List forty words.",
        constraints=pb.RoutingConstraints(
            task_kind=routing_pb2.TASK_KIND_EXTRACTION, output_pattern=BACKTRACKING_ANSWER_PATTERN, max_attempts=3
        ),
    )
    by_schema = route("Answer in JSON.")
    by_schema.chat.response_format.CopyFrom(
        chat_pb2.ResponseFormat(
            type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=json.dumps(BACKTRACKING_SCHEMA)
        )
    )
    by_schema.constraints.max_attempts = 3
    async with grpc.aio.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        attacks = [_outcome(stub.Route(by_pattern, timeout=60)), _outcome(stub.Route(by_schema, timeout=60))]
        innocent = stub.Route(route("Say hello."), timeout=60)
        checked = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=60)
        *outcomes, answer, status = await asyncio.gather(*attacks, innocent, checked)
    # Every answer fails its pattern, so the ladder runs out: a clean refusal, never an internal error.
    for code, details in outcomes:
        assert code == grpc.StatusCode.FAILED_PRECONDITION, (code, details)
        assert details == "no model produced an answer that passed validation"
    assert answer.completion.content
    assert status.status == health_pb2.HealthCheckResponse.SERVING


@pytest.fixture
async def gateway_url(locked: LockedNats, router, services: Services) -> str:
    """The HTTP gateway in front of that router, as its own NATS user; its key written by the key admin's user."""
    _, router_target = router
    config = GatewayConfig(
        listen=LOOPBACK_ANY_PORT,
        router=router_target,
        nats_url=locked.url,
        nats_auth=locked.accounts.auth("gateway"),
        request_timeout_s=60.0,
    )
    gateway = await services.gateway(config)
    keys_user = await connect_as(locked, "keys")
    try:
        store = KeyStore(await open_bucket(keys_user.nc.jetstream(), config.keys_bucket), get_logger("test"))
        issued = issue_key("acme", "regex-attacks")
        await store.put(issued.record)
    finally:
        await keys_user.nc.close()
    return f"{gateway.base_url}|{issued.key}"


async def test_through_the_gateway_a_refused_pattern_is_a_400_in_the_api_shape(gateway_url: str) -> None:
    base_url, key = gateway_url.split("|")
    body = {"model": "bourse/cheapest", "messages": [{"role": "user", "content": "hi"}], "bourse": {}}
    headers = {"authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession() as session:
        body["bourse"] = {"output_pattern": r"(a)\1"}
        async with session.post(f"{base_url}/chat/completions", json=body, headers=headers) as response:
            refused = response.status, await response.json()
        body["bourse"] = {"output_pattern": BACKTRACKING_ANSWER_PATTERN}
        async with session.post(f"{base_url}/chat/completions", json=body, headers=headers) as response:
            backtracking = response.status, await response.json()
    assert refused[0] == 400, refused
    assert refused[1]["error"]["param"] == "constraints.output_pattern"
    assert backtracking[0] == 400, backtracking  # judged at once: every answer fails the pattern
    assert backtracking[1]["error"]["code"] == "invalid_output"
