"""A real ledger service (gRPC on port 0, dashboard on port 0, DuckDB in a temp dir) on a NATS of its own.

The ledger reads the whole telemetry stream, so it gets a nats-server of its own: on the suite's shared
server it would also count every request other tests routed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.ledger.config import LedgerConfig
from services.ledger.server import LedgerServer
from shared.processes import NatsServer
from tests.support.services import Services


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = NatsServer(data_dir=Path(tmp_path_factory.mktemp("ledger-nats")) / "data", name="ledger-nats")
    server.start()
    yield server.url
    server.stop()


def ledger_config(nats_url: str, tmp_path: Path, **overrides: object) -> LedgerConfig:
    values: dict[str, object] = {
        "listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "nats_url": nats_url,
        "db_path": str(tmp_path / "ledger.duckdb"),
        "consumer_name": f"ledger-{uuid.uuid4().hex[:8]}",
        "dashboard_refresh_s": 0.5,
        **overrides,
    }
    return LedgerConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def ledger(nats_url: str, tmp_path: Path, services: Services) -> LedgerServer:
    return await services.ledger(ledger_config(nats_url, tmp_path))
