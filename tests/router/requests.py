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
        constraints=constraints or pb.RoutingConstraints(),
        context=pb.RequestContext(
            request_id=uuid.uuid4().hex, tenant_id=tenant or f"t-{uuid.uuid4().hex[:8]}", key_id=key_id
        ),
    )


def stream_request(request: pb.RouteRequest) -> pb.RouteStreamRequest:
    return pb.RouteStreamRequest(chat=request.chat, constraints=request.constraints, context=request.context)
