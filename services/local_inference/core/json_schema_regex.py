"""The JSON Schema subset that guided decoding follows, as one regular expression over compact JSON.

Supported: `type` object (declared `properties`, every one emitted in declared order, so `required` always holds;
without `properties`, a flat object of scalar values), array (`items`), string, number, integer, boolean, null,
a list of those types, `enum` and `const` of scalars. Annotations (title, description, default, examples,
$schema, $id, $comment) and `additionalProperties: false` are accepted and ignored. Any other keyword (anyOf,
$ref, pattern, minLength, minimum, format, ...) raises GuidanceUnsupported: the router escalates to a model that
honours it. A separator may carry one space (`{"a": 1, "b": 2}`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from services.local_inference.core.constraints import GuidanceUnsupported
from shared.errors import FieldViolation, InvalidRequest

FIELD = "chat.response_format.json_schema"
MAX_SCHEMA_BYTES = 16_384
MAX_DEPTH = 6
MAX_REGEX_CHARS = 20_000

_IGNORED = frozenset({"title", "description", "default", "examples", "$schema", "$id", "$comment"})
_KNOWN = frozenset({"type", "properties", "required", "items", "enum", "const"})
_STRING = r'"([^"\\\x00-\x1f]|\\["\\/bfnrt])*"'
_INTEGER = r"-?(0|[1-9][0-9]*)"
_NUMBER = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
_SCALARS = {"string": _STRING, "integer": _INTEGER, "number": _NUMBER, "boolean": "(true|false)", "null": "null"}
_ANY_SCALAR = "(" + "|".join(_SCALARS.values()) + ")"
_SEP = ", ?"
_COLON = ": ?"


def parse_schema(text: str) -> dict[str, Any]:
    """The schema as a dict; InvalidRequest for text that is not a JSON object or is too large."""
    if len(text.encode()) > MAX_SCHEMA_BYTES:
        raise InvalidRequest(
            f"the JSON Schema is larger than {MAX_SCHEMA_BYTES} bytes",
            violations=[FieldViolation(FIELD, f"at most {MAX_SCHEMA_BYTES} bytes")],
        )
    try:
        schema = json.loads(text)
    except ValueError as error:
        raise InvalidRequest(
            f"the JSON Schema is not valid JSON: {error}", violations=[FieldViolation(FIELD, "not valid JSON")]
        ) from None
    if not isinstance(schema, dict):
        raise InvalidRequest(
            "the JSON Schema must be a JSON object", violations=[FieldViolation(FIELD, "must be an object")]
        )
    return schema


def schema_regex(schema: dict[str, Any]) -> str:
    regex = _node(schema, "#", 0)
    if len(regex) > MAX_REGEX_CHARS:
        raise GuidanceUnsupported("the JSON Schema is too large for guided decoding")
    return regex


def flat_object_regex() -> str:
    """Any JSON object whose values are scalars (RESPONSE_FORMAT_TYPE_JSON_OBJECT)."""
    pair = _STRING + _COLON + _ANY_SCALAR
    return r"\{(" + pair + "(" + _SEP + pair + ")*)?" + r"\}"


def _node(schema: Any, where: str, depth: int) -> str:
    if not isinstance(schema, dict):
        raise GuidanceUnsupported(f"{where}: a schema that is not an object (for example `true`) is not supported")
    if depth > MAX_DEPTH:
        raise GuidanceUnsupported(f"{where}: nested deeper than {MAX_DEPTH} levels")
    keys = set(schema) - _IGNORED
    if schema.get("additionalProperties") is False:
        keys.discard("additionalProperties")
    _only(keys, _KNOWN, where)
    if "enum" in schema or "const" in schema:
        return _choices(schema, keys, where)
    kind = schema.get("type")
    if isinstance(kind, list):
        _only(keys, {"type"}, where)
        return "(" + "|".join(_typed(k, {"type": k}, {"type"}, where, depth) for k in kind) + ")"
    if not isinstance(kind, str):
        raise GuidanceUnsupported(f"{where}: a schema without a `type` (or enum/const) is not supported")
    return _typed(kind, schema, keys, where, depth)


def _typed(kind: Any, schema: dict[str, Any], keys: set[str], where: str, depth: int) -> str:
    if kind in _SCALARS:
        _only(keys, {"type"}, where)
        return _SCALARS[kind]
    if kind == "array":
        _only(keys, {"type", "items"}, where)
        item = _node(schema["items"], f"{where}/items", depth + 1) if "items" in schema else _ANY_SCALAR
        return r"\[(" + item + "(" + _SEP + item + ")*)?" + r"\]"
    if kind == "object":
        _only(keys, {"type", "properties", "required"}, where)
        properties = schema.get("properties")
        if not properties:
            return flat_object_regex()
        if not isinstance(properties, dict):
            raise GuidanceUnsupported(f"{where}/properties must be an object")
        missing = set(schema.get("required", ())) - set(properties)
        if missing:
            raise GuidanceUnsupported(f"{where}: required names undeclared properties {sorted(missing)}")
        pairs = [
            re.escape(json.dumps(name)) + _COLON + _node(sub, f"{where}/properties/{name}", depth + 1)
            for name, sub in properties.items()
        ]
        return r"\{" + _SEP.join(pairs) + r"\}"
    raise GuidanceUnsupported(f"{where}: type {kind!r} is not supported")


def _choices(schema: dict[str, Any], keys: set[str], where: str) -> str:
    _only(keys, {"enum", "const", "type"}, where)
    values = schema["enum"] if "enum" in schema else [schema["const"]]
    if not isinstance(values, list) or not values:
        raise GuidanceUnsupported(f"{where}: enum must be a non-empty list")
    if any(isinstance(value, dict | list) for value in values):
        raise GuidanceUnsupported(f"{where}: enum values must be scalars")
    return "(" + "|".join(re.escape(json.dumps(value)) for value in values) + ")"


def _only(keys: set[str], allowed: set[str] | frozenset[str], where: str) -> None:
    extra = sorted(keys - allowed)
    if extra:
        raise GuidanceUnsupported(f"{where}: keyword {extra[0]!r} is beyond the guided-decoding subset")
