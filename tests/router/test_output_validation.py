"""Cheap answers are checked against the request's rules: JSON, JSON Schema, labels, extraction pattern."""

from __future__ import annotations

import json

from bourse.common.v1 import chat_pb2

from services.router.core.execution.output_validation import OutputRules, OutputValidator

SCHEMA = json.dumps(
    {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"], "additionalProperties": False}
)


def _answer(text: str) -> chat_pb2.ChatCompletion:
    return chat_pb2.ChatCompletion(content=text)


def _rules(fmt: int = 0, schema: str = "", labels: tuple[str, ...] = (), pattern: str = "") -> OutputRules:
    chat = chat_pb2.ChatRequest()
    chat.response_format.type = fmt
    chat.response_format.json_schema = schema
    return OutputRules.from_request(chat, labels, pattern)


def test_text_needs_nothing() -> None:
    rules = _rules()
    assert rules.empty
    assert OutputValidator().check(rules, _answer("anything")).ok


def test_json_schema() -> None:
    validator, rules = OutputValidator(), _rules(chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, SCHEMA)
    assert validator.check(rules, _answer('{"age": 3}')).ok
    fenced = validator.check(rules, _answer('```json\n{"age": 3}\n```'))
    assert fenced.ok and fenced.content == '{"age": 3}'
    wrong_type = validator.check(rules, _answer('{"age": "three"}'))
    assert not wrong_type.ok and "age" in wrong_type.problem
    assert not validator.check(rules, _answer('{"age": 3, "extra": 1}')).ok
    assert not validator.check(rules, _answer("The age is 3")).ok


def test_json_object() -> None:
    validator, rules = OutputValidator(), _rules(chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT)
    assert validator.check(rules, _answer('{"a": 1}')).ok
    assert not validator.check(rules, _answer("[1, 2]")).ok
    assert not validator.check(rules, _answer("{oops")).ok


def test_labels_match_exactly_or_loosely_and_return_the_given_spelling() -> None:
    validator, rules = OutputValidator(), _rules(labels=("Positive", "Negative"))
    assert validator.check(rules, _answer("Positive")).content == "Positive"
    assert validator.check(rules, _answer(' "negative." ')).content == "Negative"
    assert not validator.check(rules, _answer("Neutral")).ok
    assert not validator.check(rules, _answer("Positive, mostly")).ok


def test_extraction_pattern_must_match_the_whole_answer() -> None:
    validator, rules = OutputValidator(), _rules(pattern=r"\d{4}-\d{2}-\d{2}")
    assert validator.check(rules, _answer(" 2026-11-29\n")).ok
    assert not validator.check(rules, _answer("on 2026-11-29")).ok


def test_compiled_rules_are_cached_and_bounded() -> None:
    validator = OutputValidator(max_cached=2)
    for i in range(5):
        assert validator.check(_rules(pattern=rf"x{i}"), _answer(f"x{i}")).ok
    assert len(validator._patterns) == 2


def test_tool_calls_without_text_pass() -> None:
    rules = _rules(chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT)
    answer = chat_pb2.ChatCompletion(tool_calls=[chat_pb2.ToolCall(id="1", name="f", arguments_json="{}")])
    assert OutputValidator().check(rules, answer).ok
