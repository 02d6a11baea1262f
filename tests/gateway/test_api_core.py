"""The plain core of the Anthropic and Responses endpoints and of n > 1: block framing, statuses, sums."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core import anthropic_messages, responses_api
from services.gateway.core.choices import choice_requests, combined_completion, combined_headers
from services.gateway.core.responses_types import ResponsesRequest
from services.gateway.core.stream_blocks import BlockDelta, BlockSequencer, BlockStart, BlockStop


def _tool_delta(index: int, fragment: str, call_id: str = "", name: str = "") -> chat_pb2.ChatDelta:
    return chat_pb2.ChatDelta(
        tool_calls=[chat_pb2.ToolCallDelta(index=index, id=call_id, name=name, arguments_fragment=fragment)]
    )


def test_sequencer_opens_and_closes_one_block_at_a_time() -> None:
    blocks = BlockSequencer()
    events = blocks.delta(chat_pb2.ChatDelta(content="Hel"))
    events += blocks.delta(chat_pb2.ChatDelta(content="lo"))
    events += blocks.delta(_tool_delta(0, '{"a"', "c0", "f"))
    events += blocks.delta(_tool_delta(1, "{}", "c1", "g"))
    events += blocks.delta(_tool_delta(0, ":1}"))  # a late fragment of an earlier call still lands on its block
    events += blocks.finish(chat_pb2.ChatCompletion())
    kinds = [(type(e).__name__, e.index) for e in events]
    assert kinds == [
        ("BlockStart", 0),
        ("BlockDelta", 0),
        ("BlockDelta", 0),
        ("BlockStop", 0),
        ("BlockStart", 1),
        ("BlockDelta", 1),
        ("BlockStop", 1),
        ("BlockStart", 2),
        ("BlockDelta", 2),
        ("BlockDelta", 1),
        ("BlockStop", 2),
    ]
    assert [(b.kind, b.text, b.call_id, b.name) for b in blocks.blocks] == [
        ("text", "Hello", "", ""),
        ("tool", '{"a":1}', "c0", "f"),
        ("tool", "{}", "c1", "g"),
    ]


def test_sequencer_delivers_a_whole_answer_at_finish_once() -> None:
    whole = chat_pb2.ChatCompletion(content="all", tool_calls=[chat_pb2.ToolCall(name="f", arguments_json="{}")])
    blocks = BlockSequencer()
    events = blocks.finish(whole)
    assert [type(e) for e in events] == [BlockStart, BlockDelta, BlockStop, BlockStart, BlockDelta, BlockStop]
    assert blocks.blocks[1].call_id == "call_0"  # a provider that sent no id still gets one
    streamed = BlockSequencer()
    streamed.delta(chat_pb2.ChatDelta(content="all"))
    assert [type(e) for e in streamed.finish(chat_pb2.ChatCompletion(content="all"))] == [BlockStop]


def _summary(finish: int, prompt: int = 10, cost: int = 100) -> router_pb2.RouteResponse:
    return router_pb2.RouteResponse(
        request_id="r",
        provider="p",
        model="m",
        cost_micro_usd=cost,
        completion=chat_pb2.ChatCompletion(
            content="x",
            finish_reason=finish,  # type: ignore[arg-type]
            usage=chat_pb2.Usage(prompt_tokens=prompt, completion_tokens=3, cached_prompt_tokens=4),
        ),
        attempts=[router_pb2.Attempt(), router_pb2.Attempt()],
    )


def test_responses_status_follows_the_finish_reason() -> None:
    request = ResponsesRequest(model="bourse/cheapest", input="hi")
    done = responses_api.to_response(request, _summary(chat_pb2.FINISH_REASON_STOP), 1)
    assert (done["status"], done["incomplete_details"]) == ("completed", None)
    cut = responses_api.to_response(request, _summary(chat_pb2.FINISH_REASON_LENGTH), 1)
    assert (cut["status"], cut["incomplete_details"]) == ("incomplete", {"reason": "max_output_tokens"})
    filtered = responses_api.to_response(request, _summary(chat_pb2.FINISH_REASON_CONTENT_FILTER), 1)
    assert filtered["incomplete_details"] == {"reason": "content_filter"}
    assert done["model"] == "p/m"
    assert done["output"][0]["id"] == "msg_r_0"


def test_anthropic_stop_reasons_usage_and_tool_input() -> None:
    message = anthropic_messages.to_message(_summary(chat_pb2.FINISH_REASON_LENGTH))
    assert message["stop_reason"] == "max_tokens"
    assert message["usage"] == {
        "input_tokens": 6,
        "output_tokens": 3,
        "cache_read_input_tokens": 4,
        "cache_creation_input_tokens": 0,
    }
    assert anthropic_messages.tool_input('{"a": 1}') == {"a": 1}
    assert anthropic_messages.tool_input("") == {}
    # Arguments that are not a JSON object are kept, not dropped: Anthropic's input must be an object.
    assert anthropic_messages.tool_input("[1, 2]") == {"arguments": [1, 2]}
    assert anthropic_messages.tool_input("{broken") == {"arguments": "{broken"}


def test_choices_sum_usage_cost_and_attempts() -> None:
    responses = [_summary(chat_pb2.FINISH_REASON_STOP, prompt=10, cost=100), _summary(1, prompt=12, cost=250)]
    completion = combined_completion(responses, 1)
    assert [c["index"] for c in completion["choices"]] == [0, 1]
    assert completion["usage"]["prompt_tokens"] == 22
    assert completion["usage"]["total_tokens"] == 28
    assert completion["usage"]["prompt_tokens_details"]["cached_tokens"] == 8
    assert completion["bourse"]["cost_usd"] == "0.000350"
    assert completion["bourse"]["attempts"] == 4
    assert combined_headers(responses)["x-bourse-cost-usd"] == "0.000350"


def test_choice_requests_keep_the_original_untouched() -> None:
    route = router_pb2.RouteRequest(context=router_pb2.RequestContext(request_id="id"))
    copies = choice_requests(route, 2)
    assert [c.context.request_id for c in copies] == ["id", "id-1"]
    assert not copies[1].chat.sampling.HasField("seed")  # no seed given: none invented
    assert not route.constraints.cache.no_cache
