"""One error taxonomy: every documented provider error, every Retry-After form, every transport failure."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.core import upstream_errors
from services.provider_adapter.core.dialects import dialect_registry
from services.provider_adapter.core.provider import Call
from services.provider_adapter.core.registry import ProviderSpec
from services.provider_adapter.core.upstream_errors import parse_duration, retry_after_seconds
from services.provider_adapter.upstreams import ProviderSet, build_providers
from shared.errors import UPSTREAM_REASONS, Reason, UpstreamError
from tests.provider_adapter.canned_upstream import Canned, start_canned
from tests.provider_adapter.chat_requests import user_chat
from tests.provider_adapter.fixtures import error_fixtures, fixture

DIALECT_OF = {"openai": "openai_chat", "anthropic": "anthropic_messages", "gemini": "gemini_generate"}
ERROR_FIXTURES = error_fixtures()


@pytest.fixture(scope="module")
async def canned() -> AsyncIterator[tuple[Canned, str]]:
    state = Canned()
    runner, port = await start_canned(state)
    yield state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture(scope="module")
async def canned_providers(canned: tuple[Canned, str]) -> AsyncIterator[ProviderSet]:
    _, url = canned
    specs = [
        ProviderSpec(name=f"canned-{d}", dialect=DIALECT_OF[d], base_url=url, api_key_env=("CANNED_KEY",))
        for d in DIALECT_OF
    ]
    providers = await build_providers(AdapterConfig(providers=specs), {"CANNED_KEY": "k-canned-123456"})
    yield providers
    await providers.close()


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(upstream_errors, "wall_clock", lambda: 1735689600.0)
    yield


@pytest.mark.parametrize(("dialect", "name"), ERROR_FIXTURES)
def test_documented_error_classification(dialect: str, name: str, fixed_clock: None) -> None:
    case = fixture(dialect, name)
    error = dialect_registry()[DIALECT_OF[dialect]].error_from_response(
        case["status"], case["headers"], json.dumps(case["body"]).encode()
    )
    assert error.reason == case["expect_reason"]
    assert error.reason in UPSTREAM_REASONS
    assert error.retryable == Reason(error.reason).retryable
    if case["expect_retry_after_s"] is None:
        assert error.retry_after_s is None
    else:
        assert error.retry_after_s == pytest.approx(case["expect_retry_after_s"])


@pytest.mark.parametrize(("dialect", "name"), ERROR_FIXTURES)
async def test_documented_errors_over_http(
    dialect: str, name: str, canned: tuple[Canned, str], canned_providers: ProviderSet
) -> None:
    state, _ = canned
    case = fixture(dialect, name)
    state.answer(case["status"], json.dumps(case["body"]).encode(), case["headers"])
    provider_name = f"canned-{dialect}"
    provider = canned_providers.get(provider_name, "m")
    with pytest.raises(UpstreamError) as caught:
        await provider.complete(Call(provider=provider_name, model="m", chat=user_chat()))
    assert caught.value.reason == case["expect_reason"]
    assert caught.value.metadata["provider"] == provider_name
    assert caught.value.metadata["model"] == "m"
    assert caught.value.metadata["http_status"] == str(case["status"])
    if case["expect_retry_after_s"] is not None and "clock" not in case:
        assert caught.value.retry_after_s == pytest.approx(case["expect_retry_after_s"])


async def test_non_json_error_body(canned: tuple[Canned, str], canned_providers: ProviderSet) -> None:
    state, _ = canned
    state.answer(502, b"<html>Bad Gateway</html>", content_type="text/html")
    with pytest.raises(UpstreamError) as caught:
        await canned_providers.get("canned-openai", "m").complete(
            Call(provider="canned-openai", model="m", chat=user_chat())
        )
    assert caught.value.reason == "UPSTREAM_5XX"
    assert "Bad Gateway" in caught.value.message


async def test_success_body_that_is_not_json(canned: tuple[Canned, str], canned_providers: ProviderSet) -> None:
    state, _ = canned
    state.answer(200, b"surprise", content_type="text/plain")
    with pytest.raises(UpstreamError) as caught:
        await canned_providers.get("canned-anthropic", "m").complete(
            Call(provider="canned-anthropic", model="m", chat=user_chat())
        )
    assert caught.value.reason == "BAD_RESPONSE"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("26s", 26.0), ("0.5", 0.5), ("7", 7.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "1s2"])
def test_durations_that_are_not(text: str) -> None:
    assert parse_duration(text) is None


def test_retry_after_forms() -> None:
    now = lambda: 1735689600.0  # noqa: E731
    assert retry_after_seconds({"Retry-After": "30"}, clock=now) == 30.0
    assert retry_after_seconds({"Retry-After": "Wed, 01 Jan 2025 00:00:10 GMT"}, clock=now) == 10.0
    assert retry_after_seconds({"retry-after-ms": "250"}, clock=now) == 0.25
    assert (
        retry_after_seconds({"x-ratelimit-reset-requests": "2s", "x-ratelimit-reset-tokens": "1m"}, clock=now) == 60.0
    )
    assert retry_after_seconds({"x-ratelimit-reset": "1735689605"}, clock=now) == 5.0
    assert retry_after_seconds({"anthropic-ratelimit-requests-reset": "2025-01-01T00:00:03Z"}, clock=now) == 3.0
    assert retry_after_seconds({}, body_delay="1.5s", clock=now) == 1.5
    assert retry_after_seconds({"Retry-After": "garbage"}, clock=now) is None
    assert retry_after_seconds({"Retry-After": "Wed, 01 Jan 2020 00:00:10 GMT"}, clock=now) == 0.0


# --- transport failures, against real sockets ---


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def one_provider(spec: ProviderSpec) -> ProviderSet:
    return await build_providers(AdapterConfig(providers=[spec]), {})


async def test_connection_refused_is_connect_failed() -> None:
    providers = await one_provider(
        ProviderSpec(name="gone", dialect="openai_chat", base_url=f"http://127.0.0.1:{closed_port()}/v1", auth="none")
    )
    try:
        with pytest.raises(UpstreamError) as caught:
            await providers.get("gone", "m").complete(Call(provider="gone", model="m", chat=user_chat()))
        assert caught.value.reason == "CONNECT_FAILED"
    finally:
        await providers.close()


async def test_full_accept_queue_is_connect_timeout() -> None:
    # A listener that never accepts, with its backlog filled: the kernel drops further SYNs, so connect() hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    providers = await one_provider(
        ProviderSpec(
            name="stuck",
            dialect="openai_chat",
            base_url=f"http://127.0.0.1:{port}/v1",
            auth="none",
            connect_timeout_s=0.3,
            total_timeout_s=10,
        )
    )
    try:
        with pytest.raises(UpstreamError) as caught:
            await providers.get("stuck", "m").complete(Call(provider="stuck", model="m", chat=user_chat()))
        assert caught.value.reason == "CONNECT_TIMEOUT"
    finally:
        await providers.close()
        for filler in fillers:
            filler.close()
        listener.close()


async def test_callers_deadline_bounds_the_upstream_call(sim_url: str) -> None:
    providers = await build_providers(AdapterConfig(simulator_url=sim_url), {})
    try:
        async with aiohttp.ClientSession(base_url=sim_url) as control:
            fault = {"provider": "together", "model": "m-deadline", "kind": "timeout", "count": 1, "hang_s": 5}
            async with control.post("/_sim/faults", json=fault) as response:
                assert response.status == 201
        call = Call(provider="together", model="m-deadline", chat=user_chat(), time_remaining_s=0.3)
        with pytest.raises(UpstreamError) as caught:
            await providers.get("together", "m-deadline").complete(call)
        assert caught.value.reason == "DEADLINE"
    finally:
        await providers.close()
