"""Checks that a cheap model's answer is usable before it is returned; a failure escalates to the next model.

Rules, from the request: a JSON object or JSON Schema response_format (the answer parses, and matches the
schema), classification labels (the answer is exactly one label), an extraction pattern (the whole answer
matches). Compiled schemas and patterns are kept, bounded, so repeated requests compile nothing.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jsonschema
from bourse.common.v1 import chat_pb2

_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n?(.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class OutputRules:
    """What an answer must satisfy. Build with `OutputRules.from_request`; `none` when nothing is required."""

    format_type: int = chat_pb2.RESPONSE_FORMAT_TYPE_UNSPECIFIED
    json_schema: str = ""
    labels: tuple[str, ...] = ()
    pattern: str = ""

    @property
    def empty(self) -> bool:
        return self.format_type in (0, chat_pb2.RESPONSE_FORMAT_TYPE_TEXT) and not self.labels and not self.pattern

    @classmethod
    def from_request(cls, chat: chat_pb2.ChatRequest, labels: tuple[str, ...], pattern: str) -> OutputRules:
        fmt = chat.response_format
        return cls(format_type=fmt.type, json_schema=fmt.json_schema, labels=labels, pattern=pattern)


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    content: str  # the answer, normalised (a label in its given spelling, JSON without a code fence)
    problem: str = ""


class OutputValidator:
    """Validates answers against OutputRules, caching compiled schemas and patterns (LRU, bounded)."""

    def __init__(self, max_cached: int = 256) -> None:
        self._max = max_cached
        self._schemas: OrderedDict[str, jsonschema.protocols.Validator] = OrderedDict()
        self._patterns: OrderedDict[str, re.Pattern[str]] = OrderedDict()

    def check(self, rules: OutputRules, completion: chat_pb2.ChatCompletion) -> Verdict:
        content = completion.content
        if rules.empty:
            return Verdict(True, content)
        if completion.tool_calls and not content:
            return Verdict(True, content)  # a tool call is not the final answer; nothing to check yet
        text = content.strip()
        if rules.labels:
            label = _match_label(text, rules.labels)
            if label is None:
                return Verdict(False, content, f"answer is not one of the {len(rules.labels)} labels")
            text = label
        if rules.pattern and self._pattern(rules.pattern).fullmatch(text) is None:
            return Verdict(False, content, "answer does not match output_pattern")
        if rules.format_type in (chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT, chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA):
            return self._check_json(rules, content, text)
        return Verdict(True, text)

    def _check_json(self, rules: OutputRules, content: str, text: str) -> Verdict:
        fenced = _FENCE.match(text)
        if fenced:
            text = fenced.group(1).strip()
        try:
            value: Any = json.loads(text)
        except ValueError:
            return Verdict(False, content, "answer is not valid JSON")
        if rules.format_type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT and not isinstance(value, dict):
            return Verdict(False, content, "answer is not a JSON object")
        if rules.format_type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
            error = jsonschema.exceptions.best_match(self._schema(rules.json_schema).iter_errors(value))
            if error is not None:
                where = "/".join(str(p) for p in error.absolute_path) or "(root)"
                return Verdict(False, content, f"answer does not match the schema at {where}: {error.message}")
        return Verdict(True, text)

    def _schema(self, text: str) -> jsonschema.protocols.Validator:
        validator = self._schemas.get(text)
        if validator is None:
            schema = json.loads(text)
            cls = jsonschema.validators.validator_for(schema)
            validator = cls(schema)
            self._remember(self._schemas, text, validator)
        else:
            self._schemas.move_to_end(text)
        return validator

    def _pattern(self, text: str) -> re.Pattern[str]:
        pattern = self._patterns.get(text)
        if pattern is None:
            pattern = re.compile(text)
            self._remember(self._patterns, text, pattern)
        else:
            self._patterns.move_to_end(text)
        return pattern

    def _remember(self, cache: OrderedDict[str, Any], key: str, value: Any) -> None:
        cache[key] = value
        if len(cache) > self._max:
            cache.popitem(last=False)


def _match_label(text: str, labels: tuple[str, ...]) -> str | None:
    """The label the answer names: exact, else case-insensitive without quotes or a final period."""
    if text in labels:
        return text
    norm = text.strip().strip("\"'`").rstrip(".").strip().casefold()
    for label in labels:
        if label.casefold() == norm:
            return label
    return None
