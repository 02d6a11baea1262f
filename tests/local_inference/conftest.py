"""Fixtures: the tiny random model (GGUF -> CTranslate2 through our converter) and services built on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from bourse.inference.v1 import inference_service_pb2_grpc as pb_grpc

from services.local_inference.config import InferenceConfig
from services.local_inference.convert.gguf_to_ct2 import convert_gguf
from services.local_inference.core.engine import EngineOptions, LocalModel
from shared.serving import ServiceServer
from tests.local_inference.tiny_model import write_tiny_gguf
from tests.support.services import LOOPBACK_ANY_PORT, Services


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


class RunningService:
    def __init__(self, started: Services, service: ServiceServer) -> None:
        self.started = started
        self.service = service
        self.channel = started.channel(f"127.0.0.1:{service.port}")
        self.stub = pb_grpc.InferenceServiceStub(self.channel)


async def start_service(config: InferenceConfig, *, wait: bool = True) -> RunningService:
    """Local inference through the shared harness; with `wait`, once health says SERVING."""
    started = Services(grace_s=1.0)
    return RunningService(started, await started.inference(config, wait=wait))


async def stop_service(running: RunningService) -> None:
    await running.started.close()


@pytest.fixture
async def tiny_service(tiny_model_dir: Path) -> AsyncIterator[RunningService]:
    config = InferenceConfig(
        listen=LOOPBACK_ANY_PORT,
        model_dir=str(tiny_model_dir),
        embed_model_dir="off",
        intra_threads=1,
        max_batch_wait_ms=2.0,
    )
    running = await start_service(config)
    yield running
    await stop_service(running)
