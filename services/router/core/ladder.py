"""The escalation ladder of one request: local tier, then cache, then remote candidates cheapest first with
failover (and hedging when asked), validating cheap answers and escalating when they do not pass.

Plain asyncio: the clients are passed in behind small Protocols, so this module imports neither grpc nor nats.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol

from bourse.cache.v1 import cache_service_pb2
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.inference.v1 import inference_service_pb2
from bourse.provider.v1 import provider_service_pb2
from bourse.router.v1 import router_service_pb2

from services.router.core.budgets import Budgets, Reservation
from services.router.core.cost import cost_micro_usd, estimate_cost_micro_usd
from services.router.core.estimate import TokenEstimator
from services.router.core.failover import AttemptResult, FailoverPolicy
from services.router.core.hedging import hedged
from services.router.core.output_validation import OutputRules, OutputValidator
from services.router.core.price_table import PriceBook
from services.router.core.profile import RequestProfile, profile_from_request
from services.router.core.request_validation import validate_request
from services.router.core.selection import Candidate, Selection, Selector
from services.router.core.stream_assembly import StreamAssembler
from shared.errors import BourseError, DeadlineExceeded, Kind, NoQualifiedModel, UpstreamError

TIER_VALUES = {"local": 1, "cheap": 2, "standard": 3, "frontier": 4}
_TRIVIAL_LOCAL_KINDS = frozenset({"classification", "extraction", "formatting"})


class RemoteModels(Protocol):
    async def complete(
        self, provider: str, model: str, region: str, chat: chat_pb2.ChatRequest, request_id: str, timeout_s: float
    ) -> provider_service_pb2.CompleteResponse: ...

    def stream(
        self, provider: str, model: str, region: str, chat: chat_pb2.ChatRequest, request_id: str, timeout_s: float
    ) -> AsyncIterator[provider_service_pb2.CompleteStreamResponse]: ...


class LocalModel(Protocol):
    async def generate(
        self, chat: chat_pb2.ChatRequest, request_id: str, timeout_s: float
    ) -> inference_service_pb2.GenerateResponse: ...

    async def score(
        self, chat: chat_pb2.ChatRequest, labels: list[str], request_id: str, timeout_s: float
    ) -> inference_service_pb2.ScoreResponse: ...


class AnswerCache(Protocol):
    async def lookup(
        self, chat: chat_pb2.ChatRequest, tenant: str, tier: int, min_similarity: float | None
    ) -> cache_service_pb2.LookupResponse | None: ...

    def store_later(
        self,
        chat: chat_pb2.ChatRequest,
        tenant: str,
        tier: int,
        answer: cache_service_pb2.CachedAnswer,
        ttl_seconds: int,
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class RouteInput:
    chat: chat_pb2.ChatRequest
    constraints: router_service_pb2.RoutingConstraints
    request_id: str
    tenant: str
    key_id: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    stream: bool = False
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


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    default_max_attempts: int = 3
    total_deadline_s: float = 60.0
    local_deadline_s: float = 10.0


@dataclass(slots=True)
class _Plan:
    profile: RequestProfile
    selection: Selection
    rules: OutputRules
    use_local: bool
    deadline: float  # monotonic
    max_attempts: int
    reservation: Reservation | None = None


class RouteExecutor:
    """One per router process; `route` and `route_stream` run one request each."""

    def __init__(
        self,
        *,
        book: PriceBook,
        selector: Selector,
        estimator: TokenEstimator,
        policy: FailoverPolicy,
        budgets: Budgets,
        remote: RemoteModels,
        local: LocalModel | None,
        cache: AnswerCache | None,
        record: Callable[[RouteOutcome], None],
        settings: ExecutionSettings,
    ) -> None:
        self._book = book
        self._selector = selector
        self._estimator = estimator
        self._policy = policy
        self._budgets = budgets
        self._remote = remote
        self._local = local
        self._cache = cache
        self._record = record
        self._settings = settings
        self._validator = OutputValidator()
        self._background: set[asyncio.Task[None]] = set()

    # ---- planning -------------------------------------------------------------------------------------------
    def plan(self, inp: RouteInput) -> tuple[RequestProfile, Selection]:
        """Validate and select (also the whole of Explain). Raises InvalidRequest."""
        book = self._book.current
        validate_request(inp.chat, inp.constraints, inp.context or _NO_CONTEXT, has_chat=inp.has_chat, knows_model=book.knows)
        profile = profile_from_request(inp.chat, inp.constraints, self._estimator)
        return profile, self._selector.select(profile, now=time.monotonic())

    def uses_local(self, profile: RequestProfile, selection: Selection) -> bool:
        """Whether the local tier is tried first: configured, qualified, and a trivial task kind."""
        return (
            self._local is not None
            and selection.local is not None
            and profile.include_local
            and profile.task_kind in _TRIVIAL_LOCAL_KINDS
        )

    async def _prepare(self, inp: RouteInput, outcome: RouteOutcome, deadline_s: float | None) -> _Plan:
        started = time.perf_counter()
        profile, selection = self.plan(inp)
        outcome.task_kind = profile.task_kind
        outcome.estimated_prompt_tokens = selection.estimated_prompt_tokens
        outcome.selection_s = time.perf_counter() - started
        use_local = self.uses_local(profile, selection)
        if not selection.candidates and not use_local:
            constraint = selection.last_constraint()
            raise NoQualifiedModel(
                f"no model qualifies for this request: the last candidate was removed by {constraint!r}",
                metadata={"constraint": constraint},
            )
        budget = self._settings.total_deadline_s if deadline_s is None else min(deadline_s, self._settings.total_deadline_s)
        c = inp.constraints
        plan = _Plan(
            profile=profile,
            selection=selection,
            rules=OutputRules.from_request(inp.chat, tuple(c.labels), c.output_pattern),
            use_local=use_local,
            deadline=time.monotonic() + budget,
            max_attempts=c.max_attempts or self._settings.default_max_attempts,
        )
        estimate = selection.candidates[0].estimated_cost_micro_usd if selection.candidates else 0
        plan.reservation = await self._budgets.admit(inp.tenant, inp.key_id, estimate)
        return plan

    def _new_outcome(self, inp: RouteInput) -> RouteOutcome:
        return RouteOutcome(
            request_id=inp.request_id,
            tenant=inp.tenant,
            key_id=inp.key_id,
            task_kind="chat",
            stream=inp.stream,
            metadata=inp.metadata,
        )

    def _finish(self, outcome: RouteOutcome, plan: _Plan | None, started: float) -> None:
        outcome.total_s = time.perf_counter() - started
        if plan is not None and plan.reservation is not None and not plan.reservation.empty:
            self._in_background(self._budgets.settle(plan.reservation, outcome.cost_micro_usd))
        if outcome.attempts:
            self._record(outcome)

    def _in_background(self, work: asyncio.Future[None] | object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)  # type: ignore[arg-type]
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def drain(self) -> None:
        """Wait for background budget settlements (shutdown and tests)."""
        if self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # ---- unary ----------------------------------------------------------------------------------------------
    async def route(self, inp: RouteInput, *, deadline_s: float | None = None) -> RouteOutcome:
        started = time.perf_counter()
        outcome = self._new_outcome(inp)
        plan: _Plan | None = None
        try:
            plan = await self._prepare(inp, outcome, deadline_s)
            if plan.use_local and await self._try_local(inp, plan, outcome):
                return outcome
            if await self._try_cache(inp, plan, outcome):
                return outcome
            await self._remote_unary(inp, plan, outcome)
            return outcome
        except BourseError as error:
            outcome.error = error
            raise
        finally:
            self._finish(outcome, plan, started)

    async def _try_local(self, inp: RouteInput, plan: _Plan, outcome: RouteOutcome) -> bool:
        local = plan.selection.local
        assert local is not None and self._local is not None
        timeout = min(self._settings.local_deadline_s, max(plan.deadline - time.monotonic(), 0.001))
        t0 = time.perf_counter()
        attempt = AttemptResult(provider=local.provider, model=local.model, served_from="local", outcome="success")
        try:
            if plan.rules.labels:
                scored = await self._local.score(inp.chat, list(plan.rules.labels), inp.request_id, timeout)
                usage = chat_pb2.Usage(prompt_tokens=plan.selection.estimated_prompt_tokens, estimated=True)
                completion = chat_pb2.ChatCompletion(
                    content=scored.scores[0].label if scored.scores else "",
                    finish_reason=chat_pb2.FINISH_REASON_STOP,
                    usage=usage,
                )
                model = scored.model or local.model
            else:
                generated = await self._local.generate(inp.chat, inp.request_id, timeout)
                completion, model = generated.completion, generated.model or local.model
        except BourseError as error:
            attempt.outcome, attempt.error_reason = "error", error.reason
            attempt.latency_s = time.perf_counter() - t0
            outcome.attempts.append(attempt)
            return False
        attempt.latency_s = time.perf_counter() - t0
        attempt.model = model
        verdict = self._validator.check(plan.rules, completion)
        if not verdict.ok:
            attempt.outcome, attempt.error_reason = "invalid_output", "INVALID_OUTPUT"
            outcome.attempts.append(attempt)
            return False
        outcome.attempts.append(attempt)
        completion.content = verdict.content
        self._answered(outcome, completion, local.provider, model, "", "local", attempt.latency_s)
        outcome.saved_micro_usd = self._saved(plan, completion.usage)
        return True

    async def _try_cache(self, inp: RouteInput, plan: _Plan, outcome: RouteOutcome) -> bool:
        policy = inp.constraints.cache
        if self._cache is None or policy.no_cache or not plan.selection.candidates:
            return False
        t0 = time.perf_counter()
        min_similarity = policy.min_similarity if policy.HasField("min_similarity") else None
        hit = await self._cache.lookup(inp.chat, inp.tenant, self._cache_tier(plan), min_similarity)
        latency = time.perf_counter() - t0
        if hit is None:
            outcome.attempts.append(AttemptResult("cache", "", "cache", "miss", latency_s=latency))
            return False
        answer = hit.answer
        verdict = self._validator.check(plan.rules, answer.completion)
        if not verdict.ok:
            outcome.attempts.append(AttemptResult("cache", answer.model, "cache", "invalid_output", latency_s=latency))
            return False
        completion = chat_pb2.ChatCompletion()
        completion.CopyFrom(answer.completion)
        completion.content = verdict.content
        outcome.attempts.append(AttemptResult("cache", answer.model, "cache", "success", latency_s=latency))
        self._answered(outcome, completion, "cache", answer.model, "", "cache", latency)
        outcome.saved_micro_usd = self._saved(plan, completion.usage)
        return True

    async def _remote_unary(self, inp: RouteInput, plan: _Plan, outcome: RouteOutcome) -> None:
        remaining = list(plan.selection.candidates)
        failed: set[str] = set()
        last_error: BourseError | None = None
        hedge = inp.constraints.hedge
        while remaining and _remote_count(outcome) < plan.max_attempts:
            now = time.monotonic()
            if now >= plan.deadline:
                raise DeadlineExceeded("the total deadline passed before an answer", metadata=_attempted(outcome))
            index = self._policy.pick_next(remaining, failed, now)
            if index is None:
                break
            candidate = remaining.pop(index)
            if hedge and remaining and _remote_count(outcome) + 1 < plan.max_attempts:
                hedge = False
                backup_index = self._policy.pick_next(remaining, failed | {candidate.provider}, now)
                if backup_index is not None:
                    backup = remaining.pop(backup_index)
                    result = await self._hedged_pair(inp, plan, outcome, candidate, backup, failed)
                    if result:
                        return
                    continue
            try:
                if await self._one_remote(inp, plan, outcome, candidate, failed):
                    return
            except BourseError as error:
                last_error = error
                if not error.retryable:
                    raise
        raise self._exhausted(outcome, last_error)

    async def _one_remote(
        self, inp: RouteInput, plan: _Plan, outcome: RouteOutcome, candidate: Candidate, failed: set[str]
    ) -> bool:
        """Try one candidate; True when it answered validly. Raises the attempt's BourseError on failure."""
        t0 = time.perf_counter()
        self._policy.on_start(candidate.provider, candidate.model, time.monotonic())
        try:
            response = await self._call(inp, plan, candidate)
        except BourseError as error:
            self._remote_failed(outcome, candidate, error, time.perf_counter() - t0, failed)
            raise
        return self._remote_answered(inp, plan, outcome, candidate, response, time.perf_counter() - t0)

    async def _hedged_pair(
        self,
        inp: RouteInput,
        plan: _Plan,
        outcome: RouteOutcome,
        first: Candidate,
        second: Candidate,
        failed: set[str],
    ) -> bool:
        now = time.monotonic()
        self._policy.on_start(first.provider, first.model, now)
        primary, backup = await hedged(
            lambda: self._call(inp, plan, first),
            lambda: self._call_started(inp, plan, second),
            delay_s=first.p95_ms / 1000.0,
        )
        answered = False
        for leg, candidate in ((primary, first), (backup, second)):
            if not leg.started:
                continue
            if leg.cancelled:
                cost = estimate_cost_micro_usd(candidate.entry, plan.selection.estimated_prompt_tokens, 0)
                outcome.attempts.append(
                    AttemptResult(
                        candidate.provider, candidate.model, "remote", "cancelled", candidate.region,
                        latency_s=leg.latency_s, cost_micro_usd=cost,
                    )
                )
                outcome.cost_micro_usd += cost
            elif isinstance(leg.error, BourseError):
                self._remote_failed(outcome, candidate, leg.error, leg.latency_s, failed)
                if not leg.error.retryable:
                    raise leg.error
            elif leg.error is not None:
                raise leg.error
            elif leg.result is not None and not answered:
                answered = self._remote_answered(inp, plan, outcome, candidate, leg.result, leg.latency_s)
        return answered

    async def _call_started(
        self, inp: RouteInput, plan: _Plan, candidate: Candidate
    ) -> provider_service_pb2.CompleteResponse:
        self._policy.on_start(candidate.provider, candidate.model, time.monotonic())
        return await self._call(inp, plan, candidate)

    async def _call(
        self, inp: RouteInput, plan: _Plan, candidate: Candidate
    ) -> provider_service_pb2.CompleteResponse:
        timeout = max(plan.deadline - time.monotonic(), 0.001)
        return await self._remote.complete(
            candidate.provider, candidate.model, candidate.region, inp.chat, inp.request_id, timeout
        )

    def _remote_failed(
        self, outcome: RouteOutcome, candidate: Candidate, error: BourseError, latency_s: float, failed: set[str]
    ) -> None:
        self._policy.on_error(candidate.provider, candidate.model, error, time.monotonic())
        failed.add(candidate.provider)
        outcome.attempts.append(
            AttemptResult(
                candidate.provider, candidate.model, "remote", "error", candidate.region,
                error_reason=error.reason, latency_s=latency_s,
            )
        )

    def _remote_answered(
        self,
        inp: RouteInput,
        plan: _Plan,
        outcome: RouteOutcome,
        candidate: Candidate,
        response: provider_service_pb2.CompleteResponse,
        latency_s: float,
    ) -> bool:
        self._policy.on_success(candidate.provider, candidate.model)
        completion = response.completion
        cost = _usage_cost(candidate, completion.usage)
        outcome.cost_micro_usd += cost
        verdict = self._validator.check(plan.rules, completion)
        attempt = AttemptResult(
            candidate.provider, candidate.model, "remote", "success", candidate.region,
            latency_s=latency_s, cost_micro_usd=cost,
        )
        outcome.attempts.append(attempt)
        if not verdict.ok:
            attempt.outcome, attempt.error_reason = "invalid_output", "INVALID_OUTPUT"
            return False
        completion.content = verdict.content
        upstream_s = response.upstream_latency_us / 1e6 if response.upstream_latency_us else latency_s
        self._answered(outcome, completion, candidate.provider, candidate.model, candidate.region, "remote", upstream_s)
        self._store(inp, plan, outcome)
        return True

    # ---- streaming ------------------------------------------------------------------------------------------
    async def route_stream(
        self, inp: RouteInput, *, deadline_s: float | None = None
    ) -> AsyncIterator[chat_pb2.ChatDelta | RouteOutcome]:
        """Deltas, then the outcome as the last item. Failover is allowed until the first delta has been
        yielded; after that a failure raises (the stream ends with an error, never a silent clean end).
        Requests whose answer must be validated are buffered, so a bad answer can still be escalated."""
        started = time.perf_counter()
        outcome = self._new_outcome(inp)
        plan: _Plan | None = None
        try:
            plan = await self._prepare(inp, outcome, deadline_s)
            if (plan.use_local and await self._try_local(inp, plan, outcome)) or await self._try_cache(
                inp, plan, outcome
            ):
                assert outcome.completion is not None
                outcome.ttft_s = time.perf_counter() - started
                yield chat_pb2.ChatDelta(content=outcome.completion.content)
                outcome.completion.content = ""  # the text went out as a delta
                outcome.total_s = time.perf_counter() - started
                yield outcome
                return
            async for item in self._remote_stream(inp, plan, outcome, started):
                yield item
            outcome.total_s = time.perf_counter() - started
            yield outcome
        except BourseError as error:
            outcome.error = error
            raise
        except (asyncio.CancelledError, GeneratorExit):
            outcome.error = BourseError("the client cancelled the stream", reason="CANCELLED", kind=Kind.CANCELLED)
            raise
        finally:
            self._finish(outcome, plan, started)

    async def _remote_stream(
        self, inp: RouteInput, plan: _Plan, outcome: RouteOutcome, started: float
    ) -> AsyncIterator[chat_pb2.ChatDelta]:
        remaining = list(plan.selection.candidates)
        failed: set[str] = set()
        last_error: BourseError | None = None
        buffered = not plan.rules.empty
        while remaining and _remote_count(outcome) < plan.max_attempts:
            now = time.monotonic()
            if now >= plan.deadline:
                raise DeadlineExceeded("the total deadline passed before an answer", metadata=_attempted(outcome))
            index = self._policy.pick_next(remaining, failed, now)
            if index is None:
                break
            candidate = remaining.pop(index)
            self._policy.on_start(candidate.provider, candidate.model, now)
            t0 = time.perf_counter()
            assembler = StreamAssembler()
            held: list[chat_pb2.ChatDelta] = []
            sent = False
            final: provider_service_pb2.CompleteResponse | None = None
            timeout = max(plan.deadline - now, 0.001)
            try:
                async for message in self._remote.stream(
                    candidate.provider, candidate.model, candidate.region, inp.chat, inp.request_id, timeout
                ):
                    kind = message.WhichOneof("event")
                    if kind == "delta":
                        assembler.add(message.delta)
                        if outcome.ttft_s is None and not buffered:
                            outcome.ttft_s = time.perf_counter() - started
                        if buffered:
                            held.append(message.delta)
                        else:
                            sent = True
                            yield message.delta
                    elif kind == "done":
                        final = message.done
                if final is None:
                    raise UpstreamError("the upstream stream ended without its final message", reason="CONNECTION_DROPPED")
            except BourseError as error:
                self._remote_failed(outcome, candidate, error, time.perf_counter() - t0, failed)
                if sent or not error.retryable:
                    raise
                last_error = error
                continue
            final.completion.CopyFrom(assembler.completion(final.completion))
            if self._remote_answered(inp, plan, outcome, candidate, final, time.perf_counter() - t0):
                if buffered:
                    outcome.ttft_s = time.perf_counter() - started
                    for delta in held:
                        yield delta
                assert outcome.completion is not None
                outcome.completion.content = ""  # the text went out as deltas
                return
        raise self._exhausted(outcome, last_error)

    # ---- shared pieces --------------------------------------------------------------------------------------
    def _answered(
        self,
        outcome: RouteOutcome,
        completion: chat_pb2.ChatCompletion,
        provider: str,
        model: str,
        region: str,
        served_from: str,
        upstream_s: float,
    ) -> None:
        outcome.completion = completion
        outcome.provider, outcome.model, outcome.region = provider, model, region
        outcome.served_from = served_from
        outcome.upstream_s = upstream_s

    def _saved(self, plan: _Plan, usage: chat_pb2.Usage) -> int:
        if not plan.selection.candidates:
            return 0
        return _usage_cost(plan.selection.candidates[0], usage)

    def _cache_tier(self, plan: _Plan) -> int:
        return TIER_VALUES.get(plan.selection.candidates[0].entry.tier, routing_pb2.MODEL_TIER_UNSPECIFIED)

    def _store(self, inp: RouteInput, plan: _Plan, outcome: RouteOutcome) -> None:
        policy = inp.constraints.cache
        if self._cache is None or policy.no_store or outcome.completion is None:
            return
        answer = cache_service_pb2.CachedAnswer(
            completion=outcome.completion,
            provider=outcome.provider,
            model=outcome.model,
            cost_micro_usd=outcome.cost_micro_usd,
        )
        self._cache.store_later(inp.chat, inp.tenant, self._cache_tier(plan), answer, policy.ttl_seconds)

    def _exhausted(self, outcome: RouteOutcome, last_error: BourseError | None) -> BourseError:
        if last_error is not None:
            last_error.metadata.update(_attempted(outcome))
            return last_error
        if any(a.outcome == "invalid_output" for a in outcome.attempts):
            return BourseError(
                "no model produced an answer that passed validation",
                reason="INVALID_OUTPUT",
                kind=Kind.FAILED_PRECONDITION,
                metadata=_attempted(outcome),
            )
        return BourseError(
            "every qualified model is temporarily unavailable (circuit open or Retry-After in force)",
            reason="NO_AVAILABLE_MODEL",
            kind=Kind.UNAVAILABLE,
            retryable=True,
            metadata=_attempted(outcome),
        )


_NO_CONTEXT = router_service_pb2.RequestContext()


def _remote_count(outcome: RouteOutcome) -> int:
    return sum(1 for a in outcome.attempts if a.served_from == "remote")


def _attempted(outcome: RouteOutcome) -> dict[str, str]:
    return {"attempts": str(len(outcome.attempts))}


def _usage_cost(candidate: Candidate, usage: chat_pb2.Usage) -> int:
    return cost_micro_usd(
        candidate.entry,
        usage.prompt_tokens,
        usage.completion_tokens,
        cached_tokens=usage.cached_prompt_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
    )

