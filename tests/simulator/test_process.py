"""`python -m services.simulator` and `python -m services.provider_adapter` as real processes, stopped by SIGTERM."""

from __future__ import annotations

from pathlib import Path

import pytest
from bourse.provider.v1 import provider_service_pb2 as pb
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from shared.processes import Child, free_port, python_module, wait_healthy
from shared.serving import insecure_channel
from tests.provider_adapter.chat_requests import user_chat
from tests.support.readiness import wait_http_ok

pytestmark = pytest.mark.slow  # the simulator and adapter as child processes: seconds each


async def test_simulator_and_adapter_processes(tmp_path: Path) -> None:
    sim_port, adapter_port = free_port(), free_port()
    sim_url = f"http://127.0.0.1:{sim_port}"
    simulator = Child(
        "simulator",
        python_module("services.simulator"),
        tmp_path / "simulator.log",
        env={"BOURSE_SIMULATOR_LISTEN": f"127.0.0.1:{sim_port}", "BOURSE_SIMULATOR_SEED": "5"},
    )
    adapter = Child(
        "provider_adapter",
        python_module("services.provider_adapter"),
        tmp_path / "adapter.log",
        # No provider keys: everything goes to the simulator. Keys set in this environment are cleared.
        env={
            "BOURSE_ADAPTER_LISTEN": f"127.0.0.1:{adapter_port}",
            "BOURSE_ADAPTER_SIMULATOR_URL": sim_url,
            "OPENAI_API_KEY": "",
            "ANTHROPIC_API_KEY": "",
            "GEMINI_API_KEY": "",
            "GOOGLE_API_KEY": "",
        },
    )
    simulator.start()
    adapter.start()
    try:
        await wait_http_ok(f"{sim_url}/healthz", child=simulator)
        await wait_healthy(f"127.0.0.1:{adapter_port}", "bourse.provider.v1.ProviderService", child=adapter)
        channel = insecure_channel(f"127.0.0.1:{adapter_port}")
        try:
            stub = pb_grpc.ProviderServiceStub(channel)
            for provider in ("openai", "anthropic", "gemini"):
                reply = await stub.Complete(pb.CompleteRequest(provider=provider, model="demo", chat=user_chat()))
                assert reply.completion.content
        finally:
            await channel.close()
    finally:
        assert adapter.stop() == 0, adapter.fail("did not exit cleanly")
        assert simulator.stop() == 0, simulator.fail("did not exit cleanly")
    log = (tmp_path / "adapter.log").read_text()
    assert '"event":"stopped"' in log
    assert '"simulator"' in log  # the routes line says where each provider is sent
