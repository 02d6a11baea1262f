"""The Anthropic Messages request body the gateway accepts (`POST /v1/messages`), as msgspec Structs.

Decoding is the validation: an unknown role or content block type, or a wrong type anywhere, is a 400 naming the
field's path. Fields Anthropic defines that Bourse does not act on (`top_k`, `thinking`, `service_tier`,
`cache_control`...) are accepted and ignored, so unmodified clients keep working.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from services.gateway.core.openai_types import U32, BourseOptions


class TextBlock(msgspec.Struct, tag_field="type", tag="text"):
    text: str
    cache_control: dict[str, Any] | None = None
    citations: list[dict[str, Any]] | None = None


class Base64Source(msgspec.Struct, tag_field="type", tag="base64"):
    media_type: str
    data: str


class UrlSource(msgspec.Struct, tag_field="type", tag="url"):
    url: str


class ImageBlock(msgspec.Struct, tag_field="type", tag="image"):
    source: Base64Source | UrlSource
    cache_control: dict[str, Any] | None = None


class ToolUseBlock(msgspec.Struct, tag_field="type", tag="tool_use"):
    id: str
    name: str
    input: dict[str, Any]
    cache_control: dict[str, Any] | None = None


class ToolResultBlock(msgspec.Struct, tag_field="type", tag="tool_result"):
    tool_use_id: str
    content: str | list[TextBlock | ImageBlock] | None = None
    is_error: bool | None = None
    cache_control: dict[str, Any] | None = None


ContentBlock = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock


class MessageParam(msgspec.Struct):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlock]


class Tool(msgspec.Struct):
    name: str
    input_schema: dict[str, Any]
    description: str | None = None
    type: Literal["custom"] | None = None  # server tools (web search, bash...) are not Bourse's to run
    cache_control: dict[str, Any] | None = None


class ToolChoiceAuto(msgspec.Struct, tag_field="type", tag="auto"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(msgspec.Struct, tag_field="type", tag="any"):
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(msgspec.Struct, tag_field="type", tag="tool"):
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(msgspec.Struct, tag_field="type", tag="none"):
    pass


class JsonOutputFormat(msgspec.Struct, tag_field="type", tag="json_schema"):
    schema: dict[str, Any]


class OutputConfig(msgspec.Struct):
    """Structured output: the answer is JSON matching `format.schema`."""

    format: JsonOutputFormat | None = None
    effort: str | None = None


class Metadata(msgspec.Struct):
    user_id: str | None = None


class MessagesRequest(msgspec.Struct):
    model: str
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=2**32 - 1)]
    messages: list[MessageParam]
    system: str | list[TextBlock] | None = None
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=1)] | None = None
    top_p: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    top_k: U32 | None = None
    metadata: Metadata | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone | None = None
    output_config: OutputConfig | None = None
    bourse: BourseOptions | None = None
