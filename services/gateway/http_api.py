"""The OpenAI-compatible HTTP surface: aiohttp handlers that turn requests into Route/RouteStream/Embed calls.

Thin transport: decoding and translation live in core/, errors become HTTP in core/http_errors.py, the gRPC
stubs and the key store are passed in. Nothing here logs an Authorization header or a key, only key ids.
"""

from __future__ import annotations

import asyncio
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import grpc
import msgspec
import structlog
from aiohttp import web
from bourse.inference.v1 import inference_service_pb2_grpc as inference_grpc
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.config import GatewayConfig
from services.gateway.core import api_keys
from services.gateway.core.chat_translation import ChunkWriter, route_headers, to_chat_request, to_completion
from services.gateway.core.embeddings import to_embed_request, to_embedding_list
from services.gateway.core.http_errors import error_body, from_http_status, http_status, retry_after_header
from services.gateway.core.model_catalog import CatalogCache, ModelCatalog
from services.gateway.core.openai_types import ChatCompletionRequest, EmbeddingRequest
from services.gateway.core.routing_options import (
    header_text,
    layered,
    options_for_model,
    options_from_headers,
    to_constraints,
)
from services.gateway.key_store import KeyStore
from services.gateway.metrics import GatewayMetrics
from shared.errors import BourseError, FieldViolation, Internal, InvalidRequest, NotFound, Reason, Unauthenticated
from shared.grpc_errors import from_rpc_error

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 256
_JSON = "application/json"
_DONE = b"data: [DONE]\n\n"
_encode = msgspec.json.Encoder().encode
_chat_decoder = msgspec.json.Decoder(ChatCompletionRequest)
_embedding_decoder = msgspec.json.Decoder(EmbeddingRequest)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=_encode(body), status=status, content_type=_JSON, headers=headers)


def error_response(error: BourseError) -> web.Response:
    status = http_status(error)
    headers = {}
    retry_after = retry_after_header(error) if status in (429, 503) else None
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return json_response(error_body(error, status), status, headers)


def decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    """Decode a JSON body; malformed JSON and wrong types are 400s naming the field."""
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as error:
        text = str(error)
        field = text.rsplit("at `$.", 1)[1].rstrip("`") if "at `$." in text else "$"
        raise InvalidRequest(f"invalid request body: {text}", violations=[FieldViolation(field, text)]) from None
    except msgspec.DecodeError as error:
        raise InvalidRequest(f"request body is not valid JSON: {error}", reason=Reason.INVALID_JSON) from None


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
    """Handlers for /v1/chat/completions, /v1/models, /v1/embeddings and /healthz."""

    def __init__(
        self,
        *,
        config: GatewayConfig,
        router: RouterCalls,
        inference: inference_grpc.InferenceServiceStub,
        keys: KeyStore | None,
        logger: structlog.typing.FilteringBoundLogger,
        metrics: GatewayMetrics,
    ) -> None:
        self._config = config
        self._router = router
        self._inference = inference
        self._keys = keys
        self._log = logger
        self._metrics = metrics
        self._catalog = CatalogCache(
            self._list_models,
            config.aliases,
            ttl_s=config.catalog_ttl_s,
            clock=time.monotonic,
            wall=time.time,
            logger=logger,
        )
        self.serving = True

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._errors], client_max_size=self._config.max_body_bytes)
        app.router.add_post("/v1/chat/completions", self.chat_completions)
        app.router.add_get("/v1/models", self.list_models)
        app.router.add_get("/v1/models/{model_id:.+}", self.get_model)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_get("/healthz", self.healthz)
        return app

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            response = await handler(request)
        except BourseError as error:
            response = error_response(error)
            self._log_error(request, error, response.status)
        except web.HTTPException as http:
            failure = from_http_status(http.status, f"{http.reason}: {request.method} {request.path}")
            response = json_response(error_body(failure, http.status), http.status)
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as bug:  # noqa: BLE001 -- the boundary: a bug becomes a 500 in OpenAI's shape
            # A plain traceback, redacted: structured tracebacks carry frame locals, which may hold the caller's key.
            trace = "".join(traceback.format_exception(bug))
            self._log.error("unhandled_error", path=request.path, traceback=api_keys.redact(trace))
            response = error_response(Internal("internal error in the gateway"))
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

    async def _authenticate(self, request: web.Request) -> Caller:
        header = request.headers.get("Authorization")
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
        await self._authenticate(request)
        catalog = await self.catalog()
        if catalog is None:
            raise BourseError(
                "the model list is unavailable: the router cannot be reached", reason=Reason.UPSTREAM_UNAVAILABLE
            )
        return json_response(catalog.listing())

    async def get_model(self, request: web.Request) -> web.Response:
        await self._authenticate(request)
        model_id = request.match_info["model_id"]
        catalog = await self.catalog()
        model = catalog.get(model_id) if catalog is not None else None
        if model is None:
            raise NotFound(f"the model {model_id!r} does not exist", reason=Reason.MODEL_NOT_FOUND)
        return json_response(model)

    async def embeddings(self, request: web.Request) -> web.Response:
        await self._authenticate(request)
        body = decode(_embedding_decoder, await self._body(request))
        embed = to_embed_request(body)
        try:
            response = await self._inference.Embed(embed, timeout=self._config.request_timeout_s)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return json_response(to_embedding_list(response, body.encoding_format))

    async def chat_completions(self, request: web.Request) -> web.StreamResponse:
        caller = await self._authenticate(request)
        body = decode(_chat_decoder, await self._body(request))
        header_options = options_from_headers(request.headers)
        catalog = await self.catalog() if not body.model.startswith("bourse/") else None
        model_options = options_for_model(
            body.model, self._config.aliases, catalog.known if catalog is not None else None
        )
        options = layered((model_options, header_options, body.bourse))
        request_id = (
            options.request_id
            or header_text("x-request-id", request.headers.get("x-request-id", ""))
            or uuid.uuid4().hex
        )
        # RouteRequest and RouteStreamRequest have the same fields: build the one the call takes, no copy.
        message_type = router_pb2.RouteStreamRequest if body.stream else router_pb2.RouteRequest
        route = message_type(
            chat=to_chat_request(body),
            constraints=to_constraints(options),
            context=router_pb2.RequestContext(
                request_id=request_id,
                tenant_id=caller.tenant_id,
                key_id=caller.key_id,
                metadata=_metadata(body.user, body.metadata, options.metadata),
            ),
        )
        if isinstance(route, router_pb2.RouteStreamRequest):
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            return await self._stream(request, route, body.model, include_usage)
        try:
            response = await self._router.Route(route, timeout=self._config.request_timeout_s)
        except grpc.aio.AioRpcError as error:
            raise from_rpc_error(error) from None
        return json_response(to_completion(response, int(time.time())), headers=route_headers(response))

    async def _stream(
        self, request: web.Request, route: router_pb2.RouteStreamRequest, model: str, include_usage: bool
    ) -> web.StreamResponse:
        call = self._router.RouteStream(route, timeout=self._config.request_timeout_s)
        try:
            # Wait for the first message so that a routing failure is still a plain HTTP error status.
            try:
                message = await call.read()
            except grpc.aio.AioRpcError as error:
                raise from_rpc_error(error) from None
            response = web.StreamResponse(
                headers={
                    "Content-Type": "text/event-stream",
                    "Cache-Control": "no-cache",
                    "x-request-id": route.context.request_id,
                }
            )
            await response.prepare(request)
            writer = ChunkWriter(route.context.request_id, int(time.time()), model)
            try:
                await self._relay(call, message, writer, response, include_usage)
            except (grpc.aio.AioRpcError, BourseError) as error:
                # Headers are gone: the error becomes an SSE event (a router in this process raises BourseError).
                failure = from_rpc_error(error) if isinstance(error, grpc.aio.AioRpcError) else error
                await response.write(b"data: " + _encode(error_body(failure, http_status(failure))) + b"\n\n")
                self._log_error(request, failure, http_status(failure))
            except ConnectionResetError:
                self._log.debug("client_disconnected", request_id=route.context.request_id)
                return response
            return response
        finally:
            if not call.done():
                call.cancel()

    async def _relay(
        self,
        call: Any,
        message: Any,
        writer: ChunkWriter,
        response: web.StreamResponse,
        include_usage: bool,
    ) -> None:
        while message is not grpc.aio.EOF:
            if message.HasField("delta"):
                await response.write(b"data: " + _encode(writer.delta(message.delta)) + b"\n\n")
            else:
                summary = message.summary
                out = b"data: " + _encode(writer.finish(summary)) + b"\n\n"
                if include_usage:
                    out += b"data: " + _encode(writer.usage(summary)) + b"\n\n"
                await response.write(out + _DONE)
                return
            message = await call.read()
        failure = Internal("the router's stream ended without a summary")
        await response.write(b"data: " + _encode(error_body(failure, 500)) + b"\n\n")


def _metadata(user: str | None, *sources: dict[str, str] | None) -> dict[str, str]:
    merged: dict[str, str] = {}
    if user:
        merged["user"] = user
    for source in sources:
        if source:
            merged.update(source)
    for key, value in merged.items():
        if len(key.encode()) > MAX_METADATA_KEY or len(value.encode()) > MAX_METADATA_VALUE:
            raise InvalidRequest(
                f"metadata {key[:64]!r}: keys are at most {MAX_METADATA_KEY} bytes, values {MAX_METADATA_VALUE}",
                violations=[FieldViolation(f"metadata.{key[:64]}", "too long")],
            )
    return merged
