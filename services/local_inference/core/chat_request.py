"""What the local model can honour of a request: text turns, sampling settings and guidance, or field violations."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2
from bourse.inference.v1 import inference_service_pb2 as pb

from services.local_inference.core.chat_template import ChatTurn
from services.local_inference.core.inference import Guidance, Sampling
from shared.errors import FieldViolation, InvalidRequest

_ROLES = {chat_pb2.ROLE_SYSTEM: "system", chat_pb2.ROLE_USER: "user", chat_pb2.ROLE_ASSISTANT: "assistant"}


def chat_turns(chat: chat_pb2.ChatRequest) -> list[ChatTurn]:
    """The conversation as plain turns; anything this text-only model cannot honour is a field violation."""
    violations: list[FieldViolation] = []
    if chat.tools:
        violations.append(FieldViolation("chat.tools", "the local model cannot call tools"))
    turns = []
    for index, message in enumerate(chat.messages):
        path = f"chat.messages[{index}]"
        role = _ROLES.get(message.role)
        if role is None:
            violations.append(FieldViolation(f"{path}.role", "must be system, user or assistant"))
            continue
        if message.tool_calls:
            violations.append(FieldViolation(f"{path}.tool_calls", "the local model cannot call tools"))
        texts = []
        for part_index, part in enumerate(message.content):
            if part.WhichOneof("part") != "text":
                violations.append(FieldViolation(f"{path}.content[{part_index}]", "only text is supported"))
            else:
                texts.append(part.text)
        turns.append(ChatTurn(role=role, content="".join(texts)))
    if not chat.messages:
        violations.append(FieldViolation("chat.messages", "at least one message is required"))
    if violations:
        raise InvalidRequest("the request cannot be served by the local model", violations=violations)
    return turns


def sampling(chat: chat_pb2.ChatRequest) -> Sampling:
    params = chat.sampling
    return Sampling(
        temperature=params.temperature if params.HasField("temperature") else None,
        top_p=params.top_p if params.HasField("top_p") else None,
        max_tokens=params.max_tokens if params.HasField("max_tokens") else None,
        stop=tuple(params.stop),
    )


def guidance(request: pb.GenerateRequest) -> Guidance:
    fmt = request.chat.response_format
    return Guidance(
        pattern=request.output_pattern,
        copy_from_input=request.copy_from_input,
        json_schema=fmt.json_schema if fmt.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA else "",
        json_object=fmt.type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT,
    )
