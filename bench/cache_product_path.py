"""Cache product path: the frozen test split through CacheService, Store then Lookup, each pair in a fresh namespace.

    python -m bench.cache_product_path [--split test] [--limit 0] [--mode strict]

Starts nats-server and `python -m services.cache` (default settings unless --mode), then for each generated pair
stores the first question's answer under a tenant of its own and looks the second one up over gRPC. A hit on a
hard negative is a wrong answer served; a hit on a paraphrase is a saving.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.cache.v1 import cache_service_pb2_grpc as cache_grpc

from bench.cache_pairs import load
from shared.processes import Child, NatsServer, free_port, python_module, wait_healthy
from tests.cache.conftest import answer, chat, scope


async def run(split: str, limit: int, mode: str) -> None:
    pairs = load(split)
    if limit:
        pairs = pairs[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        nats = NatsServer(data_dir=Path(tmp) / "nats")
        nats.start()
        port = free_port()
        env = {
            "BOURSE_CACHE_LISTEN": f"127.0.0.1:{port}",
            "BOURSE_CACHE_NATS_URL": nats.url,
            "BOURSE_CACHE_DATA_DIR": str(Path(tmp) / "cache"),
            "BOURSE_CACHE_LOG_LEVEL": "warning",
        }
        if mode:
            env["BOURSE_CACHE_SEMANTIC_MODE"] = mode
        child = Child("cache", python_module("services.cache"), Path(tmp) / "cache.log", env=env)
        child.start()
        try:
            await wait_healthy(f"127.0.0.1:{port}", "bourse.cache.v1.CacheService", timeout_s=120, child=child)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = cache_grpc.CacheServiceStub(channel)  # type: ignore[no-untyped-call]
                false_by_kind: Counter[str] = Counter()
                reasons: Counter[str] = Counter()
                hits = negatives = 0
                started = time.perf_counter()
                for index, pair in enumerate(pairs):
                    tenant = f"pair-{index}"
                    await stub.Store(
                        cache_pb.StoreRequest(chat=chat(pair["stored"]), scope=scope(tenant), answer=answer("a"))
                    )
                    response = await stub.Lookup(cache_pb.LookupRequest(chat=chat(pair["query"]), scope=scope(tenant)))
                    hit = response.match != cache_pb.MATCH_KIND_UNSPECIFIED
                    if pair["label"] == 0:
                        negatives += 1
                        false_by_kind[pair["kind"]] += hit
                        reasons[response.decision.reason] += 1
                    else:
                        hits += hit
                elapsed = time.perf_counter() - started
            positives = len(pairs) - negatives
            false_hits = sum(false_by_kind.values())
            print(
                f"{split} split through CacheService (mode {mode or 'default'}), {len(pairs)} pairs in {elapsed:.0f} s"
            )
            print(f"wrong answers served: {false_hits}/{negatives} ({false_hits / max(negatives, 1):.2%})")
            print(f"paraphrases served: {hits}/{positives} ({hits / max(positives, 1):.1%})")
            print(f"wrong answers by kind: {dict(+false_by_kind)}")
            print(f"decisions on hard negatives: {dict(reasons.most_common())}")
        finally:
            child.stop()
            nats.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=["tune", "test"])
    parser.add_argument("--limit", type=int, default=0, help="only the first N pairs (0: all)")
    parser.add_argument("--mode", default="", choices=["", "strict", "balanced", "off"], help="semantic mode")
    args = parser.parse_args()
    asyncio.run(run(args.split, args.limit, args.mode))


if __name__ == "__main__":
    main()
