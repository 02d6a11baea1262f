"""Guided decoding: the constraints on their own, then on the tiny random model (whose free answers are noise,
so every token the constraint refuses is corrected), then over real gRPC with every bad-input path."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import grpc
import jsonschema
import pytest
from bourse.common.v1 import chat_pb2
from bourse.inference.v1 import inference_service_pb2 as pb

from services.local_inference.core.chat_template import ChatTurn
from services.local_inference.core.constraints import (
    ChoiceConstraint,
    GuidanceUnsupported,
    RegexConstraint,
    SpanConstraint,
)
from services.local_inference.core.engine import LocalModel
from services.local_inference.core.inference import Guidance, Limits, LocalInference, Sampling
from services.local_inference.core.json_schema_regex import parse_schema, schema_regex
from services.local_inference.core.scheduler import Scheduler, SchedulerOptions
from shared.errors import BourseError, InvalidRequest
from shared.grpc_errors import from_rpc_error
from tests.local_inference.conftest import RunningService
from tests.support.requests import chat as user_chat

PERSON = {
    "type": "object",
    "title": "a person",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
        "score": {"type": ["number", "null"]},
        "ok": {"type": "boolean"},
    },
    "required": ["name", "age"],
    "additionalProperties": False,
}


def _walk(constraint: Any, text: str) -> Any:
    state = constraint.start()
    for char in text:
        state = constraint.advance(state, char)
        if state is None:
            return None
    return state


# ---- constraints ----------------------------------------------------------------------------------------------
def test_regex_constraint_follows_the_pattern_and_prunes_dead_ends() -> None:
    c = RegexConstraint(r"[A-Z]{2}-\d{3}")
    assert c.accepts(_walk(c, "AB-123")) and c.complete(_walk(c, "AB-123"))
    assert _walk(c, "AB-1") is not None and not c.accepts(_walk(c, "AB-1"))
    assert _walk(c, "ab") is None and _walk(c, "AB-1234") is None and c.advance(c.start(), "é") is None
    open_ended = RegexConstraint(r"\d+")
    assert open_ended.accepts(_walk(open_ended, "12")) and not open_ended.complete(_walk(open_ended, "12"))


def test_a_pattern_re2_cannot_compile_is_invalid_naming_the_field() -> None:
    with pytest.raises(InvalidRequest) as caught:
        RegexConstraint(r"(a)\1", field="output_pattern")  # a back-reference: not linear time
    assert [v.field for v in caught.value.violations] == ["output_pattern"]
    with pytest.raises(InvalidRequest):
        RegexConstraint(r"(?=a)a")  # look-ahead
    with pytest.raises(InvalidRequest, match="matches no string"):
        RegexConstraint(r"[^\s\S]")


def test_choice_and_span_constraints() -> None:
    choice = ChoiceConstraint(["yes", "yesterday", "no"])
    assert choice.accepts(_walk(choice, "yes")) and not choice.complete(_walk(choice, "yes"))
    assert choice.complete(_walk(choice, "no")) and _walk(choice, "maybe") is None
    span = SpanConstraint("Call Maya Tanaka in Lyon.")
    assert span.advance(span.start(), " Maya") == "Maya" and span.accepts("Maya Tanaka")
    assert not span.accepts("Maya Tan")  # ends inside a word
    assert span.advance(span.start(), "aya") is None  # starts inside a word
    assert span.advance("Maya", " Lyon") is None and not span.accepts("")


def test_json_schema_subset_becomes_a_regex_that_accepts_exactly_valid_compact_json() -> None:
    regex = re.compile(schema_regex(PERSON))
    good = {"name": 'Al "x"', "age": -3, "tags": ["a", "b"], "score": None, "ok": True}
    for text in (json.dumps(good), json.dumps(good, separators=(",", ":"))):
        assert regex.fullmatch(text) and jsonschema.validate(json.loads(text), PERSON) is None
    assert not regex.fullmatch(json.dumps({**good, "age": 1.5}))
    assert not regex.fullmatch(json.dumps({**good, "tags": ["c"]}))
    assert RegexConstraint(schema_regex(PERSON))  # interegular takes it
    assert re.fullmatch(schema_regex({"type": "object"}), '{"a": 1, "b": "x"}')


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"anyOf": [{"type": "string"}]}, "anyOf"),
        ({"type": "string", "pattern": "a+"}, "pattern"),
        ({"type": "array", "items": {"type": "integer"}, "minItems": 2}, "minItems"),
        ({"$ref": "#/defs/x"}, "$ref"),
        ({"description": "no type"}, "without a `type`"),
        ({"type": "object", "properties": {"a": {"type": "string", "format": "email"}}}, "format"),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}, "undeclared"),
        ({"type": "set"}, "set"),
        ({"enum": [{"a": 1}]}, "scalars"),
    ],
)
def test_schemas_beyond_the_subset_are_unsupported_naming_the_reason(schema: dict[str, Any], keyword: str) -> None:
    with pytest.raises(GuidanceUnsupported, match=re.escape(keyword)):
        schema_regex(schema)


def test_deep_or_bad_schemas() -> None:
    deep: dict[str, Any] = {"type": "string"}
    for _ in range(8):
        deep = {"type": "array", "items": deep}
    with pytest.raises(GuidanceUnsupported, match="deeper"):
        schema_regex(deep)
    for text in ("{not json", "[1, 2]", json.dumps({"description": "x" * 20_000})):
        with pytest.raises(InvalidRequest) as caught:
            parse_schema(text)
        assert [v.field for v in caught.value.violations] == ["chat.response_format.json_schema"]


# ---- on the tiny model ----------------------------------------------------------------------------------------
@pytest.fixture
async def inference(tiny_model: LocalModel) -> AsyncIterator[LocalInference]:
    scheduler = Scheduler(tiny_model, SchedulerOptions(max_batch_size=4, max_wait_s=0.002))
    scheduler.start()
    yield LocalInference(tiny_model, scheduler, Limits())
    await scheduler.stop()


async def _answer(inference: LocalInference, text: str, guidance: Guidance, max_tokens: int = 40) -> Any:
    return await inference.answer([ChatTurn("user", text)], Sampling(max_tokens=max_tokens), guidance, None)


async def test_guided_answers_match_the_pattern_even_from_a_random_model(inference: LocalInference) -> None:
    pattern = r"[A-Z]{2}-\d{3}"
    answers = [await _answer(inference, f"order {i}", Guidance(pattern=pattern)) for i in range(4)]
    for answer in answers:
        assert answer.method == "guided" and re.fullmatch(pattern, answer.generation.text)
        assert answer.generation.corrections > 0 and 0.0 < answer.confidence <= 1.0
        assert len(answer.generation.logprobs) == len(answer.generation.guided_logprobs) >= 5  # "12" is one token


async def test_guided_json_parses_and_validates(inference: LocalInference) -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"enum": [1, 2]}}}
    answer = await _answer(inference, "json please", Guidance(json_schema=json.dumps(schema)))
    jsonschema.validate(json.loads(answer.generation.text), schema)


async def test_exact_match_needs_no_model_and_several_matches_are_a_choice(inference: LocalInference) -> None:
    one = await _answer(
        inference, "Your order AB-12345 shipped.", Guidance(pattern=r"[A-Z]{2}-\d{5}", copy_from_input=True)
    )
    assert (one.method, one.generation.text, one.confidence, one.generation.completion_tokens) == (
        "exact_match",
        "AB-12345",
        1.0,
        0,
    )
    text = "Orders AB-12345 and CD-67890 shipped."
    two = await _answer(inference, text, Guidance(pattern=r"[A-Z]{2}-\d{5}", copy_from_input=True))
    assert two.method == "guided" and two.generation.text in ("AB-12345", "CD-67890")
    none = await _answer(inference, "no order here", Guidance(pattern=r"\d{3}", copy_from_input=True))
    assert none.method == "guided" and re.fullmatch(r"\d{3}", none.generation.text)


async def test_span_answers_are_copied_from_the_input(inference: LocalInference) -> None:
    text = "The parcel for Maya Tanaka left Lyon."
    answer = await _answer(inference, text, Guidance(copy_from_input=True), max_tokens=12)
    assert answer.generation.text and answer.generation.text in text


async def test_without_guidance_generation_is_free(inference: LocalInference) -> None:
    answer = await _answer(inference, "hello", Guidance(), max_tokens=4)
    assert (answer.method, answer.confidence) == ("free", 0.0)


# ---- over gRPC ------------------------------------------------------------------------------------------------
async def _rpc_error(call: object) -> BourseError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return from_rpc_error(caught.value)


def _schema_chat(schema: str, **sampling: Any) -> chat_pb2.ChatRequest:
    chat = user_chat("give json", **sampling)
    chat.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA
    chat.response_format.json_schema = schema
    return chat


async def test_generate_reports_method_and_confidence(tiny_service: RunningService) -> None:
    stub = tiny_service.stub
    exact = await stub.Generate(
        pb.GenerateRequest(chat=user_chat("ref QX-55555 ok"), output_pattern=r"[A-Z]{2}-\d{5}", copy_from_input=True)
    )
    assert (exact.method, exact.confidence, exact.completion.content) == (pb.ANSWER_METHOD_EXACT_MATCH, 1.0, "QX-55555")
    guided = await stub.Generate(pb.GenerateRequest(chat=_schema_chat(json.dumps(PERSON), max_tokens=120)))
    assert guided.method == pb.ANSWER_METHOD_GUIDED and 0.0 < guided.confidence <= 1.0
    if guided.completion.finish_reason == chat_pb2.FINISH_REASON_STOP:
        jsonschema.validate(json.loads(guided.completion.content), PERSON)
    obj = user_chat("json object", max_tokens=60)
    obj.response_format.type = chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT
    flat = await stub.Generate(pb.GenerateRequest(chat=obj))
    assert flat.method == pb.ANSWER_METHOD_GUIDED and flat.completion.content.startswith("{")
    free = await stub.Generate(pb.GenerateRequest(chat=user_chat("hi", max_tokens=3)))
    assert (free.method, free.confidence) == (pb.ANSWER_METHOD_FREE, 0.0)


async def test_bad_guidance_over_grpc(tiny_service: RunningService) -> None:
    stub = tiny_service.stub
    error = await _rpc_error(stub.Generate(pb.GenerateRequest(chat=user_chat("x"), output_pattern=r"(a)\1")))
    assert (error.kind.value, error.reason) == ("invalid_argument", "INVALID_REQUEST")
    assert [v.field for v in error.violations] == ["output_pattern"]
    error = await _rpc_error(stub.Generate(pb.GenerateRequest(chat=_schema_chat("{oops"))))
    assert [v.field for v in error.violations] == ["chat.response_format.json_schema"]
    error = await _rpc_error(stub.Generate(pb.GenerateRequest(chat=_schema_chat('{"anyOf": []}'))))
    assert (error.kind.value, error.reason) == ("failed_precondition", "GUIDANCE_UNSUPPORTED")
    assert "anyOf" in str(error)


@pytest.mark.parametrize(
    ("labels", "problem"),
    [([], "at least two"), (["a", "a"], "distinct"), ([f"l{i}" for i in range(10_000)], "at most 64")],
)
async def test_label_sets_beyond_the_bounds_are_invalid(
    tiny_service: RunningService, labels: list[str], problem: str
) -> None:
    error = await _rpc_error(tiny_service.stub.Score(pb.ScoreRequest(chat=user_chat("x"), labels=labels)))
    assert error.kind.value == "invalid_argument"
    assert any(problem in v.description for v in error.violations)


async def test_a_guided_answer_past_its_deadline_is_deadline_exceeded(inference: LocalInference) -> None:
    import time

    from shared.errors import DeadlineExceeded

    turns = [ChatTurn("user", "count")]
    with pytest.raises(DeadlineExceeded):
        await inference.answer(turns, Sampling(max_tokens=200), Guidance(pattern=r"[a-z ]+"), time.monotonic() + 0.001)
