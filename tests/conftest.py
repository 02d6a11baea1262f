"""Session fixtures: a real nats-server with JetStream on an ephemeral port.

Under pytest-xdist every worker is a session of its own, so each worker starts its own nats-server: no stream,
consumer or KV bucket is shared between workers. Set BOURSE_TEST_NATS_URL to point the tests at an already
running NATS instead (then run them without -n, or accept that workers share it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from shared.events.accounts import Accounts, write_accounts
from shared.events.connect import connect
from shared.events.permissions import Role
from shared.logging import configure_logging, get_logger
from shared.processes import NatsServer
from tests.support.services import Services, running_services


def pytest_configure(config: pytest.Config) -> None:
    configure_logging("warning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked slow first (the sort is stable): under `-n N --dist loadfile` the longest files start at once
    instead of being the last ones still running."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# Tests that act as several parties at once (publish prices, read costs, write keys) connect without a
# credential and are mapped to this user; services started through the `services` fixture use their own users.
TEST_ADMIN = Role("test-admin", "tests acting as any party", publish=(">",), subscribe=(">",))
TEST_TENANTS = ("acme", "globex", "*", ">")


@pytest.fixture(scope="session")
def nats_accounts(tmp_path_factory: pytest.TempPathFactory) -> Accounts | None:
    """The users of the session's nats-server (shared/events/permissions.py); None against an external NATS."""
    if os.environ.get("BOURSE_TEST_NATS_URL"):
        return None
    directory = Path(tmp_path_factory.mktemp("nats-accounts"))
    return write_accounts(directory, tenants=TEST_TENANTS, extra=(TEST_ADMIN,), no_auth_user=TEST_ADMIN.name)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory, nats_accounts: Accounts | None) -> Iterator[str]:
    external = os.environ.get("BOURSE_TEST_NATS_URL")
    if external:
        yield external
        return
    assert nats_accounts is not None
    config = nats_accounts.server_config
    server = NatsServer(data_dir=Path(tmp_path_factory.mktemp("nats")) / "data", config_file=config)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    client = await connect([nats_url], get_logger("test"), name="bourse-test")
    yield client
    await client.drain()


@pytest.fixture
async def services(nats_accounts: Accounts | None) -> AsyncIterator[Services]:
    """Start services on port 0 for one test (`await services.router(config)`); all are stopped after it.

    Each service connects to NATS as its own user (unless the test's config names one), so the suite runs the
    services under the permission matrix."""
    async with running_services(accounts=nats_accounts) as started:
        yield started
