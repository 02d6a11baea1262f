"""The OpenAI request bodies the gateway accepts, as msgspec Structs.

Decoding into these types is the validation: a wrong type anywhere becomes a 400 naming the field's path.
Fields OpenAI defines that Bourse does not act on (penalties, logit_bias, parallel_tool_calls...) are accepted
and ignored, so unmodified clients keep working; fields that would change the answer's shape and cannot be
honoured (logprobs, n beyond 16) are rejected in `chat_translation`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

U32 = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
I64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Fraction = Annotated[float, msgspec.Meta(ge=0, le=1)]


class TextPart(msgspec.Struct, tag_field="type", tag="text"):
    text: str


class ImageUrl(msgspec.Struct):
    url: str
    detail: str | None = None


class ImagePart(msgspec.Struct, tag_field="type", tag="image_url"):
    image_url: ImageUrl


class FunctionCall(msgspec.Struct):
    name: str
    arguments: str


class ToolCallIn(msgspec.Struct):
    id: str
    function: FunctionCall
    type: Literal["function"] = "function"


class ChatMessage(msgspec.Struct):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart | ImagePart] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None


class FunctionDefinition(msgspec.Struct):
    name: str
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDefinition(msgspec.Struct):
    function: FunctionDefinition
    type: Literal["function"] = "function"


class NamedFunction(msgspec.Struct):
    name: str


class NamedToolChoice(msgspec.Struct):
    function: NamedFunction
    type: Literal["function"] = "function"


class TextFormat(msgspec.Struct, tag_field="type", tag="text"):
    pass


class JsonObjectFormat(msgspec.Struct, tag_field="type", tag="json_object"):
    pass


class JsonSchemaSpec(msgspec.Struct):
    name: str
    schema: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


class JsonSchemaFormat(msgspec.Struct, tag_field="type", tag="json_schema"):
    json_schema: JsonSchemaSpec


class StreamOptions(msgspec.Struct):
    include_usage: bool = False


class CacheOptions(msgspec.Struct, forbid_unknown_fields=True):
    """Bourse's cache control for one request."""

    no_cache: bool | None = None
    no_store: bool | None = None
    ttl_seconds: U32 | None = None
    min_similarity: Fraction | None = None


class BourseOptions(msgspec.Struct, forbid_unknown_fields=True):
    """Routing constraints of the gRPC API, from the `bourse` body object or `x-bourse-*` headers.

    Every field is optional; None means "not given here" so that sources can be layered
    (alias < headers < body).
    """

    task_kind: str | None = None
    max_cost_usd: NonNegative | None = None
    latency_budget_ms: U32 | None = None
    required_capabilities: list[str] | None = None
    min_tier: str | None = None
    min_quality: Fraction | None = None
    # "balanced" (the cheapest model whose estimated quality meets the target) or "cheapest" (any estimate).
    quality: str | None = None
    # The chance of an acceptable answer the chosen model must reach (balanced only); unset: the router's target.
    quality_target: Fraction | None = None
    allowed_models: list[str] | None = None
    denied_models: list[str] | None = None
    allowed_providers: list[str] | None = None
    denied_providers: list[str] | None = None
    regions: list[str] | None = None
    residency_tags: list[str] | None = None
    cache: CacheOptions | None = None
    background: bool | None = None
    max_attempts: U32 | None = None
    no_local: bool | None = None
    hedge: bool | None = None
    labels: list[str] | None = None
    output_pattern: str | None = None
    request_id: str | None = None
    metadata: dict[str, str] | None = None


class ChatCompletionRequest(msgspec.Struct):
    model: str
    messages: list[ChatMessage]
    tools: list[ToolDefinition] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    response_format: TextFormat | JsonObjectFormat | JsonSchemaFormat | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    max_tokens: U32 | None = None
    max_completion_tokens: U32 | None = None
    stop: str | list[str] | None = None
    seed: I64 | None = None
    n: int | None = None
    logprobs: bool | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    bourse: BourseOptions | None = None


class EmbeddingRequest(msgspec.Struct):
    input: str | list[str]
    model: str
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: int | None = None
    user: str | None = None
