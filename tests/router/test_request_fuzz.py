"""Property: any Route request the wire can carry is either accepted or refused as INVALID_ARGUMENT by the
router's validation, and answers to an accepted one are judged (a Verdict), never an unexpected exception.
User regexes and JSON Schemas come partly from a list built to backtrack or to break a validator."""

from __future__ import annotations

import json

from bourse.common.v1 import chat_pb2, routing_pb2
from bourse.router.v1 import router_service_pb2 as pb
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.router.core.execution.output_validation import OutputRules, OutputValidator
from services.router.core.execution.request_validation import validate_request
from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.profile import profile_from_request
from shared.errors import BourseError, Kind
from tests.support.fuzz import fuzz_examples

KNOWN = frozenset({"openai/gpt-4.1-mini", "gpt-4.1-mini"})
NASTY_PATTERNS = [
    r"(a+)+$",
    r"(a|aa)+$",
    r"(\w+\s?)+!",
    r"(a)\1",
    r"(?=a)a",
    r"(?<!b)a",
    r"a{1001}",
    r"[",
    r"(?P<x>a)(?P=x)",
    r"\d{4}-\d{2}-\d{2}",
    "",
    r".*",
]
_patterns = st.sampled_from(NASTY_PATTERNS) | st.text(max_size=12)
_json_leaf = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8)
_schemas = st.recursive(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["object", "string", "array", "integer", "nope", 5]),
            "pattern": _patterns,
            "minLength": st.integers(-1, 3) | st.text(max_size=2),
            "enum": st.lists(_json_leaf, max_size=3),
            "$ref": st.sampled_from(["#", "#/nope", "http://127.0.0.1:9/x.json", "urn:x"]),
            "additionalProperties": st.booleans(),
            "unevaluatedProperties": st.booleans(),
            "uniqueItems": st.booleans(),
            "format": st.sampled_from(["regex", "email", "date"]),
        },
    ),
    lambda children: st.fixed_dictionaries(
        {},
        optional={
            "properties": st.dictionaries(st.text(max_size=4), children, max_size=3),
            "patternProperties": st.dictionaries(_patterns, children, max_size=2),
            "items": children,
            "anyOf": st.lists(children, max_size=3),
            "not": children,
        },
    ),
    max_leaves=8,
)
_schema_text = _schemas.map(json.dumps) | st.text(max_size=16)
_content = st.builds(chat_pb2.ContentPart, text=st.text(max_size=40))
_user = st.builds(
    chat_pb2.Message, role=st.just(chat_pb2.ROLE_USER), content=st.lists(_content, min_size=1, max_size=2)
)
_any_message = st.builds(
    chat_pb2.Message,
    role=st.sampled_from([*chat_pb2.Role.values(), 99]),
    content=st.lists(_content, max_size=3),
    name=st.text(max_size=8),
)
_messages = st.lists(_user, min_size=1, max_size=2) | st.lists(_any_message, max_size=4)
_formats = st.builds(
    chat_pb2.ResponseFormat,
    type=st.sampled_from([chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, *chat_pb2.ResponseFormatType.values(), 42]),
    json_schema=_schema_text,
)
_chats = st.builds(chat_pb2.ChatRequest, messages=_messages, response_format=_formats)
_constraints = st.builds(
    pb.RoutingConstraints,
    task_kind=st.sampled_from([*routing_pb2.TaskKind.values(), 77]),
    max_cost_micro_usd=st.integers(-1, 2**40),
    min_quality=st.floats(-0.1, 1, allow_nan=False),
    max_attempts=st.integers(0, 12),
    labels=st.just([]) | st.lists(st.text(max_size=6), max_size=3),
    output_pattern=_patterns,
    allowed_models=st.lists(st.sampled_from([*KNOWN, "nope/x", ""]), max_size=2),
)
_contexts = st.builds(
    pb.RequestContext,
    request_id=st.text(max_size=130),
    tenant_id=st.sampled_from(["acme", "*", ">", "a.b", ""]),
    metadata=st.dictionaries(st.text(max_size=66), st.text(max_size=20), max_size=2),
)
_answers = st.sampled_from(
    ["a" * 50_000 + "!", '{"a": "aaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}', "```json\n[1, 1]\n```"]
) | st.text(max_size=60)


@settings(max_examples=fuzz_examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chat=_chats, constraints=_constraints, context=_contexts, answer=_answers)
def test_any_request_is_accepted_or_invalid_and_answers_are_judged(
    chat: chat_pb2.ChatRequest, constraints: pb.RoutingConstraints, context: pb.RequestContext, answer: str
) -> None:
    validator = OutputValidator()
    try:
        validate_request(
            chat, constraints, context, has_chat=True, knows_model=KNOWN.__contains__, patterns=validator.patterns
        )
        profile_from_request(chat, constraints, TokenEstimator())
    except BourseError as error:
        assert error.kind is Kind.INVALID_ARGUMENT, error
        return
    rules = OutputRules.from_request(chat, tuple(constraints.labels), constraints.output_pattern)
    event("accepted, answer judged")
    verdict = validator.check(rules, chat_pb2.ChatCompletion(content=answer))
    assert verdict.ok or verdict.problem


@settings(max_examples=fuzz_examples(60), deadline=None)
@given(raw=st.binary(max_size=200))
def test_any_wire_bytes_decode_or_fail_cleanly(raw: bytes) -> None:
    from google.protobuf.message import DecodeError

    try:
        request = pb.RouteRequest.FromString(raw)
    except DecodeError:
        return
    try:
        validate_request(
            request.chat,
            request.constraints,
            request.context,
            has_chat=request.HasField("chat"),
            knows_model=KNOWN.__contains__,
        )
    except BourseError as error:
        assert error.kind is Kind.INVALID_ARGUMENT


@settings(max_examples=fuzz_examples(90), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_schema_text, answer=_answers)
def test_any_schema_is_refused_at_the_door_or_judges_answers(schema: str, answer: str) -> None:
    chat = chat_pb2.ChatRequest(
        messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="x")])],
        response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=schema),
    )
    validator = OutputValidator()
    try:
        validate_request(
            chat, pb.RoutingConstraints(), pb.RequestContext(), has_chat=True, knows_model=KNOWN.__contains__
        )
    except BourseError as error:
        assert error.kind is Kind.INVALID_ARGUMENT
        return
    event("schema accepted")
    verdict = validator.check(OutputRules.from_request(chat, (), ""), chat_pb2.ChatCompletion(content=answer))
    assert verdict.ok or verdict.problem
