"""Every bad Route request is INVALID_ARGUMENT (never RESOURCE_EXHAUSTED, INTERNAL or a dropped call), with an
ErrorInfo reason and at most 20 BadRequest violations plus a count of the rest: a table of malformed requests
through the real router's gRPC server (bounds: shared/input_bounds.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import grpc
import pytest
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb
from google.rpc import error_details_pb2, status_pb2

from tests.router.conftest import RouterFactory
from tests.support.requests import route

Edit = Callable[[pb.RouteRequest], None]


@dataclass(frozen=True)
class Case:
    name: str
    edit: Edit
    reason: str = "INVALID_REQUEST"
    field: str = ""  # a prefix of one of the violations' fields


def _schema_text(depth: int) -> str:
    return '{"type": "object", "properties": {"a": ' * depth + '{"type": "string"}' + "}}" * depth


def _tool(name: str, parameters: str = '{"type": "object"}') -> chat_pb2.ToolDefinition:
    return chat_pb2.ToolDefinition(name=name, parameters_json_schema=parameters)


def _set(path: str, value: object) -> Edit:
    def edit(request: pb.RouteRequest) -> None:
        *parents, last = path.split(".")
        target = request
        for part in parents:
            target = getattr(target, part)
        setattr(target, last, value)

    return edit


def _tools(*tools: chat_pb2.ToolDefinition) -> Edit:
    def edit(request: pb.RouteRequest) -> None:
        request.chat.tools.extend(tools)

    return edit


def _metadata(entries: dict[str, str]) -> Edit:
    def edit(request: pb.RouteRequest) -> None:
        request.context.metadata.update(entries)

    return edit


def _schema_format(text: str) -> Edit:
    def edit(request: pb.RouteRequest) -> None:
        request.chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
        request.chat.response_format.json_schema = text

    return edit


def _named_choice(name: str) -> Edit:
    def edit(request: pb.RouteRequest) -> None:
        request.chat.tool_choice.CopyFrom(chat_pb2.ToolChoice(mode=chat_pb2.TOOL_CHOICE_MODE_NAMED, name=name))

    return edit


def _no_messages(request: pb.RouteRequest) -> None:
    del request.chat.messages[:]


def _no_chat(request: pb.RouteRequest) -> None:
    request.ClearField("chat")


def _message(message: chat_pb2.Message) -> Edit:
    def edit(request: pb.RouteRequest) -> None:
        request.chat.messages.append(message)

    return edit


def _repeated(path: str, values: list[object]) -> Edit:
    def edit(request: pb.RouteRequest) -> None:
        *parents, last = path.split(".")
        target = request
        for part in parents:
            target = getattr(target, part)
        getattr(target, last).extend(values)

    return edit


CASES = [
    # --- identity (tenant ids and request ids become subjects and headers: bounded)
    Case("tenant id of 5,000 characters", _set("context.tenant_id", "t" * 5000), field="context.tenant_id"),
    Case("tenant id with a dot prefix", _set("context.tenant_id", ".acme"), field="context.tenant_id"),
    Case("tenant id with a space", _set("context.tenant_id", "ac me"), field="context.tenant_id"),
    Case("tenant id with a wildcard", _set("context.tenant_id", "acme.>"), field="context.tenant_id"),
    Case("tenant id of 65 characters", _set("context.tenant_id", "t" * 65), field="context.tenant_id"),
    Case("request id with CR/LF", _set("context.request_id", "a\r\nb"), field="context.request_id"),
    Case("request id of 129 characters", _set("context.request_id", "r" * 129), field="context.request_id"),
    Case("request id with a space", _set("context.request_id", "a b"), field="context.request_id"),
    Case("request id with non-ASCII", _set("context.request_id", "r\u00e9q"), field="context.request_id"),
    Case("key id with a newline", _set("context.key_id", "k\n"), field="context.key_id"),
    Case("key id of 65 characters", _set("context.key_id", "k" * 65), field="context.key_id"),
    # --- metadata
    Case("65 metadata entries", _metadata({f"k{i}": "v" for i in range(65)}), field="context.metadata"),
    Case("metadata over 8 KiB", _metadata({f"k{i}": "v" * 250 for i in range(40)}), field="context.metadata"),
    Case("metadata key of 65 bytes", _metadata({"k" * 65: "v"}), field="context.metadata"),
    Case("metadata value of 257 bytes", _metadata({"k": "v" * 257}), field="context.metadata"),
    Case("13,000 metadata entries", _metadata({f"k{i}": "v" * 200 for i in range(13_000)}), field="context.metadata"),
    # --- depth
    Case("response schema 10,000 deep", _schema_format(_schema_text(10_000)), "NESTING_TOO_DEEP"),
    Case("response schema 33 deep", _schema_format(_schema_text(33)), "NESTING_TOO_DEEP"),
    Case("tool schema 10,000 deep", _tools(_tool("f", _schema_text(10_000))), "NESTING_TOO_DEEP"),
    Case("tool schema of 10,000 arrays", _tools(_tool("f", "[" * 10_000 + "]" * 10_000)), "NESTING_TOO_DEEP"),
    # --- tools
    Case("2,000 invalid tool names", _tools(*(_tool(f"bad name {i}") for i in range(2000))), field="chat.tools"),
    Case("129 valid tools", _tools(*(_tool(f"f{i}") for i in range(129))), field="chat.tools"),
    Case("tool name with a space", _tools(_tool("a b")), field="chat.tools[0].name"),
    Case("tool name of 65 characters", _tools(_tool("f" * 65)), field="chat.tools[0].name"),
    Case("tool parameters not JSON", _tools(_tool("f", "{nope")), field="chat.tools[0].parameters_json_schema"),
    Case("tool parameters an array", _tools(_tool("f", "[]")), field="chat.tools[0].parameters_json_schema"),
    Case("response schema not JSON", _schema_format("nope"), field="chat.response_format.json_schema"),
    Case("tool choice naming no tool", _named_choice("g"), field="chat.tool_choice"),
    # --- messages and sampling
    Case("no chat", _no_chat, field="chat"),
    Case("no messages", _no_messages, field="chat.messages"),
    Case("unknown role", _message(chat_pb2.Message(role=99)), field="chat.messages[1].role"),
    Case("tool message without id", _message(chat_pb2.Message(role=chat_pb2.ROLE_TOOL)), field="chat.messages[1]"),
    Case("empty assistant message", _message(chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT)), field="chat.messages[1]"),
    Case("temperature 5", _set("chat.sampling.temperature", 5.0), field="chat.sampling.temperature"),
    Case("top_p 0", _set("chat.sampling.top_p", 0.0), field="chat.sampling.top_p"),
    Case("max_tokens 0", _set("chat.sampling.max_tokens", 0), field="chat.sampling.max_tokens"),
    Case("five stop sequences", _repeated("chat.sampling.stop", ["a", "b", "c", "d", "e"]), field="chat.sampling.stop"),
    # --- constraints
    Case("negative max cost", _set("constraints.max_cost_micro_usd", -1), field="constraints.max_cost_micro_usd"),
    Case("min quality 2", _set("constraints.min_quality", 2.0), field="constraints.min_quality"),
    Case("11 attempts", _set("constraints.max_attempts", 11), field="constraints.max_attempts"),
    Case("unknown task kind", _set("constraints.task_kind", 999), field="constraints.task_kind"),
    Case("unknown allowed model", _repeated("constraints.allowed_models", ["nope/nope"]), field="constraints.allowed"),
    Case("one label", _repeated("constraints.labels", ["only"]), field="constraints.labels"),
    Case("bad output pattern", _set("constraints.output_pattern", "("), field="constraints.output_pattern"),
    Case("min similarity 3", _set("constraints.cache.min_similarity", 3.0), field="constraints.cache.min_similarity"),
]


def _details(error: grpc.aio.AioRpcError) -> tuple[str, list[error_details_pb2.BadRequest.FieldViolation]]:
    raw = dict(error.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert isinstance(raw, bytes), "no rich status"
    status = status_pb2.Status.FromString(raw)
    reason, violations = "", []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            reason = info.reason
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            violations = list(bad.field_violations)
    return reason, violations


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_malformed_route_is_invalid_argument(make_router: RouterFactory, case: Case) -> None:
    stub, parts = await make_router()
    request = route("Say hello.", max_tokens=16)
    case.edit(request)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    reason, violations = _details(caught.value)
    assert reason == case.reason
    assert 1 <= len(violations) <= 21
    if case.field:
        assert any(v.field.startswith(case.field) for v in violations), [v.field for v in violations]
    assert parts.publisher.stats.published == 0  # refused before anything was routed or charged


async def test_violations_are_capped_with_a_count_of_the_rest(make_router: RouterFactory) -> None:
    stub, _ = await make_router()
    request = route()
    request.chat.tools.extend(_tool(f"bad name {i}") for i in range(2000))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Route(request, timeout=10)
    _, violations = _details(caught.value)
    assert len(violations) == 21
    assert violations[-1].field == "..." and violations[-1].description.startswith("1981 more")


async def test_a_message_that_does_not_parse_is_invalid_argument(make_router: RouterFactory) -> None:
    _stub, parts = await make_router()
    # Field 3 (context) holding field 1 (request_id) with bytes that are not UTF-8: protobuf refuses to parse it.
    raw = route().SerializeToString() + bytes([0x1A, 0x03, 0x0A, 0x01, 0xFF])
    async with grpc.aio.insecure_channel(f"127.0.0.1:{parts.port}") as channel:
        call = channel.unary_unary("/bourse.router.v1.RouterService/Route")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(raw, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert _details(caught.value)[0] == "INVALID_ENCODING"


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)
    assert json.loads(_schema_text(2)) == {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"a": {"type": "string"}}}},
    }
