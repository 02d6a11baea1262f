"""The OpenAI wire vocabulary shared by the gateway and the adapter reads back what it writes."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2

from shared.openai_wire import (
    FINISH_FROM_WIRE,
    FINISH_TO_WIRE,
    ROLE_FROM_WIRE,
    ROLE_TO_WIRE,
    usage_from_wire,
    usage_to_wire,
)


def test_usage_round_trips_with_cached_and_reasoning_tokens() -> None:
    usage = chat_pb2.Usage(prompt_tokens=1200, completion_tokens=300, cached_prompt_tokens=1024, reasoning_tokens=64)
    wire = usage_to_wire(usage)
    assert wire["total_tokens"] == 1500
    assert usage_from_wire(wire) == usage


def test_usage_reads_deepseeks_cache_hits_and_refuses_a_missing_object() -> None:
    parsed = usage_from_wire({"prompt_tokens": 10, "completion_tokens": 2, "prompt_cache_hit_tokens": 8})
    assert parsed is not None and parsed.cached_prompt_tokens == 8
    assert usage_from_wire(None) is None
    assert usage_from_wire({"completion_tokens": 3}) is None


def test_roles_and_finish_reasons_read_back_what_is_written() -> None:
    assert all(ROLE_FROM_WIRE[name] == role for role, name in ROLE_TO_WIRE.items())
    written = {reason: name for reason, name in FINISH_TO_WIRE.items() if reason != chat_pb2.FINISH_REASON_UNSPECIFIED}
    assert all(FINISH_FROM_WIRE[name] == reason for reason, name in written.items())
