"""Cache speed and memory: embedding, search, full lookups, inserts, index bytes per entry, service RSS.

    python -m bench.cache_speed [--compute-type int8] [--large 1000000] [--skip-service]

- embed: one short query through the SentenceEncoder (p50/p99).
- lookup at --entries (100k): ResponseCache.lookup on one namespace (the 999 paraphrase origins, embedded for real,
  plus synthetic neighbours), queried with the paraphrases and with ~64-token queries: embedding + HNSW search +
  verifier + rerank + SQLite; cold (stored-question analyses recomputed for the candidates) and warm.
- service at --entries: the same data directory served by `python -m services.cache`, Lookup over gRPC.
- search at 10k and at --large entries: VectorIndex.search alone on synthetic unit vectors, f16 and i8 storage,
  with recall@1 against exact search.
- insert rate: vectors/s into the HNSW index while building the large index; entries/s through apply_store.
- service RSS: with the entries loaded and after the lookups.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.cache_quality import shared_data
from services.cache.api import CachePolicy, ResponseCache, StoreRecord, VectorIndex, view_request
from shared.embedding.convert import ensure_minilm
from shared.embedding.encoder import SentenceEncoder
from tests.cache.conftest import answer, chat, scope

DIM = 384


def percentiles(samples_s: list[float]) -> str:
    ms = np.array(samples_s) * 1000
    return f"p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms"


def unit(rng: np.random.Generator, n: int) -> np.ndarray:
    vectors = rng.standard_normal((n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def bench_embed(encoder: SentenceEncoder, queries: list[str]) -> None:
    for text in queries[:20]:
        encoder.embed([text])
    samples = []
    for text in queries[:300]:
        start = time.perf_counter()
        encoder.embed([text])
        samples.append(time.perf_counter() - start)
    print(f"embed one query ({encoder.compute_type}): {percentiles(samples)}")


def fill(data_dir: Path, encoder: SentenceEncoder, size: int, rng: np.random.Generator) -> tuple[str, list[str]]:
    """A namespace of `size` entries: the 999 paraphrase origins, embedded for real, plus noisy copies of their
    vectors (so the graph around each query is crowded), written through apply_store."""
    pairs = json.loads(shared_data("paraphrase_pairs.json").read_text(encoding="utf-8"))
    origins = [p["origin"] for p in pairs]
    vectors = np.concatenate([encoder.embed(origins[i : i + 64]) for i in range(0, len(origins), 64)])
    cache = ResponseCache(data_dir=data_dir, encode=encoder.encode, dimensions=DIM, policy=CachePolicy())
    namespace = view_request(chat(origins[0]), scope("bench")).namespace
    filler = size - len(origins)
    base = vectors[rng.integers(0, len(vectors), filler)] + 0.35 * unit(rng, filler)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    records = [(f"synthetic question {i}", base[i]) for i in range(filler)]
    records += [(text, vectors[i]) for i, text in enumerate(origins)]
    start = time.perf_counter()
    now = int(time.time() * 1000)
    for i, (text, vector) in enumerate(records):
        view = view_request(chat(text), scope("bench"))
        cache.apply_store(
            StoreRecord(
                entry_key=view.entry_key,
                namespace=namespace,
                tenant="bench",
                query=text,
                vector=vector.astype(np.float16).tobytes(),
                answer=answer(str(i)).SerializeToString(),
                created_ms=now,
                expires_ms=now + 3_600_000,
            )
        )
    elapsed = time.perf_counter() - start
    print(f"apply_store (SQLite WAL + HNSW add): {len(records) / elapsed:,.0f} entries/s over {len(records):,}")
    cache.close()
    return namespace, [p["similar"] for p in pairs]


def long_query(rng: np.random.Generator, text: str) -> str:
    """The paraphrase padded with context to about 64 tokens, the issue's upper bound for a query."""
    words = "please note that this question comes from our internal support portal for the billing team"
    return text + " (" + " ".join(rng.choice(words.split(), 40)) + ")"


def bench_lookup(encoder: SentenceEncoder, rng: np.random.Generator, size: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        _, queries = fill(Path(data_dir), encoder, size, rng)
        cache = ResponseCache(data_dir=Path(data_dir), encode=encoder.encode, dimensions=DIM, policy=CachePolicy())
        for label, texts in (
            ("paraphrases", queries[:300]),
            ("~64-token queries", [long_query(rng, q) for q in queries[300:500]]),
        ):
            for state in ("cold (stored analyses recomputed)", "warm (stored analyses in memory)"):
                samples, hits = [], 0
                for text in texts:
                    view = view_request(chat(text), scope("bench"))
                    start = time.perf_counter()
                    result = cache.lookup(view)
                    samples.append(time.perf_counter() - start)
                    hits += bool(result.match)
                print(
                    f"lookup at {cache.entries:,} entries, {label}, {state}: {percentiles(samples)}; "
                    f"hits {hits}/{len(texts)}"
                )
        sizes = [a.bytes for a, _ in cache._analyses.values()]
        if sizes:
            print(f"stored-question analysis (word vectors float16 + words): {np.mean(sizes):,.0f} bytes/entry mean")
        cache.close()


def bench_index(rng: np.random.Generator, size: int, dtype: str) -> None:
    vectors = unit(rng, size)
    index = VectorIndex(DIM, dtype)
    start = time.perf_counter()
    for begin in range(0, size, 50_000):
        chunk = vectors[begin : begin + 50_000]
        index.add_many(np.arange(begin, begin + len(chunk), dtype=np.int64), chunk)
    build = time.perf_counter() - start
    queries = vectors[rng.integers(0, size, 500)] + 0.05 * unit(rng, 500)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    for query in queries[:50]:
        index.search(query, 32)
    samples, found = [], 0
    exact_sample = queries[:200]
    truth = np.argmax(exact_sample @ vectors.T, axis=1) if size <= 200_000 else None
    for i, query in enumerate(queries):
        start = time.perf_counter()
        keys, _ = index.search(query, 32)
        samples.append(time.perf_counter() - start)
        if truth is not None and i < len(exact_sample):
            found += int(keys[0] == truth[i])
    recall = f", recall@1 {found / len(exact_sample):.3f}" if truth is not None else ""
    print(
        f"search {dtype} at {size:,}: {percentiles(samples)}{recall}; insert {size / build:,.0f} vectors/s; "
        f"index {index.bytes / size:,.0f} bytes/entry ({index.bytes / 2**20:,.0f} MiB)"
    )


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bench_service(compute_type: str, size: int, encoder: SentenceEncoder, rng: np.random.Generator) -> None:
    import grpc
    from bourse.cache.v1 import cache_service_pb2 as cache_pb
    from bourse.cache.v1 import cache_service_pb2_grpc as cache_grpc

    from shared.processes import Child, NatsServer, free_port, python_module, wait_healthy

    with tempfile.TemporaryDirectory() as tmp:
        _, queries = fill(Path(tmp) / "cache", encoder, size, rng)
        nats = NatsServer(data_dir=Path(tmp) / "nats")
        nats.start()
        port = free_port()
        env = {
            "BOURSE_CACHE_LISTEN": f"127.0.0.1:{port}",
            "BOURSE_CACHE_NATS_URL": nats.url,
            "BOURSE_CACHE_DATA_DIR": str(Path(tmp) / "cache"),
            "BOURSE_CACHE_COMPUTE_TYPE": compute_type,
            "BOURSE_CACHE_LOG_LEVEL": "warning",
            "BOURSE_CACHE_REPLICATION": "false",
        }
        child = Child("cache", python_module("services.cache"), Path(tmp) / "cache.log", env=env)
        child.start()
        try:
            await wait_healthy(f"127.0.0.1:{port}", "bourse.cache.v1.CacheService", timeout_s=300, child=child)
            assert child.proc is not None
            loaded = rss_mib(child.proc.pid)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = cache_grpc.CacheServiceStub(channel)  # type: ignore[no-untyped-call]
                for label, texts in (
                    ("paraphrases", queries[:300]),
                    ("~64-token queries", [long_query(rng, q) for q in queries[300:500]]),
                ):
                    for rounds in ("first", "again"):
                        samples, hits = [], 0
                        for text in texts:
                            request = cache_pb.LookupRequest(chat=chat(text), scope=scope("bench"))
                            begin = time.perf_counter()
                            response = await stub.Lookup(request)
                            samples.append(time.perf_counter() - begin)
                            hits += response.match != cache_pb.MATCH_KIND_UNSPECIFIED
                        print(
                            f"service at {size:,} entries, Lookup over gRPC, {label}, {rounds}: "
                            f"{percentiles(samples)}; hits {hits}/{len(texts)}"
                        )
                start = time.perf_counter()
                for i in range(200):
                    await stub.Store(
                        cache_pb.StoreRequest(
                            chat=chat(f"How do I configure option {i} of the billing page?"),
                            scope=scope("bench"),
                            answer=answer(f"answer {i}"),
                        )
                    )
                store_rate = 200 / (time.perf_counter() - start)
            print(
                f"service: RSS with {size:,} entries loaded {loaded:.0f} MiB, after the lookups "
                f"{rss_mib(child.proc.pid):.0f} MiB; Store over gRPC {store_rate:,.0f}/s (sequential)"
            )
        finally:
            child.stop()
            nats.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--large-dtypes", default="i8", help="index storage types to build at --large entries")
    parser.add_argument("--skip-service", action="store_true")
    parser.add_argument("--entries", type=int, default=100_000, help="entries for the lookup and service runs")
    parser.add_argument("--skip-index", action="store_true", help="skip the search-alone runs")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()}")
    rng = np.random.default_rng(7)
    encoder = SentenceEncoder(ensure_minilm(), compute_type=args.compute_type, intra_threads=2)
    pairs = json.loads(shared_data("paraphrase_pairs.json").read_text(encoding="utf-8"))
    bench_embed(encoder, [p["similar"] for p in pairs])
    bench_lookup(encoder, rng, args.entries)
    if not args.skip_service:
        asyncio.run(bench_service(args.compute_type, args.entries, encoder, rng))
    if not args.skip_index:
        for dtype in ("f16", "i8"):
            bench_index(rng, 10_000, dtype)
        for dtype in args.large_dtypes.split(","):
            bench_index(rng, args.large, dtype)


if __name__ == "__main__":
    main()
