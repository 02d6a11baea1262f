"""Failover over the real adapter and simulator: another provider first, bounded attempts, total deadline,
circuit breaker, output validation with escalation, hedging."""

from __future__ import annotations

import json
import time

import grpc
import pytest
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb

from shared.grpc_errors import from_rpc_error
from tests.router.faults import inject, requests_to
from tests.support.eventually import eventually
from tests.support.requests import route

CHEAPEST = ("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct")


async def _explain(stub, request: pb.RouteRequest) -> pb.ExplainResponse:
    return await stub.Explain(pb.ExplainRequest(chat=request.chat, constraints=request.constraints), timeout=5)


async def _first_choice(stub) -> tuple[str, str]:
    """The model the router ranks first for `route()` now.

    Llama 3.1 8B (0.10 / 0.10 USD per Mtok) and qwen-turbo (0.05 / 0.20) swap places with the expected completion
    length, which the router learns from the telemetry of earlier tests on the same nats-server; failover is the
    subject here, so the faults go to whichever is first.
    """
    ranked = (await _explain(stub, route())).candidates
    assert (ranked[0].provider, ranked[0].model) in {CHEAPEST, ("qwen", "qwen-turbo")}
    return ranked[0].provider, ranked[0].model


async def test_server_error_fails_over_to_another_provider(router, sim) -> None:
    stub, _ = router
    request = route()
    ranked = (await _explain(stub, request)).candidates
    cheapest = (ranked[0].provider, ranked[0].model)
    assert cheapest in {CHEAPEST, ("qwen", "qwen-turbo")}  # see _first_choice
    await inject(sim, provider=cheapest[0], model=cheapest[1], kind="server_error", count=1)
    response: pb.RouteResponse = await stub.Route(request, timeout=10)
    first, second = response.attempts
    assert (first.provider, first.model, first.outcome) == (*cheapest, pb.ATTEMPT_OUTCOME_ERROR)
    assert first.error_reason == "UPSTREAM_5XX" and first.cost_micro_usd == 0
    # the next candidate is the cheapest from a provider that has not failed, even if that provider has cheaper ones
    next_other = next(c for c in ranked if c.provider != cheapest[0])
    assert (second.provider, second.model) == (next_other.provider, next_other.model)
    assert second.outcome == pb.ATTEMPT_OUTCOME_SUCCESS
    assert response.cost_micro_usd == second.cost_micro_usd > 0
    assert (response.provider, response.model) == (next_other.provider, next_other.model)


async def test_attempts_are_bounded(router, sim) -> None:
    stub, _ = router
    await inject(sim, kind="server_error", count=50)
    request = route(constraints=pb.RoutingConstraints(max_attempts=2))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    error = from_rpc_error(caught.value)
    assert error.reason == "UPSTREAM_5XX" and error.metadata["attempts"] == "2" and error.retryable


async def test_total_deadline(make_router, sim) -> None:
    stub, _ = await make_router(total_deadline_s=0.4)
    await inject(sim, kind="timeout", count=10, hang_s=5)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(route(), timeout=10)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_circuit_opens_then_half_open_probe_closes_it(make_router, sim) -> None:
    # open long enough for the checks below to run inside the window on a loaded machine (parallel workers)
    stub, parts = await make_router(circuit_failure_threshold=2, circuit_open_s=5.0)
    cheapest = await _first_choice(stub)
    await inject(sim, provider=cheapest[0], model=cheapest[1], kind="server_error", count=2)
    for _ in range(2):
        response = await stub.Route(route(), timeout=10)
        assert response.attempts[0].error_reason == "UPSTREAM_5XX" and response.model != cheapest[1]
    before = await requests_to(sim, *cheapest)
    response = await stub.Route(route(), timeout=10)
    assert len(response.attempts) == 1 and response.model != cheapest[1]  # skipped, not tried
    assert await requests_to(sim, *cheapest) == before
    rejected = {(r.provider, r.model): r.constraint for r in (await _explain(stub, route())).rejected}
    assert rejected[cheapest] == "circuit_open"
    models = {(m.provider, m.model): m.available for m in (await stub.ListModels(pb.ListModelsRequest())).models}
    assert models[cheapest] is False

    # after open_s the circuit is half-open: one probe goes through, succeeds, and closes it
    async def probed() -> bool:
        response = await stub.Route(route(), timeout=10)
        return response.model == cheapest[1]

    await eventually(probed, timeout_s=20, interval_s=0.05, what="the half-open probe")
    assert parts.policy.circuits.allows(*cheapest, now=time.monotonic())


def _json_request(schema: dict[str, object], max_attempts: int = 0) -> pb.RouteRequest:
    request = route("Reply in JSON.", constraints=pb.RoutingConstraints(max_attempts=max_attempts))
    request.chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    request.chat.response_format.json_schema = json.dumps(schema)
    return request


async def test_answer_matching_the_schema_is_returned(router) -> None:
    stub, _ = router
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    response = await stub.Route(_json_request(schema), timeout=10)
    assert isinstance(json.loads(response.completion.content)["answer"], str)
    assert [a.outcome for a in response.attempts] == [pb.ATTEMPT_OUTCOME_SUCCESS]


async def test_invalid_output_escalates_and_every_cost_is_counted(router) -> None:
    stub, _ = router
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(_json_request(schema, max_attempts=2), timeout=10)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    error = from_rpc_error(caught.value)
    assert error.reason == "INVALID_OUTPUT" and error.metadata["attempts"] == "2"


async def test_hedge_starts_a_backup_when_the_first_is_slow(router, sim) -> None:
    stub, _ = router
    request = route("word " * 400, constraints=pb.RoutingConstraints(hedge=True))  # a prompt worth billing
    ranked = (await _explain(stub, request)).candidates
    first = (ranked[0].provider, ranked[0].model)  # a long prompt: the cheapest by input price leads
    await inject(sim, provider=first[0], model=first[1], kind="timeout", count=1, hang_s=30)
    response = await stub.Route(request, timeout=20)
    outcomes = {(a.provider, a.model): a for a in response.attempts}
    assert outcomes[first].outcome == pb.ATTEMPT_OUTCOME_CANCELLED
    assert outcomes[first].cost_micro_usd > 0  # the abandoned call is billed for its prompt
    backup = next(c for c in ranked if c.provider != first[0])
    assert outcomes[(backup.provider, backup.model)].outcome == pb.ATTEMPT_OUTCOME_SUCCESS
    assert response.model == backup.model
    assert response.cost_micro_usd == sum(a.cost_micro_usd for a in response.attempts)
