"""client -> router -> provider-adapter -> simulator over real gRPC and HTTP, telemetry on real JetStream."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import grpc
import msgspec
import pytest
from bourse.common.v1 import routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from nats.aio.client import Client as NATS

from shared.events import subjects
from shared.events.schemas import CostEvent, TelemetryEvent
from shared.pricing.manifest import ModelEntry, default_manifest_path, load_manifest
from tests.support.requests import route


def _cheapest(entries: tuple[ModelEntry, ...], prompt: int, completion: int) -> ModelEntry:
    """The remote model the manifest's prices make cheapest for these token counts (ties: the lower P50)."""
    remote = [e for e in entries if e.tier != "local"]
    return min(remote, key=lambda e: (_cost(e, prompt, completion), e.latency_p50_ms))


def _cost(entry: ModelEntry, prompt: int, completion: int) -> int:
    micro = Decimal(str(entry.prices.input_per_mtok)) * prompt + Decimal(str(entry.prices.output_per_mtok)) * completion
    return int(micro.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def _stored_event(nc: NATS, subject: str, request_id: str, kind: type[msgspec.Struct]) -> msgspec.Struct:
    """The event with this request id, read back from the JetStream stream (waits up to 5 s)."""
    js = nc.jetstream()
    sub = await js.subscribe(subject, ordered_consumer=True)
    try:
        while True:
            msg = await sub.next_msg(timeout=5)
            event = msgspec.json.decode(msg.data, type=kind)
            if getattr(event, "request_id", None) == request_id:
                assert msg.metadata.stream in ("BOURSE_TELEMETRY", "BOURSE_COST")
                return event
    finally:
        await sub.unsubscribe()


async def test_route_picks_the_cheapest_model_and_publishes_matching_telemetry(router, nc: NATS) -> None:
    stub, _parts = router
    request = route("What is the capital of France?", max_tokens=64)
    explained: pb.ExplainResponse = await stub.Explain(pb.ExplainRequest(chat=request.chat), timeout=5)
    first = explained.candidates[0]
    cheapest = _cheapest(
        load_manifest(default_manifest_path()).models, first.estimated_prompt_tokens, first.expected_completion_tokens
    )
    response: pb.RouteResponse = await stub.Route(request, timeout=10)

    assert (response.provider, response.model) == (cheapest.provider, cheapest.model)
    assert response.completion.content
    assert response.served_from == routing_pb2.SERVED_FROM_REMOTE
    usage = response.completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert response.cost_micro_usd == _cost(cheapest, usage.prompt_tokens, usage.completion_tokens)
    assert [(a.provider, a.model, a.outcome) for a in response.attempts] == [
        (cheapest.provider, cheapest.model, pb.ATTEMPT_OUTCOME_SUCCESS)
    ]
    # The router assigns the id events are keyed by; the caller's id comes back as the correlation field.
    assert response.client_request_id == request.context.request_id != response.request_id
    assert response.latency.total_us >= response.latency.upstream_us > 0

    event = await _stored_event(
        nc, subjects.telemetry(cheapest.provider, cheapest.model), response.request_id, TelemetryEvent
    )
    assert isinstance(event, TelemetryEvent)
    assert (event.provider, event.model, event.served_from, event.outcome) == (
        cheapest.provider,
        cheapest.model,
        "remote",
        "ok",
    )
    assert event.cost_micro_usd == response.cost_micro_usd
    assert event.client_request_id == request.context.request_id
    assert (event.prompt_tokens, event.completion_tokens) == (usage.prompt_tokens, usage.completion_tokens)
    assert event.tenant == request.context.tenant_id and event.task_kind == "chat"
    assert len(event.attempts) == 1 and event.attempts[0].outcome == "success"
    cost = await _stored_event(nc, subjects.cost(request.context.tenant_id), response.request_id, CostEvent)
    assert isinstance(cost, CostEvent) and cost.cost_micro_usd == response.cost_micro_usd


async def test_explain_ranks_without_calling_and_names_rejections(router) -> None:
    stub, _parts = router
    constraints = pb.RoutingConstraints(required_capabilities=[routing_pb2.CAPABILITY_JSON_SCHEMA])
    explained: pb.ExplainResponse = await stub.Explain(
        pb.ExplainRequest(chat=route().chat, constraints=constraints), timeout=5
    )
    costs = [c.estimated_cost_micro_usd for c in explained.candidates]
    assert costs == sorted(costs) and len(costs) > 3
    assert explained.estimated_prompt_tokens > 0
    rejected = {(r.provider, r.model): r.constraint for r in explained.rejected}
    assert rejected[("qwen", "qwen-turbo")] == "capability"
    assert all(c.expected_latency_ms > 0 and c.p95_latency_ms >= c.expected_latency_ms for c in explained.candidates)


async def test_list_models_reports_prices_and_availability(router) -> None:
    stub, _parts = router
    listed: pb.ListModelsResponse = await stub.ListModels(pb.ListModelsRequest(), timeout=5)
    manifest = load_manifest(default_manifest_path())
    assert len(listed.models) == len(manifest.models)
    by_key = {(m.provider, m.model): m for m in listed.models}
    entry = manifest.models[0]
    info = by_key[(entry.provider, entry.model)]
    assert info.pricing.input_per_mtok == entry.prices.input_per_mtok
    assert info.context_window == entry.context_window and info.available
    # The newest price: the manifest's, or a live update retained on the pricing stream by an earlier test.
    assert listed.prices_as_of >= manifest.prices_as_of
    assert listed.oldest_prices_as_of <= manifest.prices_as_of and listed.max_price_age_days == 90


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.chat.ClearField("messages"), "chat.messages"),
        (lambda r: r.chat.messages[0].__setattr__("role", 42), "chat.messages[0].role"),
        (lambda r: r.constraints.__setattr__("max_cost_micro_usd", -1), "constraints.max_cost_micro_usd"),
        (lambda r: r.constraints.allowed_models.append("nobody/nothing"), "constraints.allowed_models"),
    ],
)
async def test_bad_input_is_invalid_argument_with_field_violations(router, mutate, field) -> None:
    from google.rpc import error_details_pb2, status_pb2

    stub, _parts = router
    request = route()
    mutate(request)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(request, timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = dict(caught.value.trailing_metadata())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    fields = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields.extend(v.field for v in bad.field_violations)
    assert field in fields


async def test_no_qualified_model_names_the_last_constraint(router) -> None:
    from shared.grpc_errors import from_rpc_error

    stub, _parts = router
    constraints = pb.RoutingConstraints(allowed_providers=["deepseek"], residency_tags=["eu"])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(route(constraints=constraints), timeout=5)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    error = from_rpc_error(caught.value)
    assert error.reason == "NO_QUALIFIED_MODEL" and error.metadata["constraint"] == "residency"
    assert "residency" in error.message


async def test_provider_error_maps_to_its_status_with_error_info(router, sim) -> None:
    from shared.grpc_errors import from_rpc_error

    stub, _parts = router
    async with sim.post("/_sim/faults", json={"provider": "mistral", "kind": "authentication", "count": 5}) as r:
        assert r.status == 201
    constraints = pb.RoutingConstraints(allowed_providers=["mistral"], max_attempts=1)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(route(constraints=constraints), timeout=5)
    error = from_rpc_error(caught.value)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error.reason == "AUTHENTICATION" and error.metadata["attempts"] == "1"


async def test_routed_requests_are_counted_in_metrics(router) -> None:
    stub, parts = router
    response = await stub.Route(route(), timeout=10)
    registry = parts.registry
    assert registry.get_sample_value("bourse_router_routed_total", {"served_from": "remote", "outcome": "ok"}) == 1
    assert registry.get_sample_value("bourse_router_cost_micro_usd_total", {"provider": response.provider}) == (
        response.cost_micro_usd
    )
