"""What an upstream call's span says, in OpenTelemetry's GenAI conventions (names in shared.genai_attributes)."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

from services.provider_adapter.core.provider import Call
from shared import genai_attributes as attr
from shared.instrumentation import Span
from shared.openai_wire import FINISH_TO_WIRE


def describe_call(span: Span, call: Call, dialect: str) -> None:
    span.set_attribute(attr.GEN_AI_OPERATION_NAME, "chat")
    span.set_attribute(attr.GEN_AI_SYSTEM, call.provider)
    span.set_attribute(attr.GEN_AI_PROVIDER_NAME, call.provider)
    span.set_attribute(attr.GEN_AI_REQUEST_MODEL, call.model)
    span.set_attribute("bourse.dialect", dialect)
    if call.request_id:
        span.set_attribute(attr.BOURSE_REQUEST_ID, call.request_id)
    if call.region:
        span.set_attribute(attr.BOURSE_REGION, call.region)
    if call.chat.sampling.HasField("max_tokens"):
        span.set_attribute(attr.GEN_AI_REQUEST_MAX_TOKENS, call.chat.sampling.max_tokens)


def describe_completion(span: Span, call: Call, completion: chat_pb2.ChatCompletion, response_id: str) -> None:
    # The dialects do not report a different answering model, so the response model is the one asked for.
    span.set_attribute(attr.GEN_AI_RESPONSE_MODEL, call.model)
    if response_id:
        span.set_attribute(attr.GEN_AI_RESPONSE_ID, response_id)
    span.set_attribute(attr.GEN_AI_RESPONSE_FINISH_REASONS, FINISH_TO_WIRE.get(completion.finish_reason, "stop"))
    span.set_attribute(attr.GEN_AI_USAGE_INPUT_TOKENS, completion.usage.prompt_tokens)
    span.set_attribute(attr.GEN_AI_USAGE_OUTPUT_TOKENS, completion.usage.completion_tokens)
