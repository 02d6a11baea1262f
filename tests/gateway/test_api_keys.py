"""Virtual API keys: format, hashing, the NATS KV store, revocation across the gateway, the CLI, and logs."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import sys
import time

import openai
import pytest
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry

from services.gateway.config import GatewayConfig
from services.gateway.core import api_keys
from services.gateway.core.api_keys import KeyRecord, hash_key, issue_key
from services.gateway.http_api import OpenAIHttpApi
from services.gateway.metrics import GatewayMetrics
from services.gateway.server import create_server
from shared.errors import NotFound, Unauthenticated
from shared.processes import free_port
from tests.gateway.conftest import GatewayStack
from tests.support.eventually import eventually


def test_issued_key_is_stored_only_as_its_hash() -> None:
    issued = issue_key("acme", "ci", now_ms=5)
    assert issued.key.startswith("bsk_" + issued.record.key_id + "_")
    assert issued.record.key_sha256 == hash_key(issued.key)
    assert issued.key not in json.dumps({f: getattr(issued.record, f) for f in KeyRecord.__struct_fields__})
    assert api_keys.key_id_of(issued.key) == issued.record.key_id
    assert api_keys.verify(issued.key, issued.record) is issued.record


@pytest.mark.parametrize(
    "key", ["", "bsk_", "sk-abc", "bsk_XYZ456789abcdef_secret", "bsk_0123456789abcdef", "bsk_0123"]
)
def test_malformed_keys_are_unauthenticated(key: str) -> None:
    with pytest.raises(Unauthenticated):
        api_keys.key_id_of(key)


def test_wrong_secret_revoked_or_unknown_key_fails_verification() -> None:
    issued = issue_key("acme")
    with pytest.raises(Unauthenticated):
        api_keys.verify(issued.key + "x", issued.record)
    with pytest.raises(Unauthenticated):
        api_keys.verify(issued.key, None)
    revoked = KeyRecord(
        key_id=issued.record.key_id, tenant_id="acme", key_sha256=issued.record.key_sha256, revoked_ms=1
    )
    with pytest.raises(Unauthenticated):
        api_keys.verify(issued.key, revoked)


@pytest.mark.parametrize(
    ("header", "ok"), [("Bearer k", True), ("bearer k", True), ("Basic k", False), ("Bearer ", False)]
)
def test_bearer_token_parsing(header: str, ok: bool) -> None:
    if ok:
        assert api_keys.bearer_token(header) == "k"
    else:
        with pytest.raises(Unauthenticated):
            api_keys.bearer_token(header)


async def test_store_lists_and_revokes(stack: GatewayStack) -> None:
    issued = issue_key("tenant-b", "listing")
    await stack.keys.put(issued.record)
    listed = {r.key_id: r for r in await stack.keys.list()}
    assert listed[issued.record.key_id].tenant_id == "tenant-b"
    revoked = await stack.keys.revoke(issued.record.key_id, now_ms=99)
    assert revoked.revoked_ms == 99
    fetched = await stack.keys.fetch(issued.record.key_id)
    assert fetched is not None
    assert fetched.revoked
    with pytest.raises(NotFound):
        await stack.keys.revoke("0123456789abcdef", now_ms=1)


async def _wait_for_status(client: openai.AsyncOpenAI, expect_ok: bool, timeout_s: float = 10.0) -> None:
    async def reached() -> bool:
        try:
            await client.models.list()
            ok = True
        except openai.AuthenticationError:
            ok = False
        return ok == expect_ok

    await eventually(reached, timeout_s=timeout_s, what=f"the key to become {'valid' if expect_ok else 'revoked'}")


async def test_new_key_works_at_once_and_revocation_reaches_the_gateway(stack: GatewayStack) -> None:
    issued = issue_key("tenant-c", "revocation")
    await stack.keys.put(issued.record)  # written by another process's store: the gateway has not seen it
    async with openai.AsyncOpenAI(base_url=stack.base_url, api_key=issued.key, max_retries=0) as client:
        completion = await client.chat.completions.create(
            model="bourse/cheapest", messages=[{"role": "user", "content": "who am I"}]
        )
        assert completion.choices[0].message.content == "echo: who am I"
        assert stack.router.requests[-1].context.tenant_id == "tenant-c"
        await stack.keys.revoke(issued.record.key_id, now_ms=int(time.time() * 1000))
        await _wait_for_status(client, expect_ok=False)
        with pytest.raises(openai.AuthenticationError):
            await client.chat.completions.create(model="bourse/cheapest", messages=[{"role": "user", "content": "x"}])


async def _cli(stack: GatewayStack, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "keys",
        "--nats-url",
        stack.config.nats_url,
        "--bucket",
        stack.config.keys_bucket,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_cli_create_list_revoke(stack: GatewayStack) -> None:
    code, out, _ = await _cli(stack, "create", "--tenant", "cli-tenant", "--name", "from-cli", "--json")
    assert code == 0
    created = json.loads(out)
    key, key_id = created["key"], created["key_id"]
    assert "key_sha256" not in created
    async with openai.AsyncOpenAI(base_url=stack.base_url, api_key=key, max_retries=0) as client:
        await _wait_for_status(client, expect_ok=True)

        code, out, _ = await _cli(stack, "list", "--tenant", "cli-tenant", "--json")
        assert code == 0
        rows = [json.loads(line) for line in out.splitlines()]
        assert [(r["key_id"], r["revoked"], r["name"]) for r in rows] == [(key_id, False, "from-cli")]
        assert key not in out
        assert hash_key(key) not in out

        code, out, _ = await _cli(stack, "revoke", key_id)
        assert code == 0
        assert key_id in out
        await _wait_for_status(client, expect_ok=False)

    code, out, _ = await _cli(stack, "list", "--tenant", "cli-tenant")
    assert code == 0
    assert "revoked" in out
    assert key not in out


@pytest.mark.slow
async def test_cli_failures(stack: GatewayStack) -> None:
    code, _, err = await _cli(stack, "create", "--tenant", "bad tenant!")
    assert code == 2
    assert "tenant id" in err
    code, _, err = await _cli(stack, "revoke", "0123456789abcdef")
    assert code == 1
    assert "no API key" in err
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "keys",
        "--nats-url",
        f"nats://127.0.0.1:{free_port()}",  # nothing listens: fail at once, not retry forever
        "list",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err_bytes = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 1
    assert "cannot reach NATS" in err_bytes.decode()
    assert "Traceback" not in err_bytes.decode()


async def test_keys_never_appear_in_logs(stack: GatewayStack, nats_url: str, caplog: pytest.LogCaptureFixture) -> None:
    buffer = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(buffer),
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    config = GatewayConfig(
        listen="127.0.0.1:0",
        router=stack.config.router,
        inference="127.0.0.1:1",
        nats_url=nats_url,
        keys_bucket=stack.config.keys_bucket,
        access_log=True,
        log_level="debug",
    )
    caplog.set_level(logging.DEBUG)
    gateway = await create_server(config, logger)
    await gateway.start()
    forged = stack.key[:-3] + "zzz"
    try:
        for key in (stack.key, forged):
            async with openai.AsyncOpenAI(base_url=gateway.base_url, api_key=key, max_retries=0) as client:
                for content in ("hello", "error:INTERNAL", "error:UPSTREAM_5XX"):
                    with contextlib.suppress(openai.APIStatusError):
                        await client.chat.completions.create(
                            model="bourse/cheapest", messages=[{"role": "user", "content": content}]
                        )
                    try:
                        stream = await client.chat.completions.create(
                            model="bourse/cheapest",
                            messages=[{"role": "user", "content": "stream-error:UPSTREAM_5XX"}],
                            stream=True,
                        )
                        async for _ in stream:
                            pass
                    except openai.APIError:
                        pass
                with contextlib.suppress(openai.APIStatusError):
                    await client.embeddings.create(model="local", input="x")
    finally:
        await gateway.stop()
    logged = buffer.getvalue() + "\n".join(r.getMessage() for r in caplog.records)
    assert stack.key_id in logged  # the key id is logged: the test saw real log lines
    secret = stack.key.split("_", 2)[2]
    for needle in (stack.key, forged, secret, secret[:12], hash_key(stack.key)):
        assert needle not in logged


class _BrokenRouter:
    """Stands in for a gateway bug: the router call raises something no error mapping knows, with the key in it."""

    def __init__(self, key: str) -> None:
        self.key = key

    async def ListModels(self, *args: object, **kwargs: object) -> object:
        raise RuntimeError("no catalog")

    async def Route(self, *args: object, **kwargs: object) -> object:
        secret = self.key  # a local holding the key, as a real frame might
        raise RuntimeError(f"unexpected state while handling {secret}")


def test_redact_keeps_the_key_id_only() -> None:
    issued = issue_key("acme")
    text = f"error with {issued.key} and again {issued.key}."
    redacted = api_keys.redact(text)
    assert issued.key not in redacted
    assert redacted.count(f"bsk_{issued.record.key_id}_[redacted]") == 2


async def test_an_unexpected_error_is_a_500_and_its_log_has_no_key(stack: GatewayStack) -> None:
    buffer = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(buffer),
        processors=[structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    )
    api = OpenAIHttpApi(
        config=stack.config,
        router=_BrokenRouter(stack.key),  # type: ignore[arg-type]
        inference=None,  # type: ignore[arg-type]
        keys=stack.keys,
        logger=logger,
        metrics=GatewayMetrics.create(CollectorRegistry()),
    )
    runner = web.AppRunner(api.application())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    try:
        async with openai.AsyncOpenAI(base_url=base_url, api_key=stack.key, max_retries=0) as client:
            with pytest.raises(openai.InternalServerError) as caught:
                await client.chat.completions.create(
                    model="bourse/cheapest", messages=[{"role": "user", "content": "x"}]
                )
        assert caught.value.status_code == 500
        assert caught.value.response.json()["error"]["code"] == "internal"
    finally:
        await runner.cleanup()
    logged = buffer.getvalue()
    assert "unhandled_error" in logged
    assert "RuntimeError: unexpected state" in logged
    assert stack.key not in logged
    assert stack.key.split("_", 2)[2] not in logged
