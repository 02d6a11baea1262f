"""A RouterService that answers from a script, for driving every error path of the gateway.

It is served by the real gRPC server plumbing (shared.serving, with the error interceptor), so errors reach the
gateway exactly as the real router sends them. The script is the last user message:
  "error:<REASON>"        -> that error (upstream reasons through UpstreamError, the rest by class;
                             "UPSTREAM_<reason>" forces an upstream reason whose name a class also uses)
  "stream-error:<REASON>" -> (streams) one delta, then that error
  "whole <script>"        -> (streams) no deltas, the whole answer of <script> in the summary
  "slow:<text>"           -> waits for `release`, then echoes
  "hang"                  -> (streams) one delta, then waits until the caller cancels (sets `cancelled`)
  "tool:<name>"           -> a tool call of <name> with {"city": "Paris"}
  "json"                  -> a JSON object answer
  anything else           -> "echo: <text>"
Every request is kept in `requests` so tests can check what the gateway sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from shared.errors import (
    UPSTREAM_REASONS,
    BourseError,
    BudgetExceeded,
    DeadlineExceeded,
    FieldViolation,
    Internal,
    InvalidRequest,
    NoQualifiedModel,
    NotFound,
    Overloaded,
    PermissionDenied,
    UpstreamError,
)

_ERRORS: dict[str, BourseError] = {
    "INVALID_REQUEST": InvalidRequest(
        "chat.messages[0].role: required", violations=[FieldViolation("chat.messages[0].role", "required")]
    ),
    "NO_QUALIFIED_MODEL": NoQualifiedModel("no model qualifies", metadata={"constraint": "max_cost"}),
    "NOT_FOUND": NotFound("no such model"),
    "PERMISSION_DENIED": PermissionDenied("tenant may not use this provider"),
    "BUDGET_EXCEEDED": BudgetExceeded("daily budget spent", retry_after_s=42.0, metadata={"limit": "daily"}),
    "QUEUE_FULL": Overloaded("router queue full", retry_after_s=2.5),
    "DEADLINE_EXCEEDED": DeadlineExceeded("deadline passed"),
    "INTERNAL": Internal("bug"),
}

MODELS = router_pb2.ListModelsResponse(
    models=[
        router_pb2.ModelInfo(
            provider="sim-openai",
            model="gpt-sim-mini",
            tier=routing_pb2.MODEL_TIER_CHEAP,
            pricing=router_pb2.Pricing(input_per_mtok=0.15, output_per_mtok=0.6),
            context_window=128000,
            available=True,
        ),
        router_pb2.ModelInfo(
            provider="sim-anthropic",
            model="claude-sim",
            tier=routing_pb2.MODEL_TIER_FRONTIER,
            pricing=router_pb2.Pricing(input_per_mtok=3.0, output_per_mtok=15.0),
            context_window=200000,
            available=True,
        ),
    ],
    prices_as_of="2026-11-01",
)


def _error(reason: str) -> BourseError:
    if reason in _ERRORS:
        return _ERRORS[reason]
    if reason.startswith("UPSTREAM_") and reason.removeprefix("UPSTREAM_") in UPSTREAM_REASONS:
        return UpstreamError(f"provider failed: {reason}", reason=reason.removeprefix("UPSTREAM_"))
    if reason in UPSTREAM_REASONS:
        return UpstreamError(f"provider failed: {reason}", reason=reason, retry_after_s=7.0)
    raise AssertionError(f"unknown scripted reason {reason}")


def _last_text(chat: chat_pb2.ChatRequest) -> str:
    for message in reversed(chat.messages):
        if message.role == chat_pb2.ROLE_USER:
            return "".join(part.text for part in message.content)
    return ""


class ScriptedRouter(router_grpc.RouterServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.cancelled = asyncio.Event()
        self.release = asyncio.Event()

    def _answer(self, request: Any, text: str) -> router_pb2.RouteResponse:
        if text.startswith("error:"):
            raise _error(text.removeprefix("error:"))
        completion = chat_pb2.ChatCompletion(
            finish_reason=chat_pb2.FINISH_REASON_STOP,
            usage=chat_pb2.Usage(prompt_tokens=11, completion_tokens=5, cached_prompt_tokens=2),
        )
        if text.startswith("tool:"):
            completion.tool_calls.add(id="call_1", name=text.removeprefix("tool:"), arguments_json='{"city": "Paris"}')
            completion.finish_reason = chat_pb2.FINISH_REASON_TOOL_CALLS
        elif text == "json":
            completion.content = '{"answer": 42}'
        else:
            completion.content = f"echo: {text}"
        return router_pb2.RouteResponse(
            request_id=request.context.request_id or "generated",
            completion=completion,
            cost_micro_usd=1234,
            provider="sim-openai",
            model="gpt-sim-mini",
            served_from=routing_pb2.SERVED_FROM_REMOTE,
            attempts=[
                router_pb2.Attempt(
                    provider="sim-openai", model="gpt-sim-mini", outcome=router_pb2.ATTEMPT_OUTCOME_SUCCESS
                )
            ],
        )

    async def Route(self, request: Any, context: Any) -> router_pb2.RouteResponse:
        self.requests.append(request)
        text = _last_text(request.chat)
        if text.startswith("slow:"):  # answers once `release` is set
            await self.release.wait()
            return self._answer(request, text)
        return self._answer(request, text)

    async def RouteStream(self, request: Any, context: Any) -> AsyncIterator[router_pb2.RouteStreamResponse]:
        self.requests.append(request)
        text = _last_text(request.chat)
        if text == "hang":
            yield router_pb2.RouteStreamResponse(delta=chat_pb2.ChatDelta(content="waiting"))
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        if text.startswith("stream-error:"):
            yield router_pb2.RouteStreamResponse(delta=chat_pb2.ChatDelta(content="partial"))
            raise _error(text.removeprefix("stream-error:"))
        if text.startswith("whole "):  # no deltas: the whole answer in the summary (as a cache hit may come)
            yield router_pb2.RouteStreamResponse(summary=self._answer(request, text.removeprefix("whole ")))
            return
        answer = self._answer(request, text)
        for i, word in enumerate(answer.completion.content.split(" ")):
            yield router_pb2.RouteStreamResponse(delta=chat_pb2.ChatDelta(content=word if i == 0 else " " + word))
        for i, call in enumerate(answer.completion.tool_calls):
            yield router_pb2.RouteStreamResponse(
                delta=chat_pb2.ChatDelta(
                    tool_calls=[chat_pb2.ToolCallDelta(index=i, id=call.id, name=call.name, arguments_fragment="")]
                )
            )
            for piece in (call.arguments_json[:5], call.arguments_json[5:]):
                yield router_pb2.RouteStreamResponse(
                    delta=chat_pb2.ChatDelta(tool_calls=[chat_pb2.ToolCallDelta(index=i, arguments_fragment=piece)])
                )
        answer.completion.content = ""
        yield router_pb2.RouteStreamResponse(summary=answer)

    async def ListModels(self, request: Any, context: Any) -> router_pb2.ListModelsResponse:
        return MODELS
