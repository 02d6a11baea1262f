"""Checks a Route/RouteStream/Explain request before anything else happens.

Every problem becomes a field violation with a dotted path, and all of them are reported at once in one
InvalidRequest (INVALID_ARGUMENT with google.rpc.BadRequest), capped at shared.input_bounds' max_violations plus a
count of the rest. Identity, metadata and JSON depth follow the project's one set of bounds (shared/input_bounds.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2

from shared import input_bounds
from shared.errors import FieldViolation, InvalidRequest, Reason
from shared.input_bounds import BOUNDS

_ROLES = frozenset(v for v in chat_pb2.Role.values() if v != chat_pb2.ROLE_UNSPECIFIED)
_TASK_KINDS = frozenset(routing_pb2.TaskKind.values())
_TIERS = frozenset(routing_pb2.ModelTier.values())
_CAPABILITIES = frozenset(v for v in routing_pb2.Capability.values() if v != routing_pb2.CAPABILITY_UNSPECIFIED)
_FORMATS = frozenset(chat_pb2.ResponseFormatType.values())
_TOOL_CHOICES = frozenset(chat_pb2.ToolChoiceMode.values())
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_ATTEMPTS_LIMIT = 10
MAX_STOP_SEQUENCES = 4


def validate_request(
    chat: chat_pb2.ChatRequest,
    constraints: router_service_pb2.RoutingConstraints,
    context: router_service_pb2.RequestContext,
    *,
    has_chat: bool,
    knows_model: Callable[[str], bool],
) -> None:
    """Raise InvalidRequest naming every bad field, or return. `knows_model` checks allow-list entries."""
    violations: list[FieldViolation] = []
    add = violations.append
    if not has_chat:
        add(FieldViolation("chat", "required"))
    _check_messages(chat, add)
    _check_tools(chat, add)
    _check_format(chat.response_format, add)
    _check_sampling(chat.sampling, add)
    _check_constraints(constraints, add, knows_model)
    _check_context(context, add)
    if violations:
        shown = input_bounds.cap_violations(violations)
        fields = ", ".join(v.field for v in shown)
        too_deep = any(v.description.startswith("JSON nested deeper") for v in violations)
        reason = Reason.NESTING_TOO_DEEP if too_deep else Reason.INVALID_REQUEST
        raise InvalidRequest(f"invalid request: {fields}", reason=reason, violations=shown)


Add = Callable[[FieldViolation], None]


def _check_messages(chat: chat_pb2.ChatRequest, add: Add) -> None:
    if not chat.messages:
        add(FieldViolation("chat.messages", "at least one message is required"))
    for i, message in enumerate(chat.messages):
        path = f"chat.messages[{i}]"
        if message.role not in _ROLES:
            add(FieldViolation(f"{path}.role", f"unknown role {message.role}; use system, user, assistant or tool"))
        if message.role == chat_pb2.ROLE_TOOL and not message.tool_call_id:
            add(FieldViolation(f"{path}.tool_call_id", "required for tool messages"))
        if message.role == chat_pb2.ROLE_ASSISTANT and not message.content and not message.tool_calls:
            add(FieldViolation(f"{path}.content", "an assistant message needs content or tool_calls"))
        for j, part in enumerate(message.content):
            kind = part.WhichOneof("part")
            if kind is None:
                add(FieldViolation(f"{path}.content[{j}]", "a content part needs text or image"))
            elif kind == "image":
                image = part.image
                if not image.url and not image.data:
                    add(FieldViolation(f"{path}.content[{j}].image", "url or data is required"))
                if image.data and not image.media_type:
                    add(FieldViolation(f"{path}.content[{j}].image.media_type", "required with data"))
        for j, call in enumerate(message.tool_calls):
            if not call.name:
                add(FieldViolation(f"{path}.tool_calls[{j}].name", "required"))


def _check_tools(chat: chat_pb2.ChatRequest, add: Add) -> None:
    names: set[str] = set()
    if len(chat.tools) > BOUNDS.max_tools:
        add(FieldViolation("chat.tools", f"at most {BOUNDS.max_tools} tools, got {len(chat.tools)}"))
    for i, tool in enumerate(chat.tools):
        path = f"chat.tools[{i}]"
        if not _TOOL_NAME.fullmatch(tool.name):
            add(FieldViolation(f"{path}.name", "letters, digits, '_' or '-', 1 to 64 characters"))
        names.add(tool.name)
        if tool.parameters_json_schema:
            _check_schema(tool.parameters_json_schema, f"{path}.parameters_json_schema", "must be a JSON object", add)
    choice = chat.tool_choice
    if choice.mode not in _TOOL_CHOICES:
        add(FieldViolation("chat.tool_choice.mode", f"unknown mode {choice.mode}"))
    elif choice.mode == chat_pb2.TOOL_CHOICE_MODE_NAMED and choice.name not in names:
        add(FieldViolation("chat.tool_choice.name", "must name one of chat.tools"))
    elif choice.mode in (chat_pb2.TOOL_CHOICE_MODE_REQUIRED, chat_pb2.TOOL_CHOICE_MODE_NAMED) and not chat.tools:
        add(FieldViolation("chat.tool_choice.mode", "requires chat.tools"))


def _check_format(fmt: chat_pb2.ResponseFormat, add: Add) -> None:
    if fmt.type not in _FORMATS:
        add(FieldViolation("chat.response_format.type", f"unknown type {fmt.type}"))
    elif fmt.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
        _check_schema(
            fmt.json_schema, "chat.response_format.json_schema", "a JSON Schema object is required for JSON_SCHEMA", add
        )


def _check_sampling(sampling: chat_pb2.SamplingParams, add: Add) -> None:
    if sampling.HasField("temperature") and not 0.0 <= sampling.temperature <= 2.0:
        add(FieldViolation("chat.sampling.temperature", "must be between 0 and 2"))
    if sampling.HasField("top_p") and not 0.0 < sampling.top_p <= 1.0:
        add(FieldViolation("chat.sampling.top_p", "must be greater than 0 and at most 1"))
    if sampling.HasField("max_tokens") and sampling.max_tokens == 0:
        add(FieldViolation("chat.sampling.max_tokens", "must be positive when set"))
    if len(sampling.stop) > MAX_STOP_SEQUENCES:
        add(FieldViolation("chat.sampling.stop", f"at most {MAX_STOP_SEQUENCES} stop sequences"))


def _check_constraints(
    constraints: router_service_pb2.RoutingConstraints, add: Add, knows_model: Callable[[str], bool]
) -> None:
    path = "constraints"
    if constraints.task_kind not in _TASK_KINDS:
        add(FieldViolation(f"{path}.task_kind", f"unknown task kind {constraints.task_kind}"))
    if constraints.max_cost_micro_usd < 0:
        add(FieldViolation(f"{path}.max_cost_micro_usd", "must not be negative (0 means no bound)"))
    if constraints.min_tier not in _TIERS:
        add(FieldViolation(f"{path}.min_tier", f"unknown tier {constraints.min_tier}"))
    if not 0.0 <= constraints.min_quality <= 1.0:
        add(FieldViolation(f"{path}.min_quality", "must be between 0 and 1"))
    if constraints.max_attempts > MAX_ATTEMPTS_LIMIT:
        add(FieldViolation(f"{path}.max_attempts", f"at most {MAX_ATTEMPTS_LIMIT}"))
    _check_lists(constraints, add, knows_model)


def _check_lists(
    constraints: router_service_pb2.RoutingConstraints, add: Add, knows_model: Callable[[str], bool]
) -> None:
    path = "constraints"
    for i, capability in enumerate(constraints.required_capabilities):
        if capability not in _CAPABILITIES:
            add(FieldViolation(f"{path}.required_capabilities[{i}]", f"unknown capability {capability}"))
    for i, name in enumerate(constraints.allowed_models):
        if not knows_model(name):
            add(FieldViolation(f"{path}.allowed_models[{i}]", f"no known model is named {name!r}"))
    if constraints.allowed_models and not any(knows_model(n) for n in constraints.allowed_models):
        add(FieldViolation(f"{path}.allowed_models", "names no known model"))
    if constraints.cache.HasField("min_similarity") and not 0.0 <= constraints.cache.min_similarity <= 1.0:
        add(FieldViolation(f"{path}.cache.min_similarity", "must be between 0 and 1"))
    if len(constraints.labels) == 1:
        add(FieldViolation(f"{path}.labels", "give at least two labels (or none)"))
    if len(set(constraints.labels)) != len(constraints.labels):
        add(FieldViolation(f"{path}.labels", "labels must be distinct"))
    if constraints.output_pattern:
        try:
            re.compile(constraints.output_pattern)
        except re.error as error:
            add(FieldViolation(f"{path}.output_pattern", f"not a valid regular expression: {error}"))


def _check_context(context: router_service_pb2.RequestContext, add: Add) -> None:
    # An empty tenant is charged to "default"; anything given must be a valid subject token.
    found = [
        *input_bounds.check_request_id(context.request_id, "context.request_id"),
        *(input_bounds.check_tenant_id(context.tenant_id, "context.tenant_id") if context.tenant_id else ()),
        *input_bounds.check_key_id(context.key_id, "context.key_id"),
        *input_bounds.check_metadata(context.metadata, "context.metadata"),
    ]
    for violation in found:
        add(violation)


def _check_schema(text: str, field: str, description: str, add: Add) -> None:
    """A JSON object, nested at most schema_max_depth (checked before parsing, so parsing cannot recurse away)."""
    if too_deep := input_bounds.check_json_depth(text, field, BOUNDS.schema_max_depth):
        add(too_deep[0])
    elif not _is_json_object(text):
        add(FieldViolation(field, description))


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return False
