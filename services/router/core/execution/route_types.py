"""The data one routed request carries through the ladder, and the small Protocols of the clients it calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from bourse.cache.v1 import cache_service_pb2
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.inference.v1 import inference_service_pb2
from bourse.provider.v1 import provider_service_pb2
from bourse.router.v1 import router_service_pb2

from services.router.core.budgets import Reservation
from services.router.core.execution.output_validation import OutputRules
from services.router.core.resilience.failover import AttemptResult
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection import Selection
from shared.errors import BourseError

TIER_VALUES: dict[str, routing_pb2.ModelTier] = {
    "local": routing_pb2.MODEL_TIER_LOCAL,
    "cheap": routing_pb2.MODEL_TIER_CHEAP,
    "standard": routing_pb2.MODEL_TIER_STANDARD,
    "frontier": routing_pb2.MODEL_TIER_FRONTIER,
}
Tier: TypeAlias = routing_pb2.ModelTier


class Target(Protocol):
    """Where a remote call goes (a selection Candidate is one)."""

    @property
    def provider(self) -> str: ...

    @property
    def model(self) -> str: ...


class RemoteModels(Protocol):
    async def complete(
        self, target: Target, chat: chat_pb2.ChatRequest, *, region: str, request_id: str, timeout_s: float
    ) -> provider_service_pb2.CompleteResponse: ...

    def stream(
        self, target: Target, chat: chat_pb2.ChatRequest, *, region: str, request_id: str, timeout_s: float
    ) -> AsyncIterator[provider_service_pb2.CompleteStreamResponse]: ...


class LocalModel(Protocol):
    async def generate(
        self,
        chat: chat_pb2.ChatRequest,
        request_id: str,
        timeout_s: float,
        *,
        output_pattern: str = "",
        copy_from_input: bool = False,
    ) -> inference_service_pb2.GenerateResponse: ...

    async def score(
        self, chat: chat_pb2.ChatRequest, labels: list[str], request_id: str, timeout_s: float
    ) -> inference_service_pb2.ScoreResponse: ...


class AnswerCache(Protocol):
    async def lookup(
        self, chat: chat_pb2.ChatRequest, tenant: str, tier: Tier, min_similarity: float | None
    ) -> cache_service_pb2.LookupResponse | None: ...

    def store_later(
        self,
        chat: chat_pb2.ChatRequest,
        tenant: str,
        tier: Tier,
        answer: cache_service_pb2.CachedAnswer,
        ttl_seconds: int,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class RouteInput:
    chat: chat_pb2.ChatRequest
    constraints: router_service_pb2.RoutingConstraints
    request_id: str  # assigned by the router: keys the events and the ledger row
    tenant: str
    key_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    stream: bool = False
    client_request_id: str = ""  # the caller's correlation id (validated), kept beside ours
    has_chat: bool = True
    context: router_service_pb2.RequestContext | None = None


@dataclass(slots=True)
class RouteOutcome:
    """Everything the response and the telemetry event report about one request."""

    request_id: str
    tenant: str
    key_id: str
    task_kind: str
    stream: bool
    metadata: dict[str, str]
    client_request_id: str = ""
    completion: chat_pb2.ChatCompletion | None = None
    provider: str = ""
    model: str = ""
    region: str = ""
    served_from: str = "none"
    attempts: list[AttemptResult] = field(default_factory=list)
    cost_micro_usd: int = 0
    saved_micro_usd: int = 0
    estimated_prompt_tokens: int = 0
    total_s: float = 0.0
    selection_s: float = 0.0
    upstream_s: float = 0.0
    ttft_s: float | None = None
    error: BourseError | None = None

    def answered(
        self,
        completion: chat_pb2.ChatCompletion,
        *,
        provider: str,
        model: str,
        region: str,
        served_from: str,
        upstream_s: float,
    ) -> None:
        self.completion = completion
        self.provider, self.model, self.region = provider, model, region
        self.served_from = served_from
        self.upstream_s = upstream_s

    @property
    def remote_attempts(self) -> int:
        return sum(1 for a in self.attempts if a.served_from == "remote")


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    default_max_attempts: int = 3
    total_deadline_s: float = 60.0
    local_deadline_s: float = 10.0
    # Per task kind, the confidence a local answer needs to be served; below it the request escalates.
    local_min_confidence: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    """A validated, selected request ready to run."""

    profile: RequestProfile
    selection: Selection
    rules: OutputRules
    use_local: bool
    deadline: float  # monotonic
    max_attempts: int
    reservation: Reservation | None = None
