"""Request builders shared by every test area: the neutral chat request and the router's Route requests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb

Role = int  # a chat_pb2.Role value
SAMPLING_FIELDS = frozenset(field.name for field in chat_pb2.SamplingParams.DESCRIPTOR.fields)


def message(role: Role, text: str) -> chat_pb2.Message:
    return chat_pb2.Message(role=role, content=[chat_pb2.ContentPart(text=text)])  # type: ignore[arg-type]


def chat(
    text: str = "Say hello.",
    *,
    system: str = "",
    history: Iterable[tuple[Role, str]] = (),
    **fields: object,
) -> chat_pb2.ChatRequest:
    """A chat: the system prompt when given, earlier (role, text) turns, then the user's `text`.

    Other keywords are SamplingParams fields (max_tokens, temperature, top_p, stop, seed) or ChatRequest fields
    (tools, tool_choice, response_format, sampling); the two sets of names do not overlap.
    """
    messages = [message(chat_pb2.ROLE_SYSTEM, system)] if system else []
    messages += [message(role, turn) for role, turn in history]
    messages.append(message(chat_pb2.ROLE_USER, text))
    sampling = {name: fields.pop(name) for name in SAMPLING_FIELDS & set(fields)}
    request = chat_pb2.ChatRequest(messages=messages, **fields)  # type: ignore[arg-type]
    if sampling:
        request.sampling.MergeFrom(chat_pb2.SamplingParams(**sampling))  # type: ignore[arg-type]
    return request


# The packaged manifest prices two models at 0.10 / 0.10 USD per Mtok, fireworks' Llama 3.1 8B and Ministral 3B;
# the router breaks that tie by live latency, which failures injected by one test and telemetry from earlier tests
# move. Requests without constraints deny the twin, so "the cheapest" these tests follow is one model.
CHEAPEST_TWIN = "mistral/ministral-3b-2512"


def route(
    text: str = "Say hello.",
    *,
    constraints: pb.RoutingConstraints | None = None,
    tenant: str = "",
    key_id: str = "",
    max_tokens: int | None = None,
) -> pb.RouteRequest:
    """A RouteRequest with a fresh request id, and a fresh tenant unless one is given (no budget is shared)."""
    sampling = {} if max_tokens is None else {"max_tokens": max_tokens}
    return pb.RouteRequest(
        chat=chat(text, **sampling),
        constraints=constraints or pb.RoutingConstraints(denied_models=[CHEAPEST_TWIN]),
        context=pb.RequestContext(
            request_id=uuid.uuid4().hex, tenant_id=tenant or f"t-{uuid.uuid4().hex[:8]}", key_id=key_id
        ),
    )


def stream_request(request: pb.RouteRequest) -> pb.RouteStreamRequest:
    return pb.RouteStreamRequest(chat=request.chat, constraints=request.constraints, context=request.context)
