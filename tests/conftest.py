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

from shared.events.connect import connect
from shared.logging import configure_logging, get_logger
from shared.processes import NatsServer
from tests.support.services import Services, running_services


def pytest_configure(config: pytest.Config) -> None:
    configure_logging("warning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files marked slow first (the sort is stable): under `-n N --dist loadfile` the longest files start at once
    instead of being the last ones still running."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("BOURSE_TEST_NATS_URL")
    if external:
        yield external
        return
    server = NatsServer(data_dir=Path(tmp_path_factory.mktemp("nats")) / "data")
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
async def nc(nats_url: str) -> AsyncIterator[NATS]:
    client = await connect([nats_url], get_logger("test"), name="bourse-test")
    yield client
    await client.drain()


@pytest.fixture
async def services() -> AsyncIterator[Services]:
    """Start services on port 0 for one test (`await services.router(config)`); all are stopped after it."""
    async with running_services() as started:
        yield started
