"""A RouterService that answers at once with a fixed completion, to time the gateway (and one gRPC hop) alone.

Run as `python -m bench.gateway_null_router PORT`; started by bench.gateway_overhead.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from typing import Any

from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from shared.logging import configure_logging, get_logger
from shared.serving import new_server

WORDS = ["Hello", " from", " the", " null", " router", ",", " twelve", " tokens", " of", " text", " in", " all."]


def _summary(request_id: str, content: str) -> router_pb2.RouteResponse:
    return router_pb2.RouteResponse(
        request_id=request_id,
        completion=chat_pb2.ChatCompletion(
            content=content,
            finish_reason=chat_pb2.FINISH_REASON_STOP,
            usage=chat_pb2.Usage(prompt_tokens=20, completion_tokens=len(WORDS)),
        ),
        cost_micro_usd=9,
        provider="null",
        model="null-model",
        served_from=routing_pb2.SERVED_FROM_REMOTE,
        attempts=[router_pb2.Attempt(provider="null", model="null-model", outcome=router_pb2.ATTEMPT_OUTCOME_SUCCESS)],
    )


class NullRouter(router_grpc.RouterServiceServicer):  # type: ignore[misc]
    async def Route(self, request: Any, context: Any) -> router_pb2.RouteResponse:
        return _summary(request.context.request_id, "".join(WORDS))

    async def RouteStream(self, request: Any, context: Any) -> AsyncIterator[router_pb2.RouteStreamResponse]:
        for word in WORDS:
            yield router_pb2.RouteStreamResponse(delta=chat_pb2.ChatDelta(content=word))
        yield router_pb2.RouteStreamResponse(summary=_summary(request.context.request_id, ""))

    async def ListModels(self, request: Any, context: Any) -> router_pb2.ListModelsResponse:
        return router_pb2.ListModelsResponse(
            models=[router_pb2.ModelInfo(provider="null", model="null-model", available=True)]
        )


async def serve(port: int) -> None:
    configure_logging("warning")
    server = new_server(
        listen=f"127.0.0.1:{port}", service_names=["bourse.router.v1.RouterService"], logger=get_logger("null")
    )
    router_grpc.add_RouterServiceServicer_to_server(NullRouter(), server.server)
    await server.start()
    await server.server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
