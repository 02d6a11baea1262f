"""Property: any JSON body to the Anthropic and Responses translators ends in a 4xx Bourse error or a request."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.gateway.core import anthropic_messages, responses_api
from services.gateway.core.anthropic_types import MessagesRequest
from services.gateway.core.http_errors import http_status
from services.gateway.core.responses_types import ResponsesRequest
from services.gateway.http_api import decode
from shared.errors import BourseError

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
_block_types = st.sampled_from(["text", "image", "tool_use", "tool_result", "document", "input_text", "x"])
_block = st.fixed_dictionaries(
    {"type": _block_types},
    optional={
        "text": _json_values,
        "source": _json_values,
        "id": _json_values,
        "name": _json_values,
        "input": _json_values,
        "tool_use_id": _json_values,
        "content": _json_values,
    },
)
_anthropic_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "x"])},
    optional={"content": st.one_of(st.text(max_size=10), st.lists(_block, max_size=3), _json_values)},
)
_anthropic_bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["bourse/cheapest", "x"])},
    optional={
        "max_tokens": _json_values,
        "messages": st.lists(_anthropic_message, max_size=3),
        "system": _json_values,
        "tools": _json_values,
        "tool_choice": _json_values,
        "stop_sequences": _json_values,
        "output_config": _json_values,
    },
)
_item_types = st.sampled_from(["message", "function_call", "function_call_output", "reasoning", "x"])
_item = st.fixed_dictionaries(
    {},
    optional={
        "type": _item_types,
        "role": st.sampled_from(["user", "assistant", "developer", "tool"]),
        "content": st.one_of(st.text(max_size=10), st.lists(_block, max_size=3), _json_values),
        "call_id": _json_values,
        "name": _json_values,
        "arguments": _json_values,
        "output": _json_values,
    },
)
_responses_bodies = st.fixed_dictionaries(
    {"model": st.sampled_from(["bourse/cheapest", "x"])},
    optional={
        "input": st.one_of(st.text(max_size=10), st.lists(_item, max_size=3), _json_values),
        "instructions": _json_values,
        "tools": _json_values,
        "tool_choice": _json_values,
        "text": _json_values,
        "previous_response_id": _json_values,
    },
)
_anthropic_decoder = msgspec.json.Decoder(MessagesRequest)
_responses_decoder = msgspec.json.Decoder(ResponsesRequest)


def _client_error_only(translate: Any, decoder: Any, raw: bytes) -> None:
    try:
        translate(decode(decoder, raw))
    except BourseError as error:
        assert 400 <= http_status(error) < 500


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_anthropic_bodies)
def test_any_messages_body_fails_only_with_client_errors(body: dict[str, Any]) -> None:
    _client_error_only(anthropic_messages.to_chat_request, _anthropic_decoder, json.dumps(body).encode())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_responses_bodies)
def test_any_responses_body_fails_only_with_client_errors(body: dict[str, Any]) -> None:
    _client_error_only(responses_api.to_chat_request, _responses_decoder, json.dumps(body).encode())


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=64))
def test_any_bytes_fail_only_with_client_errors(raw: bytes) -> None:
    _client_error_only(anthropic_messages.to_chat_request, _anthropic_decoder, raw)
    _client_error_only(responses_api.to_chat_request, _responses_decoder, raw)
