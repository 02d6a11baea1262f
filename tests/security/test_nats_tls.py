"""NATS with TLS, as `bourse up` runs it: a client with the CA connects as its user; a plaintext client, a
client that does not trust the server's CA, and a client with TLS but no credential are refused."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import nats
import nats.errors
import pytest

from services.cli.nats_security import NatsSecurity
from services.cli.stack import StackOptions, plan_stack, provider_key_envs
from shared.config import ConfigError
from shared.events.credentials import NatsAuth, connect_options
from shared.processes import NatsServer
from shared.tls.dev_ca import write_dev_pki


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, NatsSecurity]]:
    directory = tmp_path_factory.mktemp("nats-tls")
    security = NatsSecurity(directory / "accounts")
    security.prepare()
    server = NatsServer(data_dir=directory / "data", config_file=security.server_config)
    server.start()
    try:
        yield server.url, security
    finally:
        server.stop()


def _once(**options: object) -> dict[str, object]:
    return {"allow_reconnect": False, "max_reconnect_attempts": 1, "connect_timeout": 3, **options}


async def test_a_service_with_the_ca_connects_as_its_user(secured: tuple[str, NatsSecurity]) -> None:
    url, security = secured
    nc = await nats.connect([url], **_once(**connect_options(security.accounts().auth("router"))))
    try:
        await nc.publish("bourse.circuit.openai.gpt-4o", b"open")
        await nc.flush()
        assert nc.connected_url is not None and nc.is_connected
    finally:
        await nc.close()


async def test_plaintext_untrusted_and_anonymous_clients_are_refused(
    secured: tuple[str, NatsSecurity], tmp_path: Path
) -> None:
    url, security = secured
    auth = security.accounts().auth("router")
    plaintext = {k: v for k, v in connect_options(auth).items() if k != "tls"}
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect([url], **_once(**plaintext))
    other_ca = write_dev_pki(tmp_path / "other", identities=())
    untrusted = connect_options(
        NatsAuth(user="router", password_file=auth.password_file, tls_ca_file=str(other_ca.ca_cert))
    )
    with pytest.raises((nats.errors.Error, OSError, ssl.SSLError)):
        await nats.connect([url], **_once(**untrusted))
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect([url], **_once(**connect_options(NatsAuth(tls_ca_file=str(security.ca_file)))))


def test_a_credential_without_its_files_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no password_file"):
        connect_options(NatsAuth(user="router"))
    with pytest.raises(ConfigError, match="cannot read NATS password"):
        connect_options(NatsAuth(user="router", password_file=str(tmp_path / "missing")))
    with pytest.raises(ConfigError, match="without tls_ca_file"):
        connect_options(NatsAuth(tls_cert_file="client.crt"))
    with pytest.raises(ConfigError, match="TLS files"):
        connect_options(NatsAuth(tls_ca_file=str(tmp_path / "missing-ca.crt")))


def test_bourse_up_plans_each_service_with_its_own_user_unless_nats_is_open(tmp_path: Path) -> None:
    every_key = {name: "x" for names in provider_key_envs() for name in names}  # no simulator needed
    options = StackOptions(data_dir=tmp_path / "nats", ephemeral_ports=True)
    plan = plan_stack(options, environ=every_key)
    assert plan.nats_security is not None and plan.nats.config_file == tmp_path / "nats-accounts" / "nats.conf"
    env = {launch.name: dict(launch.env) for launch in plan.launches}
    for service, prefix in (("router", "ROUTER"), ("gateway", "GATEWAY"), ("ledger", "LEDGER"), ("cache", "CACHE")):
        auth = json.loads(env[service][f"BOURSE_{prefix}_NATS_AUTH"])
        assert auth["user"] == service and auth["tls_ca_file"].endswith("tls/ca.crt")
    assert env["cache"]["BOURSE_CACHE_REPLICATION_KEY_FILE"].endswith("cache-replication.key")
    assert not any(key.endswith("_NATS_AUTH") for key in env["provider_adapter"])
    open_plan = plan_stack(replace(options, nats_security=False), environ=every_key)
    assert open_plan.nats_security is None and open_plan.nats.config_file is None
    assert not any(key.endswith("_NATS_AUTH") for launch in open_plan.launches for key in launch.env)
