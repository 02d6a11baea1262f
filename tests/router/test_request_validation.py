"""Bad input is refused with one field violation per problem, before anything else happens."""

from __future__ import annotations

import pytest
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as pb

from services.router.core.execution.request_validation import validate_request
from shared.errors import InvalidRequest, Kind

KNOWN = {"openai/gpt-4.1-mini", "gpt-4.1-mini", "deepseek/deepseek-chat"}


def _chat(*messages: chat_pb2.Message) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(messages=list(messages))


def _user(text: str = "hi") -> chat_pb2.Message:
    return chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)])


def _violations(
    chat: chat_pb2.ChatRequest,
    constraints: pb.RoutingConstraints | None = None,
    context: pb.RequestContext | None = None,
    *,
    has_chat: bool = True,
) -> dict[str, str]:
    with pytest.raises(InvalidRequest) as caught:
        validate_request(
            chat,
            constraints or pb.RoutingConstraints(),
            context or pb.RequestContext(),
            has_chat=has_chat,
            knows_model=KNOWN.__contains__,
        )
    assert caught.value.kind is Kind.INVALID_ARGUMENT
    return {v.field: v.description for v in caught.value.violations}


def test_a_good_request_passes() -> None:
    constraints = pb.RoutingConstraints(
        allowed_models=["gpt-4.1-mini"], max_cost_micro_usd=100, labels=["a", "b"], output_pattern=r"\d+"
    )
    validate_request(_chat(_user()), constraints, pb.RequestContext(), has_chat=True, knows_model=KNOWN.__contains__)


def test_no_messages() -> None:
    assert "chat.messages" in _violations(_chat())


def test_missing_chat() -> None:
    got = _violations(chat_pb2.ChatRequest(), has_chat=False)
    assert "chat" in got and "chat.messages" in got


def test_unknown_and_unset_roles() -> None:
    got = _violations(_chat(_user(), chat_pb2.Message(role=99), chat_pb2.Message(role=0)))
    assert "chat.messages[1].role" in got and "chat.messages[2].role" in got
    assert "chat.messages[0].role" not in got


def test_negative_budget() -> None:
    got = _violations(_chat(_user()), pb.RoutingConstraints(max_cost_micro_usd=-5))
    assert "constraints.max_cost_micro_usd" in got


def test_allow_list_naming_no_known_model() -> None:
    got = _violations(_chat(_user()), pb.RoutingConstraints(allowed_models=["nope/nothing", "gpt-9"]))
    assert "constraints.allowed_models" in got
    assert "constraints.allowed_models[0]" in got and "constraints.allowed_models[1]" in got


def test_allow_list_with_one_typo_names_the_typo() -> None:
    got = _violations(_chat(_user()), pb.RoutingConstraints(allowed_models=["gpt-4.1-mini", "gpt-4.1-mimi"]))
    assert set(got) == {"constraints.allowed_models[1]"}


def test_every_problem_is_reported_at_once() -> None:
    bad_tool = chat_pb2.Message(role=chat_pb2.ROLE_TOOL, content=[chat_pb2.ContentPart(text="r")])
    chat = _chat(_user(), bad_tool)
    chat.sampling.temperature = 3.0
    chat.sampling.top_p = 0.0
    chat.sampling.stop.extend(["a", "b", "c", "d", "e"])
    chat.tools.add(name="bad name!", parameters_json_schema="[1]")
    chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_NAMED
    chat.tool_choice.name = "other"
    chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    chat.response_format.json_schema = "{not json"
    constraints = pb.RoutingConstraints(
        task_kind=42,
        min_tier=9,
        min_quality=1.5,
        max_attempts=99,
        required_capabilities=[routing_pb2.CAPABILITY_UNSPECIFIED],
        labels=["only"],
        output_pattern="(",
    )
    constraints.cache.min_similarity = 2.0
    context = pb.RequestContext(request_id="x" * 200, metadata={"k" * 70: "v"})
    got = _violations(chat, constraints, context)
    expected = {
        "chat.messages[1].tool_call_id",
        "chat.sampling.temperature",
        "chat.sampling.top_p",
        "chat.sampling.stop",
        "chat.tools[0].name",
        "chat.tools[0].parameters_json_schema",
        "chat.tool_choice.name",
        "chat.response_format.json_schema",
        "constraints.task_kind",
        "constraints.min_tier",
        "constraints.min_quality",
        "constraints.max_attempts",
        "constraints.required_capabilities[0]",
        "constraints.labels",
        "constraints.output_pattern",
        "constraints.cache.min_similarity",
        "context.request_id",
    }
    assert expected <= set(got), expected - set(got)
    assert any(field.startswith("context.metadata[") for field in got)


def test_image_parts_and_empty_assistant() -> None:
    image = chat_pb2.Message(
        role=chat_pb2.ROLE_USER,
        content=[chat_pb2.ContentPart(image=chat_pb2.ImagePart(data=b"\x89PNG")), chat_pb2.ContentPart()],
    )
    got = _violations(_chat(image, chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT)))
    assert "chat.messages[0].content[0].image.media_type" in got
    assert "chat.messages[0].content[1]" in got
    assert "chat.messages[1].content" in got


def test_required_tool_choice_without_tools() -> None:
    chat = _chat(_user())
    chat.tool_choice.mode = chat_pb2.TOOL_CHOICE_MODE_REQUIRED
    assert "chat.tool_choice.mode" in _violations(chat)
