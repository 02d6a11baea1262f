"""SIGKILL during a write burst, then restart: nothing acknowledged is lost and nothing is corrupt.

The cache runs as a real child process (`python -m services.cache`) with snapshots every 50 ms, so kills land
during index saves as well as during SQLite commits.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import grpc
import pytest
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.cache.v1 import cache_service_pb2_grpc as cache_grpc

from shared.processes import Child, free_port, python_module, wait_healthy
from tests.cache.conftest import SERVICE, answer, chat, new_tenant, scope
from tests.support.eventually import eventually

pytestmark = [pytest.mark.model, pytest.mark.slow]

TOPICS = ["billing", "shipping", "returns", "passwords", "invoices", "accounts", "refunds", "coupons"]


def start_child(tmp_path: Path, nats_url: str, models_root: Path, port: int, run: int) -> Child:
    env = {
        "BOURSE_CACHE_LISTEN": f"127.0.0.1:{port}",
        "BOURSE_CACHE_NATS_URL": nats_url,
        "BOURSE_CACHE_MODELS_DIR": str(models_root),
        "BOURSE_CACHE_DATA_DIR": str(tmp_path / "data"),
        "BOURSE_CACHE_SNAPSHOT_INTERVAL_S": "0.05",
        "BOURSE_CACHE_REPLICATION": "false",
        "BOURSE_CACHE_LOG_LEVEL": "warning",
    }
    child = Child(f"cache-{run}", python_module("services.cache"), tmp_path / f"cache-{run}.log", env=env)
    child.start()
    return child


def question(i: int) -> str:
    return f"Question {i}: how does the {TOPICS[i % len(TOPICS)]} process work for order {i}?"


async def test_sigkill_during_a_write_burst_loses_nothing_acknowledged(
    tmp_path: Path, nats_url: str, models_root: Path, minilm_dir: Path
) -> None:
    tenant = new_tenant()
    acknowledged: dict[int, str] = {}
    next_id = 0
    for run in range(2):
        port = free_port()
        child = start_child(tmp_path, nats_url, models_root, port, run)
        try:
            await wait_healthy(f"127.0.0.1:{port}", SERVICE, timeout_s=60, child=child)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = cache_grpc.CacheServiceStub(channel)  # type: ignore[no-untyped-call]
                target = len(acknowledged) + 40

                async def writer(stub: cache_grpc.CacheServiceStub = stub) -> None:
                    nonlocal next_id
                    while True:
                        i = next_id
                        next_id += 1
                        reply = await stub.Store(
                            cache_pb.StoreRequest(chat=chat(question(i)), scope=scope(tenant), answer=answer(f"a{i}"))
                        )
                        assert reply.stored
                        acknowledged[i] = reply.entry_key

                writers = [asyncio.create_task(writer()) for _ in range(4)]
                await eventually(
                    lambda target=target: len(acknowledged) >= target,
                    timeout_s=60,
                    interval_s=0.01,
                    what=f"{target} acknowledged",
                )
                child.kill()  # SIGKILL with writes in flight
                results = await asyncio.gather(*writers, return_exceptions=True)
                assert all(isinstance(r, grpc.aio.AioRpcError) for r in results)
        finally:
            child.stop()

    with sqlite3.connect(tmp_path / "data" / "entries.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    port = free_port()
    child = start_child(tmp_path, nats_url, models_root, port, 99)
    try:
        await wait_healthy(f"127.0.0.1:{port}", SERVICE, timeout_s=60, child=child)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = cache_grpc.CacheServiceStub(channel)  # type: ignore[no-untyped-call]
            stats = await stub.Stats(cache_pb.StatsRequest())
            assert stats.entries >= len(acknowledged)  # stores in flight at the kill may have committed too
            for i, key in acknowledged.items():
                hit = await stub.Lookup(cache_pb.LookupRequest(chat=chat(question(i)), scope=scope(tenant)))
                assert (hit.match, hit.entry_key, hit.answer.completion.content) == (
                    cache_pb.MATCH_KIND_EXACT,
                    key,
                    f"a{i}",
                )
            for i in list(acknowledged)[:5]:
                # A rewrite the strict verifier affirms: case, punctuation and politeness only.
                paraphrase = "Hi! " + question(i).lower().rstrip("?") + ", please?"
                hit = await stub.Lookup(cache_pb.LookupRequest(chat=chat(paraphrase), scope=scope(tenant)))
                assert hit.match == cache_pb.MATCH_KIND_SEMANTIC and hit.answer.completion.content == f"a{i}"
    finally:
        child.stop()
