"""`previous_response_id` with stored conversations (NATS KV with a TTL): continuation, streams, function call
outputs, tenant isolation, `store: false`, expiry and a store that cannot be reached."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator

import msgspec
import openai
import pytest
from bourse.common.v1 import chat_pb2

from services.gateway.core.api_keys import issue_key
from services.gateway.response_store import ResponseStore, open_response_bucket
from services.gateway.server import GatewayServer, create_server
from shared.errors import BourseError, Kind, NotFound
from shared.events.connect import connect
from shared.logging import get_logger
from tests.gateway.conftest import GatewayStack


@pytest.fixture(scope="module")
async def storing_gateway(stack: GatewayStack) -> AsyncIterator[GatewayServer]:
    config = msgspec.structs.replace(
        stack.config, responses_ttl_s=600.0, responses_bucket=f"TEST_RESPONSES_{secrets.token_hex(4)}"
    )
    gateway = await create_server(config, get_logger("gateway-store-test"))
    await gateway.start()  # the one lifecycle: create_server builds, start() serves
    yield gateway
    await gateway.stop()


def _client(gateway: GatewayServer, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key, max_retries=0)


async def test_previous_response_id_continues_the_conversation(
    storing_gateway: GatewayServer, stack: GatewayStack
) -> None:
    async with _client(storing_gateway, stack.key) as client:
        first = await client.responses.create(model="bourse/cheapest", input="first", instructions="Old rules.")
        assert first.store is True
        second = await client.responses.create(
            model="bourse/cheapest", input="second", instructions="New rules.", previous_response_id=first.id
        )
    assert second.output_text == "echo: second"
    assert second.previous_response_id == first.id
    sent = stack.router.requests[-1].chat
    assert [(m.role, m.content[0].text) for m in sent.messages] == [
        (chat_pb2.ROLE_SYSTEM, "New rules."),  # earlier instructions are not carried over, as at OpenAI
        (chat_pb2.ROLE_USER, "first"),
        (chat_pb2.ROLE_ASSISTANT, "echo: first"),
        (chat_pb2.ROLE_USER, "second"),
    ]


async def test_streamed_response_is_stored_and_chains(storing_gateway: GatewayServer, stack: GatewayStack) -> None:
    async with _client(storing_gateway, stack.key) as client:
        stream = await client.responses.create(model="bourse/cheapest", input="one", stream=True)
        events = [event async for event in stream]
        first = events[-1].response  # type: ignore[union-attr]
        assert first.store is True
        second = await client.responses.create(model="bourse/cheapest", input="two", previous_response_id=first.id)
        third = await client.responses.create(model="bourse/cheapest", input="three", previous_response_id=second.id)
    assert third.output_text == "echo: three"
    texts = [m.content[0].text for m in stack.router.requests[-1].chat.messages]
    assert texts == ["one", "echo: one", "two", "echo: two", "three"]


async def test_function_call_output_continues_a_tool_call(storing_gateway: GatewayServer, stack: GatewayStack) -> None:
    async with _client(storing_gateway, stack.key) as client:
        first = await client.responses.create(model="bourse/cheapest", input="tool:get_weather")
        call = first.output[0]
        assert call.type == "function_call"
        await client.responses.create(
            model="bourse/cheapest",
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        )
    sent = stack.router.requests[-1].chat
    assert [m.role for m in sent.messages] == [chat_pb2.ROLE_USER, chat_pb2.ROLE_ASSISTANT, chat_pb2.ROLE_TOOL]
    assert sent.messages[1].tool_calls[0].id == call.call_id
    assert json.loads(sent.messages[1].tool_calls[0].arguments_json) == {"city": "Paris"}
    assert sent.messages[2].tool_call_id == call.call_id


async def test_not_found_for_unknown_unstored_and_other_tenants(
    storing_gateway: GatewayServer, stack: GatewayStack
) -> None:
    other = issue_key("other-tenant", "tests")
    await stack.keys.put(other.record)
    async with _client(storing_gateway, stack.key) as client:
        kept = await client.responses.create(model="bourse/cheapest", input="mine")
        unstored = await client.responses.create(model="bourse/cheapest", input="not kept", store=False)
        assert unstored.store is False
        for response_id in ("resp_unknown", unstored.id):
            with pytest.raises(openai.NotFoundError) as caught:
                await client.responses.create(model="bourse/cheapest", input="x", previous_response_id=response_id)
            assert caught.value.body["param"] == "previous_response_id"  # type: ignore[index]
            assert caught.value.body["code"] == "previous_response_not_found"  # type: ignore[index]
    async with _client(storing_gateway, other.key) as intruder:
        with pytest.raises(openai.NotFoundError):
            await intruder.responses.create(model="bourse/cheapest", input="x", previous_response_id=kept.id)


async def test_records_expire_after_the_ttl(nats_url: str) -> None:
    logger = get_logger("store-ttl")
    nc = await connect([nats_url], logger, name="store-ttl")
    try:
        kv = await open_response_bucket(nc.jetstream(), f"TEST_TTL_{secrets.token_hex(4)}", ttl_s=1.0)
        store = ResponseStore(kv, logger)
        conversation = chat_pb2.ChatRequest(messages=[chat_pb2.Message(role=chat_pb2.ROLE_USER)])
        assert await store.save("t", "resp_1", conversation)
        assert await store.load("t", "resp_1") == conversation
        deadline = time.monotonic() + 15.0
        while True:
            try:
                await store.load("t", "resp_1")
            except NotFound:
                break
            assert time.monotonic() < deadline, "the record outlived its TTL"
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def test_store_unreachable_is_503_on_load_and_logged_on_save(nats_url: str) -> None:
    logger = get_logger("store-down")
    nc = await connect([nats_url], logger, name="store-down")
    kv = await open_response_bucket(nc.jetstream(timeout=1.0), f"TEST_DOWN_{secrets.token_hex(4)}", ttl_s=60.0)
    store = ResponseStore(kv, logger)
    await nc.close()
    with pytest.raises(BourseError) as caught:
        await store.load("t", "resp_1")
    assert caught.value.kind is Kind.UNAVAILABLE
    assert await store.save("t", "resp_1", chat_pb2.ChatRequest()) is False
