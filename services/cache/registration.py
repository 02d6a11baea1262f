"""Registers CacheService with request parsing that refuses bad UTF-8 as INVALID_ARGUMENT.

The generated registration parses requests before any of our code runs, so a string field with bytes that are
not UTF-8 would end as grpc's own INTERNAL "Exception deserializing request". Here the parse failure is kept and
raised inside the call as InvalidRequest, which the shared error interceptor maps to INVALID_ARGUMENT.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from google.protobuf.message import DecodeError

from services.cache.servicer import CacheServicer
from shared.errors import FieldViolation, InvalidRequest

SERVICE = "bourse.cache.v1.CacheService"
METHODS = ("Lookup", "Store", "Invalidate", "Stats", "ReportBadHit")


class _Undecodable:
    def __init__(self, error: DecodeError) -> None:
        self.error = error


def _lenient(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse_or_keep(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError as error:
            return _Undecodable(error)

    return parse_or_keep


def _checked(method: Callable[[Any, Any], Awaitable[Any]]) -> Callable[[Any, Any], Awaitable[Any]]:
    async def call(request: Any, context: Any) -> Any:
        if isinstance(request, _Undecodable):
            detail = str(request.error)
            reason = "a text field is not valid UTF-8" if "UTF-8" in detail else "the request could not be parsed"
            raise InvalidRequest(
                f"{reason}: {detail}",
                violations=[FieldViolation("request", "text fields must be valid UTF-8 (proto3 strings)")],
            )
        return await method(request, context)

    return call


def add_cache_service(servicer: CacheServicer, server: grpc.aio.Server) -> None:
    handlers = {}
    for name in METHODS:
        request_type = getattr(cache_pb, f"{name}Request")
        response_type = getattr(cache_pb, f"{name}Response")
        handlers[name] = grpc.unary_unary_rpc_method_handler(
            _checked(getattr(servicer, name)),
            request_deserializer=_lenient(request_type.FromString),
            response_serializer=response_type.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_registered_method_handlers(SERVICE, handlers)
