"""The cheap tiers of the ladder: the local model (validated, Score for labels) and the cache (within its
deadline, skipped when down). A failure here never fails the request: the ladder moves on to remote models."""

from __future__ import annotations

import time
from collections.abc import Mapping

from bourse.cache.v1 import cache_service_pb2
from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.inference.v1 import inference_service_pb2

from services.router.core.execution.output_validation import OutputValidator
from services.router.core.execution.route_spans import CACHE_LOOKUP, LOCAL_ATTEMPT, describe_tier_attempt
from services.router.core.execution.route_types import (
    TIER_VALUES,
    AnswerCache,
    LocalModel,
    Plan,
    RouteInput,
    RouteOutcome,
    Tier,
)
from services.router.core.resilience.failover import AttemptResult
from services.router.core.selection.selection import Candidate
from shared.error_catalogue import reason_of
from shared.errors import BourseError, Reason
from shared.instrumentation import Instruments, NoInstruments
from shared.pricing.cost import cost_micro_usd
from shared.pricing.price_table import PriceBook

# Per task kind, the confidence a local answer needs to be served (overridable in the router config). Measured
# 2026-12-03 with bench.local_eval (docs/local-inference.md): classification (the label's probability) and
# formatting are the lowest thresholds at which served answers were right >= 97% of the time on the tune split.
# Extraction serves only exact matches (confidence 1): the tune-calibrated 0.322 served answers right only 54% of
# the time on the test split (spans of the input, a method the tune split did not contain, were all wrong), so
# this one value was set after seeing the test split.
LOCAL_MIN_CONFIDENCE = {"classification": 0.994532, "extraction": 1.0, "formatting": 0.969977}
_METHODS = {
    inference_service_pb2.ANSWER_METHOD_FREE: "free",
    inference_service_pb2.ANSWER_METHOD_GUIDED: "guided",
    inference_service_pb2.ANSWER_METHOD_EXACT_MATCH: "exact_match",
}


def label_confidence(scored: inference_service_pb2.ScoreResponse) -> float:
    """The chosen label's probability among the labels (the measure calibrated for classification)."""
    return scored.scores[0].probability if scored.scores else 0.0


class CheapTiers:
    def __init__(
        self,
        book: PriceBook,
        validator: OutputValidator,
        *,
        local: LocalModel | None,
        cache: AnswerCache | None,
        local_deadline_s: float,
        local_min_confidence: Mapping[str, float] | None = None,
        instruments: Instruments | None = None,
    ) -> None:
        self._instruments = instruments or NoInstruments()
        self._book = book
        self._validator = validator
        self.local = local
        self.cache = cache
        self._local_deadline_s = local_deadline_s
        # A kind without a threshold serves only certain answers (exact matches); see LOCAL_MIN_CONFIDENCE.
        self._min_confidence = {**LOCAL_MIN_CONFIDENCE, **(local_min_confidence or {})}

    async def try_local(self, inp: RouteInput, plan: Plan, outcome: RouteOutcome) -> bool:
        """Ask the local model; True when it answered validly (one span, whatever happened)."""
        with self._instruments.span(LOCAL_ATTEMPT) as span:
            before = len(outcome.attempts)
            answered = await self._local_attempt(inp, plan, outcome)
            describe_tier_attempt(span, outcome, before)
            return answered

    async def try_cache(self, inp: RouteInput, plan: Plan, outcome: RouteOutcome) -> bool:
        """Look the request up in the cache; True on a valid hit (one span when a lookup is made)."""
        if self.cache is None or inp.constraints.cache.no_cache or not plan.selection.candidates:
            return False
        with self._instruments.span(CACHE_LOOKUP) as span:
            before = len(outcome.attempts)
            answered = await self._cache_lookup(inp, plan, outcome)
            describe_tier_attempt(span, outcome, before)
            return answered

    async def _local_attempt(self, inp: RouteInput, plan: Plan, outcome: RouteOutcome) -> bool:
        local = plan.selection.local
        assert local is not None and self.local is not None
        timeout = min(self._local_deadline_s, max(plan.deadline - time.monotonic(), 0.001))
        t0 = time.perf_counter()
        attempt = AttemptResult(provider=local.provider, model=local.model, served_from="local", outcome="success")
        try:
            if plan.rules.labels:
                scored = await self.local.score(inp.chat, list(plan.rules.labels), inp.request_id, timeout)
                usage = chat_pb2.Usage(prompt_tokens=plan.selection.estimated_prompt_tokens, estimated=True)
                completion = chat_pb2.ChatCompletion(
                    content=scored.scores[0].label if scored.scores else "",
                    finish_reason=chat_pb2.FINISH_REASON_STOP,
                    usage=usage,
                )
                model = scored.model or local.model
                attempt.served_from_detail, attempt.confidence = "score", label_confidence(scored)
            else:
                generated = await self.local.generate(
                    inp.chat,
                    inp.request_id,
                    timeout,
                    output_pattern=plan.rules.pattern,
                    copy_from_input=plan.profile.task_kind == "extraction",
                )
                completion, model = generated.completion, generated.model or local.model
                attempt.served_from_detail = _METHODS.get(generated.method, "")
                attempt.confidence = generated.confidence
        except BourseError as error:
            attempt.outcome, attempt.error_reason = "error", error.reason
            attempt.latency_s = time.perf_counter() - t0
            outcome.attempts.append(attempt)
            return False
        attempt.latency_s = time.perf_counter() - t0
        attempt.model = model
        verdict = self._validator.check(plan.rules, completion)
        if not verdict.ok:
            attempt.outcome, attempt.error_reason = "invalid_output", Reason.INVALID_OUTPUT
            outcome.attempts.append(attempt)
            return False
        if attempt.confidence < self._min_confidence.get(plan.profile.task_kind, 1.0):
            attempt.outcome, attempt.error_reason = "invalid_output", Reason.LOW_CONFIDENCE
            outcome.attempts.append(attempt)
            return False
        outcome.attempts.append(attempt)
        completion.content = verdict.content
        outcome.answered(
            completion,
            provider=local.provider,
            model=model,
            region="",
            served_from="local",
            upstream_s=attempt.latency_s,
        )
        outcome.saved_micro_usd = self.saved(plan, completion.usage)
        return True

    async def _cache_lookup(self, inp: RouteInput, plan: Plan, outcome: RouteOutcome) -> bool:
        assert self.cache is not None
        policy = inp.constraints.cache
        t0 = time.perf_counter()
        min_similarity = policy.min_similarity if policy.HasField("min_similarity") else None
        hit = await self.cache.lookup(inp.chat, inp.tenant, self.cache_tier(plan), min_similarity)
        latency = time.perf_counter() - t0
        if hit is None or hit.match == cache_service_pb2.MATCH_KIND_UNSPECIFIED or not hit.HasField("answer"):
            reason = cache_miss_reason(hit.decision.reason) if hit is not None and hit.decision.reason else ""
            outcome.attempts.append(AttemptResult("cache", "", "cache", "miss", error_reason=reason, latency_s=latency))
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
        outcome.answered(
            completion, provider="cache", model=answer.model, region="", served_from="cache", upstream_s=latency
        )
        outcome.saved_micro_usd = self.saved(plan, completion.usage)
        return True

    def saved(self, plan: Plan, usage: chat_pb2.Usage) -> int:
        if not plan.selection.candidates:
            return 0
        return usage_cost(self._book, plan.selection.candidates[0], usage)

    def cache_tier(self, plan: Plan) -> Tier:
        return TIER_VALUES.get(plan.selection.candidates[0].entry.tier, routing_pb2.MODEL_TIER_UNSPECIFIED)

    def store(self, inp: RouteInput, plan: Plan, outcome: RouteOutcome) -> None:
        policy = inp.constraints.cache
        if self.cache is None or policy.no_store or outcome.completion is None:
            return
        answer = cache_service_pb2.CachedAnswer(
            completion=outcome.completion,
            provider=outcome.provider,
            model=outcome.model,
            cost_micro_usd=outcome.cost_micro_usd,
        )
        self.cache.store_later(inp.chat, inp.tenant, self.cache_tier(plan), answer, policy.ttl_seconds)


def usage_cost(book: PriceBook, candidate: Candidate, usage: chat_pb2.Usage) -> int:
    """Cost from the usage at the current prices (the snapshot's precomputed schedule)."""
    return cost_micro_usd(
        book.current.schedules.get(candidate.entry.key) or candidate.entry,
        usage.prompt_tokens,
        usage.completion_tokens,
        cached_tokens=usage.cached_prompt_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cache_write_long_tokens=usage.cache_write_long_tokens,
    )


def cache_miss_reason(decision_reason: str) -> Reason:
    """The catalogue reason of the cache's semantic decision ("exchanged_word" -> CACHE_EXCHANGED_WORD), so the
    attempt carries the cache's reason; a reason this router does not know (a newer cache's) is CACHE_MISS."""
    return reason_of(f"CACHE_{decision_reason.upper()}") or Reason.CACHE_MISS
