"""The OpenAI-compatible HTTP surface: aiohttp handlers that turn requests into Route/RouteStream/Embed calls.

Thin transport: decoding and translation live in core/, errors become HTTP in core/http_errors.py, the gRPC
stubs and the key store are passed in. Nothing here logs an Authorization header or a key, only key ids.
"""

from __future__ import annotations

import asyncio
import functools
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import grpc
import msgspec
import structlog
from aiohttp import typedefs as aiohttp_typedefs
from aiohttp import web
from bourse.inference.v1 import inference_service_pb2_grpc as inference_grpc
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.anthropic_routes import add_anthropic_routes
from services.gateway.config import GatewayConfig
from services.gateway.core import api_keys
from services.gateway.core.chat_stream import ChatStreamWriter, ChoicesStreamWriter
from services.gateway.core.chat_translation import ChunkWriter, route_headers, to_chat_request, to_completion
from services.gateway.core.choices import choice_requests, combined_completion, combined_headers
from services.gateway.core.embeddings import to_embed_request, to_embedding_list
from services.gateway.core.http_errors import error_body, from_http_status, http_status, retry_after_header
from services.gateway.core.model_catalog import CatalogCache, ModelCatalog
from services.gateway.core.openai_types import BourseOptions, ChatCompletionRequest, EmbeddingRequest
from services.gateway.core.routing_options import (
    header_text,
    layered,
    options_for_model,
    options_from_headers,
    to_constraints,
)
from services.gateway.key_store import KeyStore
from services.gateway.metrics import GatewayMetrics
from services.gateway.response_store import ResponseStore
from services.gateway.responses_routes import add_responses_routes
from services.gateway.sse_relay import StreamWriter, relay, relay_choices
from shared.errors import BourseError, FieldViolation, Internal, InvalidRequest, NotFound, Reason, Unauthenticated
from shared.grpc_errors import from_rpc_error
from shared.input_bounds import (
    BOUNDS,
    cap_violations,
    check_json_depth,
    check_metadata,
    check_request_id,
    check_utf8,
    clip_message,
)

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = aiohttp_typedefs.Middleware
ErrorShape = Callable[[BourseError, int], dict[str, Any]]
_JSON = "application/json"
_encode = msgspec.json.Encoder().encode
_chat_decoder = msgspec.json.Decoder(ChatCompletionRequest)
_embedding_decoder = msgspec.json.Decoder(EmbeddingRequest)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_encode(body), status=status, content_type=_JSON, headers=headers)


def error_response(error: BourseError, shape: ErrorShape = error_body) -> web.Response:
    status = http_status(error)
    headers = {}
    retry_after = retry_after_header(error) if status in (429, 503) else None
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return json_response(shape(error, status), status, headers)


def decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    """Decode a JSON body; malformed JSON and wrong types are 400s naming the field.

    The body must be UTF-8 and nest at most json_max_depth (shared.input_bounds), checked before parsing so a
    hostile body cannot exhaust the parser's recursion.
    """
    if bad := check_utf8(body):
        raise InvalidRequest("request body is not valid UTF-8", reason=Reason.INVALID_ENCODING, violations=bad)
    if too_deep := check_json_depth(body, "body", BOUNDS.json_max_depth):
        raise InvalidRequest(
            f"request body nests deeper than {BOUNDS.json_max_depth} levels",
            reason=Reason.NESTING_TOO_DEEP,
            violations=too_deep,
        )
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as error:
        text = clip_message(str(error))
        field = text.rsplit("at `$.", 1)[1].rstrip("`") if "at `$." in text else "$"
        raise InvalidRequest(f"invalid request body: {text}", violations=[FieldViolation(field, text)]) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidRequest(
            f"request body is not valid JSON: {clip_message(str(error))}", reason=Reason.INVALID_JSON
        ) from None


class RouterCalls(Protocol):
    """What the gateway calls on the router: the gRPC stub, or DirectRouter inside the router's process."""

    def Route(self, request: Any, timeout: float | None = ...) -> Awaitable[Any]: ...

    def RouteStream(self, request: Any, timeout: float | None = ...) -> Any: ...

    def ListModels(self, request: Any, timeout: float | None = ...) -> Awaitable[Any]: ...


class Caller(msgspec.Struct, frozen=True):
    """Who is calling: the tenant and the id (never the secret) of their key."""

    tenant_id: str
    key_id: str = ""


CALLER = web.RequestKey("caller", Caller)


class OpenAIHttpApi:
    """Handlers for /v1/chat/completions, /v1/models, /v1/embeddings and /healthz; /v1/messages and /v1/responses
    come from their own route modules and share authentication, routing and the stream relay from here.
    """

    def __init__(
        self,
        *,
        config: GatewayConfig,
        router: RouterCalls,
        inference: inference_grpc.InferenceServiceStub,
        keys: KeyStore | None,
        logger: structlog.typing.FilteringBoundLogger,
        metrics: GatewayMetrics,
        responses: ResponseStore | None = None,
    ) -> None:
        self._config = config
        self._router = router
        self._inference = inference
        self._keys = keys
        self._log = logger
        self._metrics = metrics
        self.responses = responses  # stored Responses conversations; None: previous_response_id is a 400
        self._catalog = CatalogCache(
            self._list_models,
            config.aliases,
            ttl_s=config.catalog_ttl_s,
            clock=time.monotonic,
            wall=time.time,
            logger=logger,
        )
        self.serving = True
        # Paths whose errors take another API's shape than OpenAI's.
        self.error_shapes: dict[str, ErrorShape] = {}

    def application(self, outer: Sequence[Middleware] = ()) -> web.Application:
        """The routes; `outer` middlewares (tracing) run around the error mapping."""
        app = web.Application(middlewares=[*outer, self._errors], client_max_size=self._config.max_body_bytes)
        app.router.add_post("/v1/chat/completions", self.chat_completions)
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/v1/models/{model_id:.+}", self.get_model)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_get("/healthz", self.healthz)
        add_anthropic_routes(self, app)
        add_responses_routes(self, app)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        shape = self.error_shapes.get(request.path, error_body)
        try:
            response = await handler(request)
        except BourseError as error:
            response = error_response(error, shape)
            self._log_error(request, error, response.status)
        except web.HTTPException as http:
            failure = from_http_status(http.status, f"{http.reason}: {request.method} {request.path}")
            response = json_response(shape(failure, http.status), http.status)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as bug:  # noqa: BLE001 -- the boundary: a bug becomes a 500 in the API's shape
            # A plain traceback, redacted: structured tracebacks carry frame locals, which may hold the caller's key.
            trace = "".join(traceback.format_exception(bug))
            self._log.error("unhandled_error", path=request.path, traceback=api_keys.redact(trace))
            response = error_response(Internal("internal error in the gateway"), shape)
        self._metrics.observe(request.path, response.status, time.perf_counter() - started)
        if self._config.access_log:
            caller = request.get(CALLER)
            self._log.info(
                "request",
                method=request.method,
                path=request.path,
                status=response.status,
                tenant=caller.tenant_id if caller else None,
                key_id=caller.key_id if caller else None,
                ms=round((time.perf_counter() - started) * 1000, 3),
            )
        return response

    def _log_error(self, request: web.Request, error: BourseError, status: int) -> None:
        caller = request.get(CALLER)
        log = self._log.warning if status >= 500 else self._log.debug
        log(
            "request_failed",
            path=request.path,
            status=status,
            reason=error.reason,
            detail=api_keys.redact(error.message),
            key_id=caller.key_id if caller else None,
        )

    # --- authentication -----------------------------------------------------------------------------------------

    async def authenticate(self, request: web.Request) -> Caller:
        header = request.headers.get("Authorization")
        if not header and "x-api-key" in request.headers:  # Anthropic's SDKs send the key this way
            header = "Bearer " + request.headers["x-api-key"]
        if not header and not self._config.require_api_key:
            caller = Caller(tenant_id=self._config.default_tenant)
        else:
            key = api_keys.bearer_token(header)
            key_id = api_keys.key_id_of(key)
            if self._keys is None:
                raise Unauthenticated("API keys are not configured on this gateway", reason=Reason.INVALID_API_KEY)
            record = api_keys.verify(key, await self._keys.lookup(key_id))
            caller = Caller(tenant_id=record.tenant_id, key_id=record.key_id)
        request[CALLER] = caller
        return caller

    async def body(self, request: web.Request, decoder: msgspec.json.Decoder[T]) -> T:
        """The request body decoded by `decoder` (413 when too large, 400 when malformed)."""
        return decode(decoder, await self._body(request))

    async def _body(self, request: web.Request) -> bytes:
        length = request.content_length
        if length is not None and length > self._config.max_body_bytes:
            raise self._too_large()
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise self._too_large() from None

    def _too_large(self) -> BourseError:
        return InvalidRequest(
            f"request body larger than {self._config.max_body_bytes} bytes", reason=Reason.PAYLOAD_TOO_LARGE
        )

    # --- model catalog ------------------------------------------------------------------------------------------

    async def catalog(self) -> ModelCatalog | None:
        """The router's model list, reused for catalog_ttl_s; the last good copy (or None) while it is down."""
        return await self._catalog.get()

    async def _list_models(self) -> router_pb2.ListModelsResponse:
        try:
            response: router_pb2.ListModelsResponse = await self._router.ListModels(
                router_pb2.ListModelsRequest(), timeout=5.0
            )
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return response

    # --- handlers -----------------------------------------------------------------------------------------------

    async def healthz(self, request: web.Request) -> web.Response:
        if not self.serving:
            return json_response({"status": "shutting_down"}, 503)
        return json_response({"status": "ok"})

    async def list_models(self, request: web.Request) -> web.Response:
        await self.authenticate(request)
        catalog = await self.catalog()
        if catalog is None:
            raise BourseError(
                "the model list is unavailable: the router cannot be reached", reason=Reason.UPSTREAM_UNAVAILABLE
            )
        return json_response(catalog.listing())

    async def get_model(self, request: web.Request) -> web.Response:
        await self.authenticate(request)
        model_id = request.match_info["model_id"]
        catalog = await self.catalog()
        model = catalog.get(model_id) if catalog is not None else None
        if model is None:
            raise NotFound(f"the model {model_id!r} does not exist", reason=Reason.MODEL_NOT_FOUND)
        return json_response(model)

    async def embeddings(self, request: web.Request) -> web.Response:
        await self.authenticate(request)
        body = decode(_embedding_decoder, await self._body(request))
        embed = to_embed_request(body)
        try:
            response = await self._inference.Embed(embed, timeout=self._config.request_timeout_s)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return json_response(to_embedding_list(response, body.encoding_format))

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        caller = await self.authenticate(request)
        body = decode(_chat_decoder, await self._body(request))
        chat = to_chat_request(body)
        metadata = _metadata(body.user, body.metadata)
        route = await self.route_request(
            request,
            caller,
            model=body.model,
            body_options=body.bourse,
            chat=chat,
            metadata=metadata,
            stream=bool(body.stream),
        )
        n = body.n or 1
        if isinstance(route, router_pb2.RouteStreamRequest):
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            chunks = [ChunkWriter(route.context.request_id, int(time.time()), body.model) for _ in range(n)]
            if n > 1:
                return await self._stream_choices(request, choice_requests(route, n), chunks, include_usage)
            return await self.stream(request, route, ChatStreamWriter(chunks[0], include_usage))
        if n > 1:
            responses = await self._route_all(choice_requests(route, n))
            return json_response(combined_completion(responses, int(time.time())), headers=combined_headers(responses))
        response = await self.route(route)
        return json_response(to_completion(response, int(time.time())), headers=route_headers(response))

    async def route_request(
        self,
        request: web.Request,
        caller: Caller,
        *,
        model: str,
        body_options: BourseOptions | None,
        chat: Any,
        metadata: dict[str, str],
        stream: bool,
    ) -> router_pb2.RouteRequest | router_pb2.RouteStreamRequest:
        """The routed request every API builds: options from the model name, headers and body, and the caller."""
        header_options = options_from_headers(request.headers)
        catalog = await self.catalog() if not model.startswith("bourse/") else None
        model_options = options_for_model(model, self._config.aliases, catalog.known if catalog is not None else None)
        options = layered((model_options, header_options, body_options))
        # The client's id is a correlation field only (the router assigns the id events are keyed by); one is made
        # up when none is given, so stream frames have an id before the router's arrives.
        client_id = options.request_id or header_text("x-request-id", request.headers.get("x-request-id", ""))
        field = "bourse.request_id" if options.request_id else "x-request-id"
        if bad := check_request_id(client_id, field):
            raise InvalidRequest(f"{field} is not a valid request id", violations=bad)
        request_id = client_id or uuid.uuid4().hex
        # RouteRequest and RouteStreamRequest have the same fields: build the one the call takes, no copy.
        message_type = router_pb2.RouteStreamRequest if stream else router_pb2.RouteRequest
        return message_type(
            chat=chat,
            constraints=to_constraints(options),
            context=router_pb2.RequestContext(
                request_id=request_id,
                tenant_id=caller.tenant_id,
                key_id=caller.key_id,
                metadata=_metadata(None, metadata, options.metadata),
            ),
        )

    async def route(self, route: router_pb2.RouteRequest) -> router_pb2.RouteResponse:
        try:
            response: router_pb2.RouteResponse = await self._router.Route(route, timeout=self._config.request_timeout_s)
            return response
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None

    async def _route_all(self, routes: list[router_pb2.RouteRequest]) -> list[router_pb2.RouteResponse]:
        """Route every request at once; the first failure fails the whole request and cancels the rest."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self.route(route)) for route in routes]
        except* BourseError as failures:
            raise failures.exceptions[0] from None
        return [task.result() for task in tasks]

    async def _stream_choices(
        self,
        request: web.Request,
        routes: list[router_pb2.RouteStreamRequest],
        chunks: list[ChunkWriter],
        include_usage: bool,
    ) -> web.StreamResponse:
        calls = [self._router.RouteStream(route, timeout=self._config.request_timeout_s) for route in routes]
        writer = ChoicesStreamWriter(chunks, include_usage)
        failed = functools.partial(self._log_error, request)
        return await relay_choices(calls, request, routes[0].context.request_id, writer, failed=failed, log=self._log)

    async def stream(
        self,
        request: web.Request,
        route: router_pb2.RouteStreamRequest,
        writer: StreamWriter,
        on_finish: Callable[[], Awaitable[None]] | None = None,
    ) -> web.StreamResponse:
        """Relay a RouteStream as server-sent events framed by `writer` (`on_finish`: see sse_relay.relay)."""
        call = self._router.RouteStream(route, timeout=self._config.request_timeout_s)
        failed = functools.partial(self._log_error, request)
        request_id = route.context.request_id
        return await relay(call, request, request_id, writer, failed=failed, log=self._log, on_finish=on_finish)


def _metadata(user: str | None, *sources: dict[str, str] | None) -> dict[str, str]:
    merged: dict[str, str] = {}
    if user:
        merged["user"] = user
    for source in sources:
        if source:
            merged.update(source)
    if bad := check_metadata(merged):
        shown = cap_violations(bad)
        raise InvalidRequest(f"metadata out of bounds: {shown[0].description}", violations=shown)
    return merged
