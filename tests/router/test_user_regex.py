"""User regexes run on RE2 or are refused; JSON Schema checks of answers use RE2 and stop at their budget."""

from __future__ import annotations

import json

import pytest
from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb

from services.router.core.execution.output_validation import OutputRules, OutputValidator
from services.router.core.execution.request_validation import validate_request
from services.router.core.execution.user_regex import MAX_PATTERN_CHARS, PatternCompiler, UnsafePattern
from shared.errors import InvalidRequest

CATASTROPHIC = "a" * 50_000 + "!"  # Python's re needs ~2^50000 steps for (a+)+$ on this


def _schema_rules(schema: object) -> OutputRules:
    return OutputRules(format_type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=json.dumps(schema))


def _answer(text: str) -> chat_pb2.ChatCompletion:
    return chat_pb2.ChatCompletion(content=text)


def _nested(keyword: str, levels: int) -> dict[str, object]:
    schema: dict[str, object] = {}
    for _ in range(levels):
        schema = {keyword: schema}
    return schema


def _violations(constraints: pb.RoutingConstraints, fmt: chat_pb2.ResponseFormat | None = None) -> dict[str, str]:
    chat = chat_pb2.ChatRequest(
        messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="x")])],
        response_format=fmt or chat_pb2.ResponseFormat(),
    )
    with pytest.raises(InvalidRequest) as caught:
        validate_request(chat, constraints, pb.RequestContext(), has_chat=True, knows_model=lambda _: True)
    return {v.field: v.description for v in caught.value.violations}


@pytest.mark.timeout(20)  # a backtracking engine would hang here, not fail
def test_nested_quantifiers_on_50k_characters_do_not_backtrack() -> None:
    verdict = OutputValidator().check(OutputRules(pattern=r"(a+)+$"), _answer(CATASTROPHIC))
    assert not verdict.ok and verdict.problem == "answer does not match output_pattern"
    assert OutputValidator().check(OutputRules(pattern=r"(a+)+!"), _answer(CATASTROPHIC)).ok


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [(r"(a)\1", "invalid escape"), (r"(?=a)a", "invalid perl operator"), ("(", "missing )"), ("a{1001}", "repetition")],
)
def test_what_re2_cannot_run_is_refused_with_the_reason(pattern: str, reason: str) -> None:
    got = _violations(pb.RoutingConstraints(output_pattern=pattern))
    assert reason in got["constraints.output_pattern"] and "RE2" in got["constraints.output_pattern"]


def test_an_overlong_pattern_is_refused_and_compiles_are_cached() -> None:
    compiler = PatternCompiler(max_cached=2)
    with pytest.raises(UnsafePattern, match="longer than"):
        compiler.compile("a" * (MAX_PATTERN_CHARS + 1))
    first = compiler.compile("x+")
    assert compiler.compile("x+") is first and len(compiler) == 1


def test_schema_patterns_are_checked_at_the_door() -> None:
    schema = {"type": "object", "properties": {"id": {"type": "string", "pattern": r"(?<=a)b"}}}
    fmt = chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=json.dumps(schema))
    got = _violations(pb.RoutingConstraints(), fmt)["chat.response_format.json_schema"]
    assert got.startswith("/properties/id/pattern: pattern refused")


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"$ref": "http://127.0.0.1:9/schema.json"}, "only local references"),
        ({"type": "nope"}, "not a valid schema"),
        ({"patternProperties": {"a": {}}, "unevaluatedProperties": False}, "unevaluatedProperties"),
        ({"not": {"$ref": "#"}}, "never reaches into the answer"),
        ({"anyOf": [{"$ref": "#/anyOf/1"}, {"$ref": "#/anyOf/0"}]}, "never reaches into the answer"),
        (_nested("items", 80), "JSON nested deeper than 32 levels"),  # shared/input_bounds.py, before parsing
    ],
)
def test_schemas_that_would_fetch_break_or_backtrack_are_refused(schema: object, problem: str) -> None:
    fmt = chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=json.dumps(schema))
    assert problem in _violations(pb.RoutingConstraints(), fmt)["chat.response_format.json_schema"]


@pytest.mark.timeout(20)
def test_schema_regexes_run_on_re2_for_values_and_property_names() -> None:
    validator = OutputValidator()
    on_values = _schema_rules({"type": "object", "properties": {"s": {"type": "string", "pattern": r"^(a+)+$"}}})
    verdict = validator.check(on_values, _answer(json.dumps({"s": CATASTROPHIC})))
    assert not verdict.ok and "does not match" in verdict.problem
    on_names = _schema_rules({"type": "object", "patternProperties": {r"^(a+)+$": {}}, "additionalProperties": False})
    verdict = validator.check(on_names, _answer(json.dumps({CATASTROPHIC: 1})))
    assert not verdict.ok and "Additional properties are not allowed" in verdict.problem
    assert validator.check(on_names, _answer(json.dumps({"aaaa": 1}))).ok


@pytest.mark.timeout(20)  # jsonschema's own uniqueItems takes minutes on this answer
def test_unique_items_is_linear_and_follows_json_equality() -> None:
    rules = _schema_rules({"type": "array", "uniqueItems": True})
    validator = OutputValidator(schema_budget_s=10.0)
    assert validator.check(rules, _answer(json.dumps([{"n": i, "m": [i]} for i in range(50_000)]))).ok
    assert not validator.check(rules, _answer('[{"a": 1, "b": [1.0]}, {"b": [1], "a": 1.0}]')).ok
    assert validator.check(rules, _answer("[true, 1, null, 0, false]")).ok


def test_a_schema_check_past_its_budget_fails_the_answer() -> None:
    rules = _schema_rules({"type": "array", "items": {"anyOf": [{"type": "object"}, {"type": "array"}]}})
    answer = _answer(json.dumps([{"n": i} for i in range(3000)]))
    assert OutputValidator(schema_budget_s=10.0).check(rules, answer).ok
    verdict = OutputValidator(schema_budget_s=0.0).check(rules, answer)
    assert not verdict.ok and verdict.problem == "schema check took over 0 ms"


def test_a_schema_that_cannot_judge_fails_the_answer_not_the_router() -> None:
    validator = OutputValidator()
    for schema, why in (({"$ref": "#"}, "loop"), ({"$ref": "#/nope"}, "nope")):
        verdict = validator.check(_schema_rules(schema), _answer("{}"))
        assert not verdict.ok and verdict.problem.startswith("schema unusable") and why in verdict.problem


def test_recursive_schemas_that_descend_are_fine_and_deep_answers_fail_cleanly() -> None:
    tree = {"type": "array", "items": {"$ref": "#"}}
    fmt = chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=json.dumps(tree))
    chat = chat_pb2.ChatRequest(
        messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="x")])],
        response_format=fmt,
    )
    validate_request(chat, pb.RoutingConstraints(), pb.RequestContext(), has_chat=True, knows_model=lambda _: True)
    validator = OutputValidator()
    assert validator.check(_schema_rules(tree), _answer("[[[]], []]")).ok
    deep = validator.check(_schema_rules(tree), _answer("[" * 100 + "]" * 100))
    assert deep.problem == "answer JSON is nested deeper than 64 levels"
    deeper = validator.check(_schema_rules(tree), _answer("[" * 100_000 + "]" * 100_000))
    assert deeper.problem == "answer JSON is nested too deeply"
