"""Property: any JSON body and any x-bourse-* headers give a Bourse error (a 4xx), never an unexpected exception."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.gateway.config import default_aliases
from services.gateway.core.chat_translation import to_chat_request
from services.gateway.core.http_errors import http_status
from services.gateway.core.openai_types import ChatCompletionRequest
from services.gateway.core.routing_options import layered, options_for_model, options_from_headers, to_constraints
from services.gateway.http_api import decode
from shared.errors import BourseError

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_fields = st.sampled_from(
    [
        "model",
        "messages",
        "tools",
        "tool_choice",
        "response_format",
        "temperature",
        "max_tokens",
        "stop",
        "seed",
        "n",
        "stream",
        "stream_options",
        "metadata",
        "bourse",
    ]
)
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "tool", "system", "x"])},
    optional={"content": _json_values, "tool_calls": _json_values, "tool_call_id": _json_values},
)
_bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["bourse/cheapest", "bourse/code", "gpt-4o-mini", "bourse/nope", ""])},
    optional={"messages": st.lists(_message, max_size=3)},
).flatmap(lambda base: st.dictionaries(_fields, _json_values, max_size=4).map(lambda extra: {**base, **extra}))
_headers = st.dictionaries(
    st.sampled_from(
        [
            "x-bourse-max-cost-usd",
            "x-bourse-latency-budget-ms",
            "x-bourse-task-kind",
            "x-bourse-min-tier",
            "x-bourse-allowed-models",
            "x-bourse-no-cache",
            "x-bourse-min-similarity",
            "x-bourse-hedge",
            "x-bourse-max-attempts",
            "x-bourse-bogus",
        ]
    ),
    st.text(max_size=12),
    max_size=3,
)
_decoder = msgspec.json.Decoder(ChatCompletionRequest)
_known = frozenset({"openai/gpt-4o-mini", "gpt-4o-mini"})


def _process(raw: bytes, headers: dict[str, str]) -> Any:
    body = decode(_decoder, raw)
    options = layered(
        (options_for_model(body.model, default_aliases(), _known), options_from_headers(headers), body.bourse)
    )
    return to_chat_request(body), to_constraints(options)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_bodies, headers=_headers)
def test_any_body_and_headers_fail_only_with_client_errors(body: dict[str, Any], headers: dict[str, str]) -> None:
    try:
        _process(json.dumps(body).encode(), headers)
    except BourseError as error:
        assert 400 <= http_status(error) < 500


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64))
def test_any_bytes_fail_only_with_client_errors(raw: bytes) -> None:
    try:
        _process(raw, {})
    except BourseError as error:
        assert 400 <= http_status(error) < 500
