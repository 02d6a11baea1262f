"""Checks that a cheap model's answer is usable before it is returned; a failure escalates to the next model.

Rules, from the request: a JSON object or JSON Schema response_format (the answer parses, and matches the
schema), classification labels (the answer is exactly one label), an extraction pattern (the whole answer
matches). Compiled schemas and patterns are kept, bounded, so repeated requests compile nothing.
Patterns run on RE2 (linear time); a schema check stops after `schema_budget_s` and fails the answer.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bourse.common.v1 import chat_pb2

from services.router.core.execution.schema_check import (
    BoundedSchema,
    SchemaTimeout,
    SchemaUnusable,
    nested_deeper_than,
)
from services.router.core.execution.user_regex import PatternCompiler, UnsafePattern

MAX_ANSWER_DEPTH = 64
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

    def __init__(self, max_cached: int = 256, schema_budget_s: float = 0.05) -> None:
        self._max = max_cached
        self._schema_budget_s = schema_budget_s
        self._schemas: OrderedDict[str, BoundedSchema] = OrderedDict()
        self.patterns = PatternCompiler(max_cached)

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
        problem = self._pattern_problem(rules.pattern, text) if rules.pattern else ""
        if problem:
            return Verdict(False, content, problem)
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
        except RecursionError:  # "[[[[...": nested deeper than the parser goes
            return Verdict(False, content, "answer JSON is nested too deeply")
        if rules.format_type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT and not isinstance(value, dict):
            return Verdict(False, content, "answer is not a JSON object")
        if rules.format_type == chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA:
            problem = self._schema_problem(rules.json_schema, value)
            if problem:
                return Verdict(False, content, problem)
        return Verdict(True, text)

    def _schema_problem(self, schema: str, value: Any) -> str:
        if nested_deeper_than(value, MAX_ANSWER_DEPTH):  # jsonschema recurses per level of the answer
            return f"answer JSON is nested deeper than {MAX_ANSWER_DEPTH} levels"
        try:
            error = self._schema(schema).best_error(value, self._schema_budget_s)
        except SchemaTimeout:
            return f"schema check took over {self._schema_budget_s * 1000:.0f} ms"
        except (UnsafePattern, SchemaUnusable) as refused:
            return f"schema unusable: {refused}"
        if error is None:
            return ""
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"answer does not match the schema at {where}: {error.message}"

    def _pattern_problem(self, pattern: str, text: str) -> str:
        try:
            matched = self.patterns.compile(pattern).fullmatch(text) is not None
        except UnsafePattern as error:
            return f"output_pattern refused: {error}"
        return "" if matched else "answer does not match output_pattern"

    def _schema(self, text: str) -> BoundedSchema:
        validator = self._schemas.get(text)
        if validator is None:
            validator = BoundedSchema(json.loads(text), self.patterns)
            self._schemas[text] = validator
            if len(self._schemas) > self._max:
                self._schemas.popitem(last=False)
        else:
            self._schemas.move_to_end(text)
        return validator


def _match_label(text: str, labels: tuple[str, ...]) -> str | None:
    """The label the answer names: exact, else case-insensitive without quotes or a final period."""
    if text in labels:
        return text
    norm = text.strip().strip("\"'`").rstrip(".").strip().casefold()
    for label in labels:
        if label.casefold() == norm:
            return label
    return None
