"""`POST /v1/messages`: the Anthropic Messages API over the same routing as the chat endpoint.

Thin transport: decoding and translation live in core/anthropic_messages.py and core/anthropic_stream.py.
Errors on this path take Anthropic's shape (`{"type": "error", "error": {...}}`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core import anthropic_messages
from services.gateway.core.anthropic_stream import MessageStreamWriter
from services.gateway.core.anthropic_types import MessagesRequest
from services.gateway.core.chat_translation import route_headers

if TYPE_CHECKING:
    from services.gateway.http_api import OpenAIHttpApi

PATH = "/v1/messages"
_encode = msgspec.json.Encoder().encode


def add_anthropic_routes(api: OpenAIHttpApi, app: web.Application) -> None:
    api.error_shapes[PATH] = anthropic_messages.error_body
    app.router.add_post(PATH, functools.partial(messages, api, msgspec.json.Decoder(MessagesRequest)))


async def messages(
    api: OpenAIHttpApi, decoder: msgspec.json.Decoder[MessagesRequest], request: web.Request
) -> web.StreamResponse:
    caller = await api.authenticate(request)
    body = await api.body(request, decoder)
    chat = anthropic_messages.to_chat_request(body)
    user = body.metadata.user_id if body.metadata is not None else None
    metadata = {"user": user} if user else {}
    route = await api.route_request(
        request,
        caller,
        model=body.model,
        body_options=body.bourse,
        chat=chat,
        metadata=metadata,
        stream=bool(body.stream),
    )
    if isinstance(route, router_pb2.RouteStreamRequest):
        return await api.stream(request, route, MessageStreamWriter(route.context.request_id, body.model))
    response = await api.route(route)
    body_out = _encode(anthropic_messages.to_message(response))
    return web.Response(body=body_out, content_type="application/json", headers=route_headers(response))
