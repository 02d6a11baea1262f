"""JSON pieces shared by the dialects: encoders created once, schema and argument decoding with clear errors."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from bourse.common.v1 import chat_pb2

from shared.errors import FieldViolation, InvalidRequest, Reason, UpstreamError

ENCODER = msgspec.json.Encoder()
_EMPTY_OBJECT_SCHEMA: dict[str, Any] = {"type": "object", "properties": {}}


def decode_schema(text: str, field: str) -> dict[str, Any]:
    """A JSON Schema given as a string in the neutral request; empty means an argument-less object."""
    if not text:
        return dict(_EMPTY_OBJECT_SCHEMA)
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as error:
        raise InvalidRequest(
            f"{field} is not valid JSON", violations=[FieldViolation(field, f"not valid JSON: {error}")]
        ) from error
    if not isinstance(value, dict):
        raise InvalidRequest(f"{field} must be a JSON object", violations=[FieldViolation(field, "not an object")])
    return value


def decode_arguments(text: str, field: str) -> dict[str, Any]:
    """Tool-call arguments (a JSON object string) for dialects that carry them as objects."""
    if not text:
        return {}
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as error:
        raise InvalidRequest(
            f"{field} is not valid JSON", violations=[FieldViolation(field, f"not valid JSON: {error}")]
        ) from error
    if not isinstance(value, dict):
        raise InvalidRequest(f"{field} must be a JSON object", violations=[FieldViolation(field, "not an object")])
    return value


def decode_body(body: bytes | str) -> Any:
    """A provider's JSON response; anything unparsable is a BAD_RESPONSE."""
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise UpstreamError(f"provider sent invalid JSON: {error}", reason=Reason.BAD_RESPONSE) from error


def image_data_url(image: chat_pb2.ImagePart) -> str:
    """The image as a URL: the given one, or a data: URL built from inline bytes."""
    if image.url:
        return image.url
    return f"data:{image.media_type};base64,{base64.b64encode(image.data).decode()}"


def split_data_url(url: str) -> tuple[str, str] | None:
    """(media type, base64 data) of a data: URL, None for any other URL."""
    if not url.startswith("data:"):
        return None
    header, _, data = url[5:].partition(",")
    media_type = header.split(";", 1)[0]
    return media_type, data


def text_of(message: chat_pb2.Message) -> str:
    """All text parts of a message, joined."""
    return "".join(part.text for part in message.content if part.WhichOneof("part") == "text")
