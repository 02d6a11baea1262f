"""Span attribute names: OpenTelemetry's GenAI semantic conventions, and Bourse's own under `bourse.`.

Plain strings, so core modules name attributes through `shared.instrumentation` without importing OpenTelemetry.
"""

from __future__ import annotations

# https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/
GEN_AI_OPERATION_NAME = "gen_ai.operation.name"  # "chat", "embeddings"
GEN_AI_SYSTEM = "gen_ai.system"  # the provider: "openai", "anthropic", "bourse-local", ...
GEN_AI_PROVIDER_NAME = "gen_ai.provider.name"  # the newer name of gen_ai.system; both are set
GEN_AI_REQUEST_MODEL = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL = "gen_ai.response.model"
GEN_AI_RESPONSE_ID = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons"
GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"

# Bourse's own.
BOURSE_REQUEST_ID = "bourse.request_id"
BOURSE_TENANT = "bourse.tenant"
BOURSE_TASK_KIND = "bourse.task_kind"
BOURSE_SERVED_FROM = "bourse.served_from"  # "remote", "cache", "local"
BOURSE_COST_MICRO_USD = "bourse.cost_micro_usd"
BOURSE_ATTEMPT_REASON = "bourse.attempt.reason"  # "first", "failover", "hedge"
BOURSE_ATTEMPT_OUTCOME = "bourse.attempt.outcome"  # "success", "error", "invalid_output", "cancelled", "miss"
BOURSE_ERROR_REASON = "bourse.error.reason"  # the catalogue reason of a failed attempt
BOURSE_REGION = "bourse.region"
BOURSE_ATTEMPTS = "bourse.attempts"
