"""Gateway behaviour besides the happy path: disconnects, a router that is down, anonymous demo mode, health."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import openai
import pytest

from services.gateway.config import GatewayConfig
from services.gateway.server import create_server
from shared.logging import get_logger
from shared.processes import free_port
from tests.gateway.conftest import GatewayStack


async def test_client_disconnect_cancels_the_router_stream(stack: GatewayStack) -> None:
    stack.router.cancelled.clear()
    body = json.dumps({"model": "bourse/cheapest", "messages": [{"role": "user", "content": "hang"}], "stream": True})
    headers = {"Authorization": f"Bearer {stack.key}", "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(stack.root_url + "/v1/chat/completions", data=body, headers=headers) as response,
    ):
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        first = await response.content.readline()
        assert b"waiting" in first
    # The connection is closed: the gateway must cancel the router call, not keep it running.
    await asyncio.wait_for(stack.router.cancelled.wait(), 10)


async def test_healthz_needs_no_key(stack: GatewayStack) -> None:
    async with aiohttp.ClientSession() as session, session.get(stack.root_url + "/healthz") as response:
        assert response.status == 200
        assert (await response.json())["status"] == "ok"


async def test_router_down_is_503(nats_url: str, stack: GatewayStack) -> None:
    config = GatewayConfig(
        listen="127.0.0.1:0",
        router=f"127.0.0.1:{free_port()}",  # nothing listens
        nats_url=nats_url,
        keys_bucket=stack.config.keys_bucket,
        request_timeout_s=5.0,
    )
    gateway = await create_server(config, get_logger("gateway-down"))
    try:
        async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=stack.key, max_retries=0) as client:
            for model in ("bourse/cheapest", "openai/gpt-4o-mini"):
                with pytest.raises(openai.InternalServerError) as caught:
                    await client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
                assert caught.value.status_code == 503
                assert caught.value.response.json()["error"]["type"] == "service_unavailable_error"
            with pytest.raises(openai.InternalServerError) as caught:
                await client.chat.completions.create(
                    model="bourse/cheapest", messages=[{"role": "user", "content": "x"}], stream=True
                )
            assert caught.value.status_code == 503
            with pytest.raises(openai.InternalServerError) as caught:
                await client.models.list()
            assert caught.value.status_code == 503
    finally:
        await gateway.stop()


async def test_anonymous_mode_serves_the_default_tenant(nats_url: str, stack: GatewayStack) -> None:
    config = GatewayConfig(
        listen="127.0.0.1:0",
        router=stack.config.router,
        nats_url=nats_url,
        keys_bucket=stack.config.keys_bucket,
        require_api_key=False,
        default_tenant="demo",
    )
    gateway = await create_server(config, get_logger("gateway-anon"))
    try:
        body = json.dumps({"model": "bourse/cheapest", "messages": [{"role": "user", "content": "anon"}]})
        async with (
            aiohttp.ClientSession() as session,
            session.post(gateway.base_url + "/chat/completions", data=body) as response,
        ):
            assert response.status == 200
        assert stack.router.requests[-1].context.tenant_id == "demo"
        assert stack.router.requests[-1].context.key_id == ""
        # A key that is sent still has to be right, even where keys are optional.
        async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key="bsk_wrong", max_retries=0) as client:
            with pytest.raises(openai.AuthenticationError):
                await client.chat.completions.create(
                    model="bourse/cheapest", messages=[{"role": "user", "content": "x"}]
                )
    finally:
        await gateway.stop()
