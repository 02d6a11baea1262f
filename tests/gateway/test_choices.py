"""`n > 1` on chat completions: n routed requests answered as one completion, usage and cost summed."""

from __future__ import annotations

from decimal import Decimal

import openai
import pytest

from tests.gateway.conftest import GatewayStack, RealStack


async def test_n_choices_from_n_routed_requests(stack: GatewayStack) -> None:
    async with openai.AsyncOpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0) as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "pick"}],
            n=3,
            seed=7,
            extra_headers={"x-request-id": "n-test-1"},
        )
    completion = raw.parse()
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert all(c.message.content == "echo: pick" for c in completion.choices)
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens, completion.usage.total_tokens) == (
        33,
        15,
        48,
    )
    assert raw.headers["x-bourse-cost-usd"] == "0.003702"  # 3 x 0.001234
    assert raw.headers["x-bourse-attempts"] == "3"
    summary = (completion.model_extra or {})["bourse"]
    assert summary["cost_usd"] == "0.003702"
    assert [c["request_id"] for c in summary["choices"]] == ["n-test-1", "n-test-1-1", "n-test-1-2"]
    sent = sorted(stack.router.requests[-3:], key=lambda r: r.context.request_id)
    assert [r.context.request_id for r in sent] == ["n-test-1", "n-test-1-1", "n-test-1-2"]
    assert [r.chat.sampling.seed for r in sent] == [7, 8, 9]
    assert all(r.constraints.cache.no_cache for r in sent)


async def test_one_failing_choice_fails_the_request(stack: GatewayStack) -> None:
    async with openai.AsyncOpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0) as client:
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "error:BUDGET_EXCEEDED"}], n=2
            )


async def test_n_through_the_real_router_and_simulator(real_stack: RealStack) -> None:
    messages = [{"role": "user", "content": "Name a colour"}]
    async with openai.AsyncOpenAI(base_url=real_stack.base_url, api_key=real_stack.key, max_retries=0) as client:
        single = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=messages,  # type: ignore[arg-type]
            max_tokens=16,
            extra_headers={"x-bourse-no-cache": "true"},
        )
        raw = await client.chat.completions.with_raw_response.create(
            model="bourse/cheapest",
            messages=messages,  # type: ignore[arg-type]
            max_tokens=16,
            n=3,
        )
    completion = raw.parse()
    assert len(completion.choices) == 3
    assert all(c.message.content for c in completion.choices)
    assert single.usage is not None
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 3 * single.usage.prompt_tokens  # the prompt is paid n times
    summary = (completion.model_extra or {})["bourse"]
    per_choice = [Decimal(c["cost_usd"]) for c in summary["choices"]]
    assert all(cost > 0 for cost in per_choice)
    assert Decimal(raw.headers["x-bourse-cost-usd"]) == sum(per_choice)
    assert Decimal(summary["cost_usd"]) == sum(per_choice)
    assert all(c["served_from"] == "remote" for c in summary["choices"])


async def test_n_streams_interleave_under_their_choice_index(stack: GatewayStack) -> None:
    async with openai.AsyncOpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "one two three"}],
            n=3,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    texts = dict.fromkeys(range(3), "")
    finishes: dict[int, str] = {}
    for chunk in chunks[:-1]:
        choice = chunk.choices[0]
        texts[choice.index] += choice.delta.content or ""
        if choice.finish_reason:
            finishes[choice.index] = choice.finish_reason
    assert texts == dict.fromkeys(range(3), "echo: one two three")
    assert finishes == {0: "stop", 1: "stop", 2: "stop"}
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 48
    assert len({chunk.id for chunk in chunks}) == 1


async def test_n_stream_errors_before_and_after_the_start(stack: GatewayStack) -> None:
    async with openai.AsyncOpenAI(base_url=stack.base_url, api_key=stack.key, max_retries=0) as client:
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(
                model="bourse/cheapest",
                messages=[{"role": "user", "content": "error:BUDGET_EXCEEDED"}],
                n=2,
                stream=True,
            )
        stream = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "stream-error:UPSTREAM_5XX"}],
            n=2,
            stream=True,
        )
        with pytest.raises(openai.APIError) as caught:
            async for _ in stream:
                pass
    assert caught.value.body["code"] == "upstream_5xx"  # type: ignore[index]


async def test_n_stream_through_the_real_router(real_stack: RealStack) -> None:
    async with openai.AsyncOpenAI(base_url=real_stack.base_url, api_key=real_stack.key, max_retries=0) as client:
        stream = await client.chat.completions.create(
            model="bourse/cheapest",
            messages=[{"role": "user", "content": "Count to three"}],
            max_tokens=16,
            n=2,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]
    indexes = {chunk.choices[0].index for chunk in chunks if chunk.choices}
    assert indexes == {0, 1}
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finishes) == 2
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
