"""Gateway behaviour besides the happy path: disconnects, a router that is down, anonymous demo mode, health."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import openai
import pytest

from services.gateway.config import GatewayConfig
from services.gateway.core.api_keys import issue_key
from services.gateway.key_store import KeyStore, open_bucket
from services.gateway.server import create_server
from shared.events.connect import connect
from shared.logging import get_logger
from shared.processes import Child, NatsServer, free_port, log_tail, python_module
from tests.gateway.conftest import GatewayStack
from tests.support.eventually import eventually
from tests.support.readiness import wait_http_ok

REPO = Path(__file__).resolve().parents[2]


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
    await gateway.start()
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
    await gateway.start()
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


async def test_nats_down_known_keys_still_work_and_unseen_keys_are_503(stack: GatewayStack, tmp_path: Path) -> None:
    nats = NatsServer(data_dir=tmp_path / "nats")
    nats.start()
    config = GatewayConfig(listen="127.0.0.1:0", router=stack.config.router, nats_url=nats.url)
    logger = get_logger("gateway-nats-down")
    nc = await connect([nats.url], logger, name="nats-down-test")
    keys = KeyStore(await open_bucket(nc.jetstream(), config.keys_bucket), logger)
    known = issue_key("acme", "known")
    await keys.put(known.record)
    gateway = await create_server(config, logger)  # its watcher loads `known`
    await gateway.start()
    unseen = issue_key("acme", "unseen")
    try:
        await nc.drain()
        nats.stop()
        async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=known.key, max_retries=0) as client:
            completion = await client.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "still here"}]
            )
            assert completion.choices[0].message.content == "echo: still here"
        async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=unseen.key, max_retries=0) as client:
            with pytest.raises(openai.InternalServerError) as caught:
                await client.models.list()
        assert caught.value.status_code == 503
        assert caught.value.response.json()["error"]["code"] == "key_store_unavailable"
    finally:
        await gateway.stop()
        nats.stop()


async def test_shutdown_lets_in_flight_requests_finish(nats_url: str, stack: GatewayStack) -> None:
    config = GatewayConfig(
        listen="127.0.0.1:0", router=stack.config.router, nats_url=nats_url, keys_bucket=stack.config.keys_bucket
    )
    gateway = await create_server(config, get_logger("gateway-shutdown"))
    await gateway.start()
    stack.router.release.clear()
    seen = len(stack.router.requests)
    async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=stack.key, max_retries=0) as client:
        in_flight = asyncio.create_task(
            client.chat.completions.create(model="bourse/cheapest", messages=[{"role": "user", "content": "slow:x"}])
        )
        await eventually(lambda: len(stack.router.requests) > seen, timeout_s=10, what="the request at the router")
        stopping = asyncio.create_task(gateway.stop())
        await eventually(lambda: not gateway.api.serving, timeout_s=10, what="the gateway to stop serving")
        stack.router.release.set()
        completion = await asyncio.wait_for(in_flight, 10)
        await asyncio.wait_for(stopping, 10)
    assert completion.choices[0].message.content == "echo: slow:x"
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{gateway.port}/healthz"):
            pass


def _gateway_process(tmp_path: Path, env: dict[str, str]) -> Child:
    return Child("gateway", python_module("services.gateway"), tmp_path / "gateway.log", env=env, cwd=REPO)


@pytest.mark.slow
async def test_gateway_process_serves_and_stops_on_sigterm(nats_url: str, stack: GatewayStack, tmp_path: Path) -> None:
    port = free_port()
    child = _gateway_process(
        tmp_path,
        {
            "BOURSE_GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "BOURSE_GATEWAY_ROUTER": stack.config.router,
            "BOURSE_GATEWAY_NATS_URL": nats_url,
            "BOURSE_GATEWAY_KEYS_BUCKET": stack.config.keys_bucket,
        },
    )
    child.start()
    try:
        await wait_http_ok(f"http://127.0.0.1:{port}/healthz", child=child)
        async with openai.AsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=stack.key, max_retries=0) as c:
            completion = await c.chat.completions.create(
                model="bourse/cheapest", messages=[{"role": "user", "content": "from a process"}]
            )
        assert completion.choices[0].message.content == "echo: from a process"
    finally:
        code = await asyncio.to_thread(child.stop)
    assert code == 0


@pytest.mark.slow
async def test_bad_configuration_stops_the_process_with_the_field_named(tmp_path: Path) -> None:
    child = _gateway_process(tmp_path, {"BOURSE_GATEWAY_MAX_BODY_BYTES": "lots"})
    child.start()
    assert child.proc is not None
    code = await asyncio.to_thread(child.proc.wait, 30)
    assert code == 2
    log = log_tail(tmp_path / "gateway.log")
    assert "max_body_bytes" in log
    assert "Traceback" not in log
