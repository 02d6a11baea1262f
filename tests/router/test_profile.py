"""A request and its constraints map to the profile selection works on."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2

from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.profile import profile_from_request, task_kind_name


def _text(role: int, text: str) -> chat_pb2.Message:
    return chat_pb2.Message(role=role, content=[chat_pb2.ContentPart(text=text)])  # type: ignore[arg-type]


def test_plain_request_defaults() -> None:
    chat = chat_pb2.ChatRequest(messages=[_text(chat_pb2.ROLE_USER, "hello there")])
    profile = profile_from_request(chat, router_service_pb2.RoutingConstraints(), TokenEstimator())
    assert profile.task_kind == "chat" and profile.capabilities == frozenset()
    assert profile.max_tokens is None and profile.include_local and not profile.background
    assert profile.estimated_prompt_tokens == TokenEstimator().prompt_tokens(chat) > 0


def test_capabilities_implied_by_the_request_and_required_by_constraints() -> None:
    chat = chat_pb2.ChatRequest(
        messages=[
            _text(chat_pb2.ROLE_SYSTEM, "be brief"),
            chat_pb2.Message(
                role=chat_pb2.ROLE_USER,
                content=[chat_pb2.ContentPart(image=chat_pb2.ImagePart(url="https://example.com/a.png"))],
            ),
        ],
        tools=[chat_pb2.ToolDefinition(name="lookup")],
        response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema="{}"),
        sampling=chat_pb2.SamplingParams(max_tokens=64),
    )
    constraints = router_service_pb2.RoutingConstraints(
        required_capabilities=[routing_pb2.CAPABILITY_STREAMING, routing_pb2.CAPABILITY_UNSPECIFIED]
    )
    profile = profile_from_request(chat, constraints, TokenEstimator())
    assert profile.capabilities == {"system_prompt", "vision", "tools", "json_schema", "streaming"}
    assert profile.max_tokens == 64
    json_object = chat_pb2.ChatRequest(
        messages=[_text(chat_pb2.ROLE_USER, "x")],
        response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT),
    )
    profile = profile_from_request(json_object, router_service_pb2.RoutingConstraints(), TokenEstimator(), stream=True)
    assert profile.capabilities == {"json_object", "streaming"}


def test_constraints_are_carried_over() -> None:
    constraints = router_service_pb2.RoutingConstraints(
        task_kind=routing_pb2.TASK_KIND_CLASSIFICATION,
        max_cost_micro_usd=500,
        latency_budget_ms=800,
        min_tier=routing_pb2.MODEL_TIER_STANDARD,
        min_quality=0.7,
        allowed_models=["openai/gpt-4o-mini", "deepseek-chat"],
        denied_models=["o3"],
        allowed_providers=["openai"],
        denied_providers=["groq"],
        regions=["eu-west"],
        residency_tags=["eu"],
        background=True,
        no_local=True,
    )
    chat = chat_pb2.ChatRequest(messages=[_text(chat_pb2.ROLE_USER, "spam or not?")])
    profile = profile_from_request(chat, constraints, TokenEstimator())
    assert profile.task_kind == "classification"
    assert (profile.max_cost_micro_usd, profile.latency_budget_ms, profile.min_tier) == (500, 800, 3)
    assert profile.min_quality == 0.7 and profile.background and not profile.include_local
    assert profile.allowed_models == {"openai/gpt-4o-mini", "deepseek-chat"} and profile.denied_models == {"o3"}
    assert profile.allowed_providers == {"openai"} and profile.denied_providers == {"groq"}
    assert profile.regions == {"eu-west"} and profile.residency_tags == {"eu"}


def test_task_kind_names() -> None:
    assert task_kind_name(routing_pb2.TASK_KIND_UNSPECIFIED) == "chat"
    assert task_kind_name(routing_pb2.TASK_KIND_TRANSLATION) == "translation"
    assert task_kind_name(999) == "chat"
