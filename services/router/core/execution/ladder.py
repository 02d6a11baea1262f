"""The escalation ladder of one request: local tier, then cache, then remote candidates cheapest first with
failover (and hedging when asked), validating cheap answers and escalating when they do not pass.

Plain asyncio: the clients are passed in behind small Protocols, so this module imports neither grpc nor nats.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from bourse.common.v1 import chat_pb2
from bourse.provider.v1 import provider_service_pb2
from bourse.router.v1 import router_service_pb2

from services.router.core.budgets import Budgets
from services.router.core.execution.output_validation import OutputRules, OutputValidator
from services.router.core.execution.request_validation import validate_request
from services.router.core.execution.route_spans import (
    HEDGE,
    PROVIDER_ATTEMPT,
    ROUTE,
    attempt_reason,
    describe_answer,
    describe_candidate,
    describe_outcome,
    describe_request,
)
from services.router.core.execution.route_types import (
    AnswerCache,
    ExecutionSettings,
    LocalModel,
    Plan,
    RemoteModels,
    RouteInput,
    RouteOutcome,
)
from services.router.core.execution.stream_assembly import StreamAssembler
from services.router.core.execution.tiers import CheapTiers, usage_cost
from services.router.core.quality.planning import QualityPlan, quality_profile, select_with_quality
from services.router.core.quality.predictor import Prediction
from services.router.core.quality.routing import NO_PREDICTION, QualityRouting
from services.router.core.resilience.failover import AttemptResult, FailoverPolicy
from services.router.core.resilience.hedging import hedged
from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.profile import RequestProfile, profile_from_request
from services.router.core.selection.selection import LOCAL_TASK_KINDS, Candidate, Selection, Selector
from shared.errors import BourseError, DeadlineExceeded, NoQualifiedModel, Reason, UpstreamError
from shared.instrumentation import Instruments, NoInstruments
from shared.pricing.cost import estimate_cost_micro_usd
from shared.pricing.price_age import PriceAgeWatch
from shared.pricing.price_table import PriceBook


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
        instruments: Instruments | None = None,
        price_age: PriceAgeWatch | None = None,
        quality: QualityRouting | None = None,
    ) -> None:
        self.quality = quality
        self._book = book
        self._instruments = instruments or NoInstruments()
        self._price_age = price_age
        self._selector = selector
        self._estimator = estimator
        self._policy = policy
        self._budgets = budgets
        self._remote = remote
        self._record = record
        self._settings = settings
        self._validator = OutputValidator()
        self._tiers = CheapTiers(
            book,
            self._validator,
            local=local,
            cache=cache,
            local_deadline_s=settings.local_deadline_s,
            local_min_confidence=settings.local_min_confidence,
            instruments=self._instruments,
        )
        self._background: set[asyncio.Task[None]] = set()

    # ---- planning -------------------------------------------------------------------------------------------
    def plan(self, inp: RouteInput, *, limit: int | None = None) -> tuple[RequestProfile, Selection]:
        """Validate and select. Raises InvalidRequest.

        Explain passes no limit (every model examined, every rejection listed); Route passes the number of
        candidates it can use, which lets selection stop early.
        """
        planned = self.plan_quality(inp, limit=limit, prediction=None)
        return planned.profile, planned.selection

    def plan_quality(self, inp: RouteInput, *, limit: int | None, prediction: Prediction | None) -> QualityPlan:
        """`plan`, with the quality policy applied (the prediction is computed here when not given)."""
        book = self._book.current
        validate_request(
            inp.chat,
            inp.constraints,
            inp.context or _NO_CONTEXT,
            has_chat=inp.has_chat,
            knows_model=book.knows,
            patterns=self._validator.patterns,
        )
        profile = profile_from_request(inp.chat, inp.constraints, self._estimator, stream=inp.stream)
        now = time.monotonic()
        if self.quality is None:
            return QualityPlan(profile, self._selector.select(profile, now=now, limit=limit), target_unmet=False)
        if prediction is None:
            prediction = self.quality.assess(inp.chat) if self.needs_prediction(inp) else NO_PREDICTION
        profile = quality_profile(profile, inp.constraints, inp.tenant, self.quality, prediction)
        return select_with_quality(self._selector, self.quality, profile, inp.constraints, now=now, limit=limit)

    def needs_prediction(self, inp: RouteInput) -> bool:
        return self.quality is not None and not self.quality.cheapest(inp.constraints)

    async def _predict(self, inp: RouteInput) -> Prediction:
        """The difficulty prediction, with the encoder run in a worker thread so the event loop keeps serving."""
        if self.quality is None or self.quality.scorer is None or not self.needs_prediction(inp):
            return NO_PREDICTION
        return await asyncio.to_thread(self.quality.assess, inp.chat)

    def uses_local(self, profile: RequestProfile, selection: Selection) -> bool:
        """Whether the local tier is tried first: configured, qualified, and a trivial task kind."""
        return (
            self._tiers.local is not None
            and selection.local is not None
            and profile.include_local
            and profile.task_kind in LOCAL_TASK_KINDS
        )

    async def _prepare(self, inp: RouteInput, outcome: RouteOutcome, deadline_s: float | None) -> Plan:
        started = time.perf_counter()
        max_attempts = inp.constraints.max_attempts or self._settings.default_max_attempts
        # Failover needs at most max_attempts candidates, hedging one more; keep a spare for the cache scope.
        prediction = await self._predict(inp)
        planned = self.plan_quality(inp, limit=max_attempts + 2, prediction=prediction)
        profile, selection = planned.profile, planned.selection
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
        budget = (
            self._settings.total_deadline_s if deadline_s is None else min(deadline_s, self._settings.total_deadline_s)
        )
        c = inp.constraints
        plan = Plan(
            profile=profile,
            selection=selection,
            rules=OutputRules.from_request(inp.chat, tuple(c.labels), c.output_pattern),
            use_local=use_local,
            deadline=time.monotonic() + budget,
            max_attempts=max_attempts,
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
            client_request_id=inp.client_request_id,
        )

    def _finish(self, outcome: RouteOutcome, plan: Plan | None, started: float) -> None:
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
        plan: Plan | None = None
        with self._instruments.span(ROUTE) as span:
            describe_request(span, inp)
            try:
                plan = await self._prepare(inp, outcome, deadline_s)
                if plan.use_local and await self._tiers.try_local(inp, plan, outcome):
                    return outcome
                if await self._tiers.try_cache(inp, plan, outcome):
                    return outcome
                await self._remote_unary(inp, plan, outcome)
                return outcome
            except BourseError as error:
                outcome.error = error
                raise
            finally:
                describe_outcome(span, outcome)
                self._finish(outcome, plan, started)

    async def _remote_unary(self, inp: RouteInput, plan: Plan, outcome: RouteOutcome) -> None:
        remaining = list(plan.selection.candidates)
        failed: set[str] = set()
        last_error: BourseError | None = None
        hedge = inp.constraints.hedge
        while (candidate := self._next_candidate(remaining, failed, plan, outcome)) is not None:
            if hedge and remaining and outcome.remote_attempts + 1 < plan.max_attempts:
                hedge = False
                backup_index = self._policy.pick_next(remaining, failed | {candidate.provider}, time.monotonic())
                if backup_index is not None:
                    backup = remaining.pop(backup_index)
                    if await self._hedged_pair(inp, plan, outcome, (candidate, backup), failed):
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
        self, inp: RouteInput, plan: Plan, outcome: RouteOutcome, candidate: Candidate, failed: set[str]
    ) -> bool:
        """Try one candidate; True when it answered validly. Raises the attempt's BourseError on failure."""
        t0 = time.perf_counter()
        reason = attempt_reason(outcome)
        self._policy.on_start(candidate.provider, candidate.model, time.monotonic(), _tokens(plan, candidate))
        try:
            response = await self._call(inp, plan, candidate, reason)
        except BourseError as error:
            self._remote_failed(outcome, candidate, error, time.perf_counter() - t0, failed)
            raise
        return self._remote_answered(inp, plan, outcome, candidate, response, latency_s=time.perf_counter() - t0)

    async def _hedged_pair(
        self,
        inp: RouteInput,
        plan: Plan,
        outcome: RouteOutcome,
        pair: tuple[Candidate, Candidate],
        failed: set[str],
    ) -> bool:
        first, second = pair
        now = time.monotonic()
        reason = attempt_reason(outcome)
        self._policy.on_start(first.provider, first.model, now, _tokens(plan, first))
        primary, backup = await hedged(
            lambda: self._call(inp, plan, first, reason),
            lambda: self._call_started(inp, plan, second),
            delay_s=first.p95_ms / 1000.0,
        )
        answered = False
        for leg, candidate in ((primary, first), (backup, second)):
            if not leg.started:
                continue
            if leg.cancelled:
                cost = estimate_cost_micro_usd(
                    self._book.current.schedules.get(candidate.entry.key) or candidate.entry,
                    plan.selection.estimated_prompt_tokens,
                    0,
                )
                outcome.attempts.append(
                    AttemptResult(
                        candidate.provider,
                        candidate.model,
                        "remote",
                        "cancelled",
                        candidate.region,
                        latency_s=leg.latency_s,
                        cost_micro_usd=cost,
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
                answered = self._remote_answered(inp, plan, outcome, candidate, leg.result, latency_s=leg.latency_s)
        return answered

    async def _call_started(
        self, inp: RouteInput, plan: Plan, candidate: Candidate
    ) -> provider_service_pb2.CompleteResponse:
        self._policy.on_start(candidate.provider, candidate.model, time.monotonic(), _tokens(plan, candidate))
        return await self._call(inp, plan, candidate, HEDGE)

    async def _call(
        self, inp: RouteInput, plan: Plan, candidate: Candidate, reason: str
    ) -> provider_service_pb2.CompleteResponse:
        """One provider attempt, in its own span (a hedge's two legs are sibling spans under the route's)."""
        timeout = max(plan.deadline - time.monotonic(), 0.001)
        with self._instruments.span(PROVIDER_ATTEMPT) as span:
            describe_candidate(span, candidate, reason)
            response = await self._remote.complete(
                candidate, inp.chat, region=_region(inp, candidate), request_id=inp.request_id, timeout_s=timeout
            )
            usage = response.completion.usage
            describe_answer(span, candidate.model, usage, usage_cost(self._book, candidate, usage))
            return response

    def _remote_failed(
        self, outcome: RouteOutcome, candidate: Candidate, error: BourseError, latency_s: float, failed: set[str]
    ) -> None:
        self._policy.on_error(candidate.provider, candidate.model, error, time.monotonic())
        failed.add(candidate.provider)
        outcome.attempts.append(
            AttemptResult(
                candidate.provider,
                candidate.model,
                "remote",
                "error",
                candidate.region,
                error_reason=error.reason,
                latency_s=latency_s,
            )
        )

    def _remote_answered(
        self,
        inp: RouteInput,
        plan: Plan,
        outcome: RouteOutcome,
        candidate: Candidate,
        response: provider_service_pb2.CompleteResponse,
        *,
        latency_s: float,
    ) -> bool:
        self._policy.on_success(candidate.provider, candidate.model)
        if self._price_age is not None:
            table = self._book.current
            self._price_age.check(table.price_days, table.version, candidate.entry.key)
        completion = response.completion
        cost = usage_cost(self._book, candidate, completion.usage)
        outcome.cost_micro_usd += cost
        verdict = self._validator.check(plan.rules, completion)
        attempt = AttemptResult(
            candidate.provider,
            candidate.model,
            "remote",
            "success",
            candidate.region,
            latency_s=latency_s,
            cost_micro_usd=cost,
        )
        outcome.attempts.append(attempt)
        if not verdict.ok:
            attempt.outcome, attempt.error_reason = "invalid_output", Reason.INVALID_OUTPUT
            return False
        completion.content = verdict.content
        upstream_s = response.upstream_latency_us / 1e6 if response.upstream_latency_us else latency_s
        outcome.answered(
            completion,
            provider=candidate.provider,
            model=candidate.model,
            region=candidate.region,
            served_from="remote",
            upstream_s=upstream_s,
        )
        self._tiers.store(inp, plan, outcome)
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
        plan: Plan | None = None
        with self._instruments.span(ROUTE) as span:
            describe_request(span, inp)
            try:
                plan = await self._prepare(inp, outcome, deadline_s)
                if (plan.use_local and await self._tiers.try_local(inp, plan, outcome)) or await self._tiers.try_cache(
                    inp, plan, outcome
                ):
                    assert outcome.completion is not None
                    outcome.ttft_s = time.perf_counter() - started
                    yield chat_pb2.ChatDelta(content=outcome.completion.content)
                    outcome.completion.content = ""  # the text went out as a delta
                    outcome.total_s = time.perf_counter() - started
                    describe_outcome(span, outcome)
                    yield outcome
                    return
                async for item in self._remote_stream(inp, plan, outcome, started):
                    yield item
                outcome.total_s = time.perf_counter() - started
                describe_outcome(span, outcome)
                yield outcome
            except BourseError as error:
                outcome.error = error
                raise
            except (asyncio.CancelledError, GeneratorExit):
                outcome.error = BourseError("the client cancelled the stream", reason=Reason.CANCELLED)
                raise
            finally:
                self._finish(outcome, plan, started)

    async def _remote_stream(
        self, inp: RouteInput, plan: Plan, outcome: RouteOutcome, started: float
    ) -> AsyncIterator[chat_pb2.ChatDelta]:
        remaining = list(plan.selection.candidates)
        failed: set[str] = set()
        last_error: BourseError | None = None
        buffered = not plan.rules.empty
        while (candidate := self._next_candidate(remaining, failed, plan, outcome)) is not None:
            leg = _StreamLeg(time.perf_counter())
            reason = attempt_reason(outcome)
            self._policy.on_start(candidate.provider, candidate.model, time.monotonic(), _tokens(plan, candidate))
            try:
                async for delta in self._stream_leg(inp, plan, candidate, leg, buffered=buffered, reason=reason):
                    if outcome.ttft_s is None:
                        outcome.ttft_s = time.perf_counter() - started
                    yield delta
            except BourseError as error:
                self._remote_failed(outcome, candidate, error, time.perf_counter() - leg.t0, failed)
                if leg.sent or not error.retryable:
                    raise
                last_error = error
                continue
            assert leg.final is not None
            leg.final.completion.CopyFrom(leg.assembler.completion(leg.final.completion))
            if self._remote_answered(inp, plan, outcome, candidate, leg.final, latency_s=time.perf_counter() - leg.t0):
                if buffered:
                    outcome.ttft_s = time.perf_counter() - started
                    for delta in leg.held:
                        yield delta
                assert outcome.completion is not None
                outcome.completion.content = ""  # the text went out as deltas
                return
        raise self._exhausted(outcome, last_error)

    async def _stream_leg(
        self, inp: RouteInput, plan: Plan, candidate: Candidate, leg: _StreamLeg, *, buffered: bool, reason: str
    ) -> AsyncIterator[chat_pb2.ChatDelta]:
        """One candidate's stream: yields deltas as they come (or holds them when buffered)."""
        timeout = max(plan.deadline - time.monotonic(), 0.001)
        with self._instruments.span(PROVIDER_ATTEMPT) as span:
            describe_candidate(span, candidate, reason)
            async for message in self._remote.stream(
                candidate, inp.chat, region=_region(inp, candidate), request_id=inp.request_id, timeout_s=timeout
            ):
                kind = message.WhichOneof("event")
                if kind == "delta":
                    leg.assembler.add(message.delta)
                    if buffered:
                        leg.held.append(message.delta)
                    else:
                        leg.sent = True
                        yield message.delta
                elif kind == "done":
                    leg.final = message.done
            if leg.final is None:
                raise UpstreamError(
                    "the upstream stream ended without its final message", reason=Reason.CONNECTION_DROPPED
                )
            usage = leg.final.completion.usage
            describe_answer(span, candidate.model, usage, usage_cost(self._book, candidate, usage))

    def _next_candidate(
        self, remaining: list[Candidate], failed: set[str], plan: Plan, outcome: RouteOutcome
    ) -> Candidate | None:
        """Pop the next candidate to try; None when attempts are used up or every remaining one is blocked."""
        if not remaining or outcome.remote_attempts >= plan.max_attempts:
            return None
        now = time.monotonic()
        if now >= plan.deadline:
            raise DeadlineExceeded("the total deadline passed before an answer", metadata=_attempted(outcome))
        index = self._policy.pick_next(remaining, failed, now)
        return None if index is None else remaining.pop(index)

    # ---- shared pieces --------------------------------------------------------------------------------------
    def _exhausted(self, outcome: RouteOutcome, last_error: BourseError | None) -> BourseError:
        if last_error is not None:
            last_error.metadata.update(_attempted(outcome))
            return last_error
        if any(a.outcome == "invalid_output" for a in outcome.attempts):
            return BourseError(
                "no model produced an answer that passed validation",
                reason=Reason.INVALID_OUTPUT,
                metadata=_attempted(outcome),
            )
        return BourseError(
            "every qualified model is temporarily unavailable (circuit open or Retry-After in force)",
            reason=Reason.NO_AVAILABLE_MODEL,
            metadata=_attempted(outcome),
        )


_NO_CONTEXT = router_service_pb2.RequestContext()


@dataclass(slots=True)
class _StreamLeg:
    t0: float
    assembler: StreamAssembler = field(default_factory=StreamAssembler)
    held: list[chat_pb2.ChatDelta] = field(default_factory=list)
    sent: bool = False
    final: provider_service_pb2.CompleteResponse | None = None


def _region(inp: RouteInput, candidate: Candidate) -> str:
    """The endpoint region to ask the adapter for: the chosen one when the request constrained regions (the
    adapter must then honour it or fail), else "" for the provider's default endpoint."""
    return candidate.region if inp.constraints.regions else ""


def _attempted(outcome: RouteOutcome) -> dict[str, str]:
    return {"attempts": str(len(outcome.attempts))}


def _tokens(plan: Plan, candidate: Candidate) -> int:
    """The request's expected size at this model, for the rate-limit window."""
    return plan.selection.estimated_prompt_tokens + candidate.expected_completion_tokens
