"""Per-provider deviations from a dialect, held as data in the provider registry (never as code branches)."""

from __future__ import annotations

import msgspec

# Neutral request features a provider may be unable to honour. The adapter refuses such a request with
# UpstreamError(reason=UNSUPPORTED_FIELD, metadata field=<name>) instead of silently dropping the field.
FEATURES: frozenset[str] = frozenset(
    {
        "tools",
        "tools.strict",
        "tool_choice.required",
        "tool_choice.named",
        "response_format.json_object",
        "response_format.json_schema",
        "sampling.seed",
        "sampling.stop",
        "sampling.top_p",
        "content.image",
        "content.image_url",
        "message.name",
    }
)


class Quirks(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How one provider differs from its dialect's reference behaviour."""

    # OpenAI dialect: field carrying the output-token limit ("max_tokens" or "max_completion_tokens").
    max_tokens_field: str = "max_tokens"
    # OpenAI dialect: field carrying the sampling seed ("seed"; Mistral calls it "random_seed").
    seed_field: str = "seed"
    # OpenAI dialect: the tool_choice value meaning "must call a tool" ("required"; Mistral says "any").
    tool_choice_required: str = "required"
    # OpenAI dialect: send stream_options.include_usage so the stream ends with a usage chunk.
    stream_usage: bool = True
    # Anthropic dialect: max_tokens is mandatory there; used when the request sets none.
    default_max_tokens: int = 4096
    # Anthropic dialect: value of the anthropic-version header.
    api_version: str = "2023-06-01"
    # Highest temperature the provider accepts (Anthropic: 1.0).
    max_temperature: float = 2.0
    # Features (keys of FEATURES) this provider cannot honour.
    unsupported: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = self.unsupported - FEATURES
        if unknown:
            raise ValueError(f"unknown features in quirks.unsupported: {sorted(unknown)}; known: {sorted(FEATURES)}")
