"""Fixtures for the cache tests: the real MiniLM converted once per session, a request builder, and cache servers
on port 0 against the session's nats-server."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.cache.v1 import cache_service_pb2_grpc as cache_grpc
from bourse.common.v1 import chat_pb2, routing_pb2

from services.cache.config import CacheConfig
from services.cache.server import CacheService
from shared.embedding.convert import ensure_minilm
from shared.embedding.encoder import SentenceEncoder
from tests.support import requests
from tests.support.services import LOOPBACK_ANY_PORT, Services

SERVICE = "bourse.cache.v1.CacheService"
CACHE_SYSTEM = "You are a helpful assistant."


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
    text: str, *, system: str = CACHE_SYSTEM, temperature: float | None = 0.0, **fields: object
) -> chat_pb2.ChatRequest:
    """The shared chat builder with the cache tests' defaults: a system prompt and temperature 0 (cacheable)."""
    if temperature is not None:
        fields["temperature"] = temperature
    return requests.chat(text, system=system, **fields)


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
async def start_cache(
    nats_url: str, models_root: Path, minilm_dir: Path, tmp_path: Path, services: Services
) -> StartCache:
    async def start(
        name: str = "a", *, wait: bool = True, **overrides: object
    ) -> tuple[CacheService, cache_grpc.CacheServiceStub]:
        settings: dict[str, object] = {
            "listen": LOOPBACK_ANY_PORT,
            "nats_url": nats_url,
            "models_dir": str(models_root),
            "data_dir": str(tmp_path / name),
            "replication": False,
            "replica_id": name,
            "snapshot_interval_s": 0.2,
            "sweep_interval_s": 0.2,
        }
        settings.update(overrides)
        service = await services.cache(CacheConfig(**settings), wait=wait)  # type: ignore[arg-type]
        channel = services.channel(f"127.0.0.1:{service.service.port}")
        return service, cache_grpc.CacheServiceStub(channel)  # type: ignore[no-untyped-call]

    return start
