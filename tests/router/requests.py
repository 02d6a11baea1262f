"""Small request builders shared by the router tests."""

from __future__ import annotations

import uuid

from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb


def chat(text: str = "Say hello.", *, system: str = "", max_tokens: int | None = None) -> chat_pb2.ChatRequest:
    messages = []
    if system:
        messages.append(chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, content=[chat_pb2.ContentPart(text=system)]))
    messages.append(chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)]))
    request = chat_pb2.ChatRequest(messages=messages)
    if max_tokens is not None:
        request.sampling.max_tokens = max_tokens
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
    return pb.RouteRequest(
        chat=chat(text, max_tokens=max_tokens),
        constraints=constraints or pb.RoutingConstraints(denied_models=[CHEAPEST_TWIN]),
        context=pb.RequestContext(
            request_id=uuid.uuid4().hex, tenant_id=tenant or f"t-{uuid.uuid4().hex[:8]}", key_id=key_id
        ),
    )


def stream_request(request: pb.RouteRequest) -> pb.RouteStreamRequest:
    return pb.RouteStreamRequest(chat=request.chat, constraints=request.constraints, context=request.context)
