"""The OpenAI Responses request body the gateway accepts (`POST /v1/responses`), as msgspec Structs.

`input` items are decoded one by one (`responses_api.input_items`) because OpenAI lets a message item leave out
its `type`. Fields that need stored state (`previous_response_id`, `conversation`, `background`) are refused in
`responses_api`; fields Bourse does not act on (`reasoning`, `truncation`, `include`, `service_tier`...) are accepted
and ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from services.gateway.core.openai_types import U32, BourseOptions, JsonObjectFormat, TextFormat


class InputText(msgspec.Struct, tag_field="type", tag="input_text"):
    text: str


class InputImage(msgspec.Struct, tag_field="type", tag="input_image"):
    image_url: str | None = None
    file_id: str | None = None
    detail: str | None = None


class OutputText(msgspec.Struct, tag_field="type", tag="output_text"):
    """Assistant text handed back as input (a previous answer's output item)."""

    text: str
    annotations: list[Any] | None = None


class Refusal(msgspec.Struct, tag_field="type", tag="refusal"):
    refusal: str


class MessageItem(msgspec.Struct, tag_field="type", tag="message"):
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[InputText | InputImage | OutputText | Refusal]
    id: str | None = None
    status: str | None = None


class FunctionCallItem(msgspec.Struct, tag_field="type", tag="function_call"):
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: str | None = None


class FunctionCallOutputItem(msgspec.Struct, tag_field="type", tag="function_call_output"):
    call_id: str
    output: str | list[InputText | InputImage]
    id: str | None = None
    status: str | None = None


InputItem = MessageItem | FunctionCallItem | FunctionCallOutputItem
INPUT_ITEM_TYPES = frozenset({"message", "function_call", "function_call_output"})


class FunctionTool(msgspec.Struct):
    type: Literal["function"]
    name: str
    parameters: dict[str, Any] | None = None
    strict: bool | None = None
    description: str | None = None


class NamedFunctionChoice(msgspec.Struct):
    type: Literal["function"]
    name: str


class JsonSchemaTextFormat(msgspec.Struct, tag_field="type", tag="json_schema"):
    """Responses' flat json_schema format (chat completions nest it under `json_schema`)."""

    name: str
    schema: dict[str, Any]
    strict: bool | None = None
    description: str | None = None


class TextConfig(msgspec.Struct):
    format: TextFormat | JsonObjectFormat | JsonSchemaTextFormat | None = None
    verbosity: str | None = None


class ResponsesRequest(msgspec.Struct):
    model: str
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedFunctionChoice | None = None
    text: TextConfig | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    max_output_tokens: U32 | None = None
    stream: bool | None = None
    store: bool | None = None
    background: bool | None = None
    previous_response_id: str | None = None
    conversation: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None
    user: str | None = None
    bourse: BourseOptions | None = None
