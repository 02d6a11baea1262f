"""A planted key never reaches logs, errors, gRPC statuses or reprs, even when the provider echoes it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
import structlog
from bourse.provider.v1 import provider_service_pb2 as pb
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.core.credentials import Credentials, Redactor, Secret, load_credentials
from services.provider_adapter.core.registry import ProviderSpec
from services.provider_adapter.server import create_server
from shared.config import ConfigError
from shared.logging import get_logger
from shared.serving import insecure_channel
from tests.provider_adapter.canned_upstream import Canned, start_canned
from tests.provider_adapter.chat_requests import user_chat

PLANTED = "sk-proj-PLANTEDsecret0123456789abcdef"


@pytest.fixture
async def canned_url() -> AsyncIterator[tuple[Canned, str]]:
    state = Canned()
    runner, port = await start_canned(state)
    yield state, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_planted_key_never_leaks(canned_url: tuple[Canned, str], tmp_path: Path) -> None:
    state, url = canned_url
    # The provider echoes the key in its error, as OpenAI's 401 does (partly masked there; whole here).
    state.answer(
        401,
        json.dumps(
            {"error": {"message": f"Incorrect API key provided: {PLANTED}.", "code": "invalid_api_key"}}
        ).encode(),
    )
    spec = ProviderSpec(name="echoer", dialect="openai_chat", base_url=f"{url}/v1", api_key_env=("ECHO_KEY",))
    with structlog.testing.capture_logs() as logs:
        service = await create_server(
            AdapterConfig(listen="127.0.0.1:0", providers=[spec], log_level="debug"),
            get_logger("secret-test"),
            environ={"ECHO_KEY": PLANTED},
        )
        await service.start()
        channel = insecure_channel(f"127.0.0.1:{service.port}")
        try:
            stub = pb_grpc.ProviderServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Complete(pb.CompleteRequest(provider="echoer", model="m", chat=user_chat()))
            with pytest.raises(grpc.aio.AioRpcError) as streamed:
                await stub.CompleteStream(
                    pb.CompleteStreamRequest(provider="echoer", model="m", chat=user_chat())
                ).read()
        finally:
            await channel.close()
            await service.stop(0.1)
    # The key was really sent, so the test would see a leak if there were one.
    assert state.seen_headers[0]["Authorization"] == f"Bearer {PLANTED}"
    for error in (caught.value, streamed.value):
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "[redacted]" in (error.details() or "")
        everything = (error.details() or "") + repr(error.trailing_metadata())
        assert PLANTED not in everything
        assert PLANTED[8:20] not in everything
    rendered = json.dumps(logs, default=str)
    assert "upstream_failed" in rendered
    assert PLANTED not in rendered


def test_secret_and_credentials_hide_their_value() -> None:
    creds = Credentials([Secret(PLANTED)])
    assert PLANTED not in repr(creds.next())
    assert PLANTED not in str(creds.next())
    assert PLANTED not in repr(creds)


def test_redactor_scrubs_known_keys_and_key_shapes() -> None:
    redact = Redactor(["my-custom-key-value"])
    assert redact("bad key my-custom-key-value!") == "bad key [redacted]!"
    assert redact("key sk-ant-api03-abcdefghijkl rejected") == "key [redacted] rejected"
    assert redact("Incorrect API key provided: sk-abc12*****wxyz.") == "Incorrect API key provided: [redacted]."
    assert redact("AIzaSyA-abcdefghijk is invalid") == "[redacted] is invalid"


def test_several_keys_from_env_and_files_rotate(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text("# comment\nfile-key-1\n\nfile-key-2\n")
    creds = load_credentials(["A_KEY", "B_KEY"], [str(key_file)], {"A_KEY": "env-1, env-2", "B_KEY": ""})
    assert len(creds) == 4
    assert [creds.next().reveal() for _ in range(5)] == ["env-1", "env-2", "file-key-1", "file-key-2", "env-1"]


def test_missing_key_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read key file"):
        load_credentials([], [str(tmp_path / "absent")], {})
