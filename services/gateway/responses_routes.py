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
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core import responses_api
from services.gateway.core.chat_translation import route_headers
from services.gateway.core.responses_stream import ResponseStreamWriter
from services.gateway.core.responses_types import ResponsesRequest

if TYPE_CHECKING:
    from services.gateway.http_api import OpenAIHttpApi
    from services.gateway.response_store import ResponseStore

PATH = "/v1/responses"
_encode = msgspec.json.Encoder().encode


def add_responses_routes(api: OpenAIHttpApi, app: web.Application) -> None:
    app.router.add_post(PATH, functools.partial(responses, api, msgspec.json.Decoder(ResponsesRequest)))


async def responses(
    api: OpenAIHttpApi, decoder: msgspec.json.Decoder[ResponsesRequest], request: web.Request
) -> web.StreamResponse:
    caller = await api.authenticate(request)
    body = await api.body(request, decoder)
    store = api.responses
    history = None
    if body.previous_response_id and store is not None:
        history = await store.load(caller.tenant_id, body.previous_response_id)
    chat = responses_api.to_chat_request(body, history)
    save = store is not None and body.store is not False
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
        writer = ResponseStreamWriter(body, route.context.request_id, int(time.time()), stored=save)
        if store is None or not save:
            return await api.stream(request, route, writer)

        async def save_answer() -> None:  # before response.completed goes out: a client may chain at once
            if writer.answer is not None:  # set by writer.finish, which runs first
                request_id = route.context.request_id
                await _save(store, caller.tenant_id, body=body, chat=chat, request_id=request_id, answer=writer.answer)

        return await api.stream(request, route, writer, save_answer)
    response = await api.route(route)
    if store is not None and save:
        await _save(
            store, caller.tenant_id, body=body, chat=chat, request_id=response.request_id, answer=response.completion
        )
    out = _encode(responses_api.to_response(body, response, int(time.time()), stored=save))
    return web.Response(body=out, content_type="application/json", headers=route_headers(response))


async def _save(
    store: ResponseStore,
    tenant_id: str,
    *,
    body: ResponsesRequest,
    chat: chat_pb2.ChatRequest,
    request_id: str,
    answer: chat_pb2.ChatCompletion,
) -> None:
    conversation = responses_api.conversation(chat, bool(body.instructions), answer)
    await store.save(tenant_id, responses_api.response_id(request_id), conversation)
