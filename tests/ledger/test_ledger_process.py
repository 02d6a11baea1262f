"""`python -m services.ledger` starts from environment configuration, serves health, and stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

import aiohttp
import pytest

from shared.processes import Child, free_port, python_module, wait_healthy

pytestmark = pytest.mark.slow  # the ledger as a child process: seconds each


async def test_ledger_process_serves_and_stops_on_sigterm(nats_url: str, tmp_path: Path) -> None:
    grpc_port, http_port = free_port(), free_port()
    child = Child(
        "ledger",
        python_module("services.ledger"),
        tmp_path / "ledger.log",
        env={
            "BOURSE_LEDGER_LISTEN": f"127.0.0.1:{grpc_port}",
            "BOURSE_LEDGER_HTTP_LISTEN": f"127.0.0.1:{http_port}",
            "BOURSE_LEDGER_NATS_URL": nats_url,
            "BOURSE_LEDGER_DB_PATH": str(tmp_path / "ledger.duckdb"),
            "BOURSE_LEDGER_CONSUMER_NAME": "ledger-process-test",
        },
    )
    child.start()
    try:
        await wait_healthy(f"127.0.0.1:{grpc_port}", "bourse.ledger.v1.LedgerService", child=child)
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{http_port}/healthz") as response:
            assert response.status == 200
        assert child.stop(timeout_s=15, sig=signal.SIGTERM) == 0, (tmp_path / "ledger.log").read_text()[-2000:]
    finally:
        child.kill()


async def test_ledger_refuses_an_unknown_config_key(tmp_path: Path) -> None:
    config = tmp_path / "ledger.json"
    config.write_text('{"listen": "127.0.0.1:0", "db_pth": "x"}')
    child = Child(
        "ledger", python_module("services.ledger"), tmp_path / "bad.log", env={"BOURSE_LEDGER_CONFIG": str(config)}
    )
    child.start()
    assert child.proc is not None
    assert child.proc.wait(30) != 0
    assert "db_pth" in (tmp_path / "bad.log").read_text()
