"""Fixtures: the tiny random model (GGUF -> CTranslate2 through our converter) and services built on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from bourse.common.v1 import chat_pb2
from bourse.inference.v1 import inference_service_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.local_inference.config import InferenceConfig
from services.local_inference.convert.gguf_to_ct2 import convert_gguf
from services.local_inference.core.engine import EngineOptions, LocalModel
from services.local_inference.server import create_server
from shared.logging import get_logger
from shared.serving import ServiceServer
from tests.local_inference.tiny_model import write_tiny_gguf


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gguf") / "tiny.gguf"
    write_tiny_gguf(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("ct2") / "tiny"
    convert_gguf(tiny_gguf, target, name="tiny-test")
    return target


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> Iterator[LocalModel]:
    model = LocalModel(tiny_model_dir, EngineOptions(inter_threads=1, intra_threads=1))
    yield model
    model.close()


def user_chat(text: str, *, system: str = "", **sampling: object) -> chat_pb2.ChatRequest:
    messages = []
    if system:
        messages.append(chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, content=[chat_pb2.ContentPart(text=system)]))
    messages.append(chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)]))
    return chat_pb2.ChatRequest(messages=messages, sampling=chat_pb2.SamplingParams(**sampling))  # type: ignore[arg-type]


async def wait_health(channel: grpc.aio.Channel, want: int, *, timeout_s: float = 30.0) -> None:
    """Poll health until it reports `want` (health_pb2 status), failing after the deadline."""
    stub = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + timeout_s
    while True:
        status = (await stub.Check(health_pb2.HealthCheckRequest(service=""))).status
        if status == want:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"health stayed {status}, wanted {want}")
        await asyncio.sleep(0.02)


class RunningService:
    def __init__(self, service: ServiceServer, channel: grpc.aio.Channel) -> None:
        self.service = service
        self.channel = channel
        self.stub = pb_grpc.InferenceServiceStub(channel)


async def start_service(config: InferenceConfig, *, wait: bool = True) -> RunningService:
    service = await create_server(config, get_logger("local_inference_test"))
    await service.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    if wait:
        await wait_health(channel, health_pb2.HealthCheckResponse.SERVING)
    return RunningService(service, channel)


async def stop_service(running: RunningService) -> None:
    await running.channel.close()
    await running.service.stop(1.0)


@pytest.fixture
async def tiny_service(tiny_model_dir: Path) -> AsyncIterator[RunningService]:
    config = InferenceConfig(
        listen="127.0.0.1:0",
        model_dir=str(tiny_model_dir),
        embed_model_dir="off",
        intra_threads=1,
        max_batch_wait_ms=2.0,
    )
    running = await start_service(config)
    yield running
    await stop_service(running)
