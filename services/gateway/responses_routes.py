"""`POST /v1/responses`: the OpenAI Responses API over the same routing as the chat endpoint.

Thin transport: decoding and translation live in core/responses_api.py and core/responses_stream.py. Errors keep
OpenAI's shape, as on the chat endpoint.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING

import msgspec
from aiohttp import web
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core import responses_api
from services.gateway.core.chat_translation import route_headers
from services.gateway.core.responses_stream import ResponseStreamWriter
from services.gateway.core.responses_types import ResponsesRequest

if TYPE_CHECKING:
    from services.gateway.http_api import OpenAIHttpApi

PATH = "/v1/responses"
_encode = msgspec.json.Encoder().encode


def add_responses_routes(api: OpenAIHttpApi, app: web.Application) -> None:
    app.router.add_post(PATH, functools.partial(responses, api, msgspec.json.Decoder(ResponsesRequest)))


async def responses(
    api: OpenAIHttpApi, decoder: msgspec.json.Decoder[ResponsesRequest], request: web.Request
) -> web.StreamResponse:
    caller = await api.authenticate(request)
    body = await api.body(request, decoder)
    chat = responses_api.to_chat_request(body)
    metadata = {**({"user": body.user} if body.user else {}), **(body.metadata or {})}
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
        writer = ResponseStreamWriter(body, route.context.request_id, int(time.time()))
        return await api.stream(request, route, writer)
    response = await api.route(route)
    out = _encode(responses_api.to_response(body, response, int(time.time())))
    return web.Response(body=out, content_type="application/json", headers=route_headers(response))
