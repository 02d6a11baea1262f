"""The Node.js example (examples/node-client) run with `node` against the real router and NATS.

CI installs its packages with `npm ci --prefix examples/node-client`; the fixture runs that itself when
node_modules is missing, so the test needs only node and npm on PATH.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.gateway.conftest import RealStack

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "node-client"


@pytest.fixture(scope="session")
def node() -> str:
    binary = shutil.which("node")
    if binary is None:
        pytest.fail("node is not installed: install Node.js 20 (apt-get install nodejs npm)")
    if not (EXAMPLE / "node_modules" / "@grpc" / "grpc-js").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is not installed: needed for `npm ci --prefix examples/node-client`")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=EXAMPLE, check=True, timeout=300)
    return binary


async def _node(node: str, script: str, *args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        node,
        str(EXAMPLE / script),
        *args,
        env={"PATH": "/usr/bin:/bin", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_node_route_and_route_stream(real_stack: RealStack, node: str) -> None:
    proc = await _node(
        node,
        "route.js",
        "Say hello from Node",
        "node-tenant",
        env={"BOURSE_ROUTER": f"127.0.0.1:{real_stack.router_port}"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    route, stream = (json.loads(line) for line in out.decode().splitlines())
    assert route["call"] == "Route"
    assert route["content"]
    assert route["served_from"] == "SERVED_FROM_REMOTE"
    assert int(route["cost_micro_usd"]) > 0
    assert stream["call"] == "RouteStream"
    assert stream["deltas"] > 0
    assert stream["content"]
    assert int(stream["usage"]["completion_tokens"]) > 0


async def test_node_client_reports_router_errors(real_stack: RealStack, node: str) -> None:
    proc = await _node(node, "route.js", "", env={"BOURSE_ROUTER": f"127.0.0.1:{real_stack.router_port}"})
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    for line in out.decode().splitlines():
        assert json.loads(line)["error"]["status"] == "INVALID_ARGUMENT"


async def test_node_cost_event_subscriber(real_stack: RealStack, node: str) -> None:
    subscriber = await _node(node, "cost-events.js", "node-costs", "1", env={"BOURSE_NATS_URL": real_stack.nats_url})
    assert subscriber.stderr is not None
    ready = await asyncio.wait_for(subscriber.stderr.readline(), 30)
    assert b"subscribed" in ready
    client = await _node(
        node, "route.js", "cost me", "node-costs", env={"BOURSE_ROUTER": f"127.0.0.1:{real_stack.router_port}"}
    )
    _, err = await asyncio.wait_for(client.communicate(), 60)
    assert client.returncode == 0, err.decode()
    out, _ = await asyncio.wait_for(subscriber.communicate(), 30)
    assert subscriber.returncode == 0
    event = json.loads(out.decode().splitlines()[0])
    assert event["tenant"] == "node-costs"
    assert event["subject"] == "bourse.cost.node-costs"
    assert event["cost_usd"] > 0
