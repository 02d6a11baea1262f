"""Prometheus metrics on metrics_listen: RPCs, upstream latency, time to first token, errors by reason."""

from __future__ import annotations

import aiohttp
import grpc
import pytest
from bourse.provider.v1 import provider_service_pb2 as pb
from bourse.provider.v1 import provider_service_pb2_grpc as pb_grpc

from services.provider_adapter.config import AdapterConfig
from services.provider_adapter.server import create_server
from shared.logging import get_logger
from shared.processes import free_port
from shared.serving import insecure_channel
from tests.provider_adapter.chat_requests import user_chat


async def test_metrics_endpoint(sim_url: str) -> None:
    port = free_port()
    config = AdapterConfig(listen="127.0.0.1:0", simulator_url=sim_url, metrics_listen=f"127.0.0.1:{port}")
    service = await create_server(config, get_logger("metrics-test"), environ={})
    await service.start()
    channel = insecure_channel(f"127.0.0.1:{service.port}")
    try:
        stub = pb_grpc.ProviderServiceStub(channel)
        await stub.Complete(pb.CompleteRequest(provider="openai", model="m-metrics", chat=user_chat()))
        async for _ in stub.CompleteStream(
            pb.CompleteStreamRequest(provider="gemini", model="m-metrics", chat=user_chat())
        ):
            pass
        with pytest.raises(grpc.aio.AioRpcError):
            await stub.Complete(pb.CompleteRequest(provider="nope", model="m", chat=user_chat()))
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    finally:
        await channel.close()
        await service.stop(0.1)
    assert 'bourse_provider_adapter_requests_total{method="Complete"} 2.0' in text
    assert 'bourse_provider_adapter_upstream_latency_seconds_count{model="m-metrics",provider="openai"} 1.0' in text
    assert 'bourse_provider_adapter_time_to_first_token_seconds_count{model="m-metrics",provider="gemini"} 1.0' in text
    assert 'bourse_provider_adapter_errors_total{method="Complete",reason="UNKNOWN_PROVIDER"} 1.0' in text
