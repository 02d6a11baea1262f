"""Fixtures for the cache tests: the real MiniLM converted once per session, a request builder, and cache servers
on port 0 against the session's nats-server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.cache.v1 import cache_service_pb2_grpc as cache_grpc
from bourse.common.v1 import chat_pb2, routing_pb2

from services.cache.config import CacheConfig
from services.cache.server import CacheService, create_server
from shared.embedding.convert import ensure_minilm
from shared.embedding.encoder import SentenceEncoder
from shared.logging import get_logger
from shared.processes import wait_healthy

SERVICE = "bourse.cache.v1.CacheService"


@pytest.fixture(scope="session")
def models_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def minilm_dir(models_root: Path) -> Path:
    return ensure_minilm(models_root)


@pytest.fixture(scope="session")
def encoder(minilm_dir: Path) -> SentenceEncoder:
    return SentenceEncoder(minilm_dir, compute_type="int8", intra_threads=2)


def chat(
    text: str,
    *,
    system: str = "You are a helpful assistant.",
    history: tuple[tuple[int, str], ...] = (),
    temperature: float | None = 0.0,
    **fields: object,
) -> chat_pb2.ChatRequest:
    messages = [chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, content=[chat_pb2.ContentPart(text=system)])]
    messages += [chat_pb2.Message(role=role, content=[chat_pb2.ContentPart(text=t)]) for role, t in history]  # type: ignore[arg-type]
    messages.append(chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)]))
    request = chat_pb2.ChatRequest(messages=messages, **fields)  # type: ignore[arg-type]
    if temperature is not None:
        request.sampling.temperature = temperature
    return request


def answer(content: str, cost: int = 1200) -> cache_pb.CachedAnswer:
    return cache_pb.CachedAnswer(
        completion=chat_pb2.ChatCompletion(content=content, finish_reason=chat_pb2.FINISH_REASON_STOP),
        provider="openai",
        model="gpt-4.1-mini",
        cost_micro_usd=cost,
    )


def scope(tenant: str, tier: int = routing_pb2.MODEL_TIER_STANDARD) -> cache_pb.CacheScope:
    return cache_pb.CacheScope(tenant_id=tenant, model_tier=tier)  # type: ignore[arg-type]


def new_tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


StartCache = Callable[..., Awaitable[tuple[CacheService, cache_grpc.CacheServiceStub]]]


@pytest.fixture
async def start_cache(nats_url: str, models_root: Path, minilm_dir: Path, tmp_path: Path) -> AsyncIterator[StartCache]:
    started: list[tuple[CacheService, grpc.aio.Channel]] = []

    async def start(
        name: str = "a", *, wait: bool = True, **overrides: object
    ) -> tuple[CacheService, cache_grpc.CacheServiceStub]:
        settings: dict[str, object] = {
            "listen": "127.0.0.1:0",
            "nats_url": nats_url,
            "models_dir": str(models_root),
            "data_dir": str(tmp_path / name),
            "replication": False,
            "replica_id": name,
            "snapshot_interval_s": 0.2,
            "sweep_interval_s": 0.2,
        }
        settings.update(overrides)
        config = CacheConfig(**settings)  # type: ignore[arg-type]
        service = await create_server(config, get_logger("cache-test"))
        await service.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
        started.append((service, channel))
        if wait:
            await wait_healthy(f"127.0.0.1:{service.port}", SERVICE, timeout_s=60)
        return service, cache_grpc.CacheServiceStub(channel)  # type: ignore[no-untyped-call]

    yield start
    for service, channel in reversed(started):
        await channel.close()
        await service.service.stop(1.0)
