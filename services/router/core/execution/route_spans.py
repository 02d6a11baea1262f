"""What the router's spans say about a request, its attempts and its outcome, in the GenAI conventions.

Spans are opened through `shared.instrumentation` (OpenTelemetry at the edge when tracing is on, nothing when
off); this module only names attributes, so the ladder stays readable.
"""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

from services.router.core.execution.route_types import RouteInput, RouteOutcome
from services.router.core.selection.selection import Candidate
from shared import genai_attributes as attr
from shared.instrumentation import Span

ROUTE = "route"
CACHE_LOOKUP = "cache_lookup"
LOCAL_ATTEMPT = "local_attempt"
PROVIDER_ATTEMPT = "provider_attempt"

# Why a provider attempt was made: the first choice, after an error, after an answer that failed validation,
# or as the second leg of a hedge.
FIRST, FAILOVER, ESCALATION, HEDGE = "first", "failover", "escalation", "hedge"


def attempt_reason(outcome: RouteOutcome) -> str:
    """Why the next remote attempt is made, from the attempts so far."""
    for attempt in reversed(outcome.attempts):
        if attempt.served_from == "remote":
            return ESCALATION if attempt.outcome == "invalid_output" else FAILOVER
    return FIRST


def describe_request(span: Span, inp: RouteInput) -> None:
    span.set_attribute(attr.GEN_AI_OPERATION_NAME, "chat")
    span.set_attribute(attr.BOURSE_REQUEST_ID, inp.request_id)
    span.set_attribute(attr.BOURSE_TENANT, inp.tenant)
    if len(inp.constraints.allowed_models) == 1:  # a named model (or an alias resolved to one)
        span.set_attribute(attr.GEN_AI_REQUEST_MODEL, inp.constraints.allowed_models[0])
    if inp.chat.sampling.HasField("max_tokens"):
        span.set_attribute(attr.GEN_AI_REQUEST_MAX_TOKENS, inp.chat.sampling.max_tokens)


def describe_outcome(span: Span, outcome: RouteOutcome) -> None:
    span.set_attribute(attr.BOURSE_SERVED_FROM, outcome.served_from)
    span.set_attribute(attr.BOURSE_COST_MICRO_USD, outcome.cost_micro_usd)
    span.set_attribute(attr.BOURSE_ATTEMPTS, len(outcome.attempts))
    span.set_attribute(attr.BOURSE_TASK_KIND, outcome.task_kind)
    if outcome.model:
        span.set_attribute(attr.GEN_AI_SYSTEM, outcome.provider)
        span.set_attribute(attr.GEN_AI_PROVIDER_NAME, outcome.provider)
        span.set_attribute(attr.GEN_AI_RESPONSE_MODEL, outcome.model)
    if outcome.completion is not None:
        describe_usage(span, outcome.completion.usage)


def describe_candidate(span: Span, candidate: Candidate, reason: str) -> None:
    span.set_attribute(attr.GEN_AI_OPERATION_NAME, "chat")
    span.set_attribute(attr.GEN_AI_SYSTEM, candidate.provider)
    span.set_attribute(attr.GEN_AI_PROVIDER_NAME, candidate.provider)
    span.set_attribute(attr.GEN_AI_REQUEST_MODEL, candidate.model)
    span.set_attribute(attr.BOURSE_ATTEMPT_REASON, reason)
    if candidate.region:
        span.set_attribute(attr.BOURSE_REGION, candidate.region)


def describe_answer(span: Span, model: str, usage: chat_pb2.Usage, cost_micro_usd: int) -> None:
    span.set_attribute(attr.GEN_AI_RESPONSE_MODEL, model)
    span.set_attribute(attr.BOURSE_ATTEMPT_OUTCOME, "success")
    span.set_attribute(attr.BOURSE_COST_MICRO_USD, cost_micro_usd)
    describe_usage(span, usage)


def describe_usage(span: Span, usage: chat_pb2.Usage) -> None:
    span.set_attribute(attr.GEN_AI_USAGE_INPUT_TOKENS, usage.prompt_tokens)
    span.set_attribute(attr.GEN_AI_USAGE_OUTPUT_TOKENS, usage.completion_tokens)


def describe_tier_attempt(span: Span, outcome: RouteOutcome, before: int) -> None:
    """The cache or local attempt the tier appended to `outcome.attempts` (if any)."""
    for attempt in outcome.attempts[before:]:
        span.set_attribute(attr.BOURSE_SERVED_FROM, attempt.served_from)
        span.set_attribute(attr.BOURSE_ATTEMPT_OUTCOME, attempt.outcome)
        if attempt.model:
            span.set_attribute(attr.GEN_AI_RESPONSE_MODEL, attempt.model)
        if attempt.error_reason:
            span.set_attribute(attr.BOURSE_ERROR_REASON, attempt.error_reason)
