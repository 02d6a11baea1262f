"""The Node.js example subscriber (npm package `nats`) prints cost events and budget alerts from a real NATS.

Needs node and `npm ci` in examples/node-subscriber (the test runs `npm ci` when node_modules is missing).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import msgspec
import pytest
from nats.aio.client import Client as NATS

from shared.events import streams, subjects
from shared.events.schemas import BudgetAlert, CostEvent

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-subscriber"


@pytest.fixture(scope="module")
def node_example() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are required (Debian: apt-get install -y nodejs npm)")
    if not (EXAMPLE / "node_modules" / "nats").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=EXAMPLE, check=True, timeout=300)
    return EXAMPLE


async def _line(stream: asyncio.StreamReader, timeout_s: float = 20.0) -> str:
    line = await asyncio.wait_for(stream.readline(), timeout_s)
    if not line:
        raise AssertionError("subscriber exited")
    return line.decode().strip()


async def test_node_subscriber_prints_cost_events_and_alerts(node_example: Path, nats_url: str, nc: NATS) -> None:
    tenant = f"acme.{uuid.uuid4().hex[:6]}"  # a dot, so the subject token is escaped
    proc = await asyncio.create_subprocess_exec(
        "node",
        "subscriber.js",
        "--tenant",
        tenant,
        "--json",
        cwd=node_example,
        env={**os.environ, "BOURSE_NATS_URL": nats_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert (await _line(proc.stderr)).startswith("ready:")
        js = nc.jetstream()
        await streams.ensure_streams(js)
        cost = CostEvent(
            request_id="req-1",
            ts_ms=1_790_000_000_000,
            tenant=tenant,
            provider="openai",
            model="gpt-4o-mini",
            served_from="remote",
            task_kind="chat",
            prompt_tokens=120,
            completion_tokens=30,
            cost_micro_usd=36,
        )
        await js.publish(subjects.cost(tenant), msgspec.json.encode(cost), headers={"Nats-Msg-Id": "req-1"})
        printed = json.loads(await _line(proc.stdout))
        assert printed["kind"] == "cost"
        assert printed["event"] == msgspec.to_builtins(cost)
        alert = BudgetAlert(
            ts_ms=1,
            tenant=tenant,
            limit="daily",
            threshold_pct=80,
            spent_micro_usd=800,
            limit_micro_usd=1000,
            period="2026-11-28",
        )
        await js.publish(subjects.budget_alert(tenant), msgspec.json.encode(alert))
        printed = json.loads(await _line(proc.stdout))
        assert (printed["kind"], printed["event"]["threshold_pct"]) == ("budget_alert", 80)
        # A malformed event is reported on stderr, not printed as an event.
        await nc.publish(subjects.cost(tenant), b'{"request_id": 1}')
        complaint = await _line(proc.stderr)
        assert complaint.startswith("invalid cost") and "missing tenant" in complaint
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)
