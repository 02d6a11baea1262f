"""What a request needs from a model, derived once from the request and its routing constraints."""

from __future__ import annotations

from typing import Protocol

import msgspec
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2

TASK_PREFIX = "TASK_KIND_"
CAPABILITY_PREFIX = "CAPABILITY_"


class PromptEstimator(Protocol):
    def prompt_tokens(self, chat: chat_pb2.ChatRequest) -> int: ...


class RequestProfile(msgspec.Struct, frozen=True, kw_only=True):
    task_kind: str = "chat"  # TaskKind name without prefix, lower case
    estimated_prompt_tokens: int
    max_tokens: int | None = None
    capabilities: frozenset[str] = frozenset()
    max_cost_micro_usd: int = 0  # 0 = no bound
    latency_budget_ms: int = 0  # 0 = none
    min_tier: int = 0  # bourse.common.v1.ModelTier value
    min_quality: float = 0.0
    allowed_models: frozenset[str] = frozenset()
    denied_models: frozenset[str] = frozenset()
    allowed_providers: frozenset[str] = frozenset()
    denied_providers: frozenset[str] = frozenset()
    regions: frozenset[str] = frozenset()
    residency_tags: frozenset[str] = frozenset()
    background: bool = False
    include_local: bool = True
    # Quality-aware routing (services/router/core/quality): 0 = no target (the cheapest qualified model).
    tenant: str = ""
    quality_target: float = 0.0
    difficulty: float = 0.0  # the difficulty predictor's shift for this prompt, in logits


def task_kind_name(value: int) -> str:
    """bourse.common.v1.TaskKind value -> "classification"; unspecified and unknown values are "chat"."""
    if value == routing_pb2.TASK_KIND_UNSPECIFIED:
        return "chat"
    try:
        return routing_pb2.TaskKind.Name(value).removeprefix(TASK_PREFIX).lower()
    except ValueError:
        return "chat"


def capability_name(value: int) -> str:
    return routing_pb2.Capability.Name(value).removeprefix(CAPABILITY_PREFIX).lower()


def implied_capabilities(chat: chat_pb2.ChatRequest, *, stream: bool = False) -> set[str]:
    """The abilities the request itself needs: tools, structured output, images, a system prompt, streaming."""
    needed: set[str] = set()
    if chat.tools or any(message.tool_calls for message in chat.messages):
        needed.add("tools")
    if chat.HasField("response_format"):
        kind = chat.response_format.type
        if kind == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
            needed.add("json_schema")
        elif kind == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT:
            needed.add("json_object")
    for message in chat.messages:
        if message.role == chat_pb2.ROLE_SYSTEM:
            needed.add("system_prompt")
        elif message.role == chat_pb2.ROLE_TOOL:
            needed.add("tools")
        if any(part.WhichOneof("part") == "image" for part in message.content):
            needed.add("vision")
    if stream:
        needed.add("streaming")
    return needed


def profile_from_request(
    chat: chat_pb2.ChatRequest,
    constraints: router_service_pb2.RoutingConstraints,
    estimator: PromptEstimator,
    *,
    stream: bool = False,
) -> RequestProfile:
    """Pure mapping from a validated request to its profile (validation happens before, in the servicer)."""
    capabilities = implied_capabilities(chat, stream=stream)
    capabilities.update(
        capability_name(value)
        for value in constraints.required_capabilities
        if value != routing_pb2.CAPABILITY_UNSPECIFIED
    )
    max_tokens = (
        int(chat.sampling.max_tokens) if chat.HasField("sampling") and chat.sampling.HasField("max_tokens") else None
    )
    return RequestProfile(
        task_kind=task_kind_name(constraints.task_kind),
        estimated_prompt_tokens=estimator.prompt_tokens(chat),
        max_tokens=max_tokens or None,
        capabilities=frozenset(capabilities),
        max_cost_micro_usd=max(int(constraints.max_cost_micro_usd), 0),
        latency_budget_ms=int(constraints.latency_budget_ms),
        min_tier=int(constraints.min_tier),
        min_quality=float(constraints.min_quality),
        allowed_models=frozenset(constraints.allowed_models),
        denied_models=frozenset(constraints.denied_models),
        allowed_providers=frozenset(constraints.allowed_providers),
        denied_providers=frozenset(constraints.denied_providers),
        regions=frozenset(constraints.regions),
        residency_tags=frozenset(constraints.residency_tags),
        background=bool(constraints.background),
        include_local=not constraints.no_local,
    )
