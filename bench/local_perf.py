"""Speed and memory of the local model: load time, RSS, tokens/s single and batched, TTFT, and p50/p99 latency
of a 20-token answer over gRPC at concurrency 1/4/16, for each thread layout (inter_threads x intra_threads).

    python -m bench.local_perf [--model-dir DIR] [--requests 48] [--layouts 1x2,2x1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

import grpc
from bourse.common.v1 import chat_pb2
from bourse.inference.v1 import inference_service_pb2 as pb
from bourse.inference.v1 import inference_service_pb2_grpc as pb_grpc

from services.local_inference.api import (
    ChatTurn,
    DecodeParams,
    EngineOptions,
    InferenceConfig,
    LocalModel,
    Scheduler,
    SchedulerOptions,
    create_server,
)
from shared.logging import configure_logging, get_logger

LONG_PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle works.",
    "Describe a walk through a forest in autumn.",
    "Write a letter to a friend about your holiday.",
]
SHORT_PROMPTS = [
    "Describe the city of Paris.",
    "Tell me about the ocean.",
    "What do you know about elephants?",
    "Describe your favourite meal.",
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def core_numbers(model: LocalModel) -> dict[str, float]:
    scheduler = Scheduler(model, SchedulerOptions(max_batch_size=8, max_wait_s=0.005, max_queue=256))
    scheduler.start()
    try:
        params = DecodeParams(max_tokens=128)
        prompts = [model.prompt_ids([ChatTurn("user", text)]) for text in LONG_PROMPTS]
        await scheduler.generate(prompts[0], DecodeParams(max_tokens=8), (), None)  # warm-up
        tokens = 0
        started = time.perf_counter()
        for prompt in prompts:
            tokens += (await scheduler.generate(prompt, params, (), None)).completion_tokens
        single = tokens / (time.perf_counter() - started)
        batch = [prompts[i % len(prompts)] for i in range(8)]
        started = time.perf_counter()
        results = await asyncio.gather(*(scheduler.generate(p, params, (), None) for p in batch))
        batched = sum(r.completion_tokens for r in results) / (time.perf_counter() - started)
        ttfts = []
        for prompt in prompts * 2:
            started = time.perf_counter()
            stream = scheduler.generate_stream(prompt, DecodeParams(max_tokens=8), (), None)
            first: float | None = None
            async for _delta in stream.deltas():
                first = first or time.perf_counter() - started
            await stream.result()
            if first is not None:
                ttfts.append(first)
        return {
            "tokens_per_s_single": single,
            "tokens_per_s_batch8": batched,
            "ttft_ms_p50": statistics.median(ttfts) * 1000,
        }
    finally:
        await scheduler.stop()


async def latency_over_grpc(model_dir: Path, inter: int, intra: int, requests: int) -> dict[int, tuple[float, float]]:
    config = InferenceConfig(
        listen="127.0.0.1:0",
        model_dir=str(model_dir),
        embed_model_dir="off",
        inter_threads=inter,
        intra_threads=intra,
        max_batch_size=16,
        max_queue=256,
    )
    service = await create_server(config, get_logger("bench"))
    await service.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    stub = pb_grpc.InferenceServiceStub(channel)
    out: dict[int, tuple[float, float]] = {}
    try:
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(1200):  # the model loads in the background; give it a minute
            if (await health.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING:
                break
            await asyncio.sleep(0.05)

        def request(i: int) -> pb.GenerateRequest:
            message = chat_pb2.Message(
                role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=SHORT_PROMPTS[i % len(SHORT_PROMPTS)])]
            )
            sampling = chat_pb2.SamplingParams(max_tokens=20)
            return pb.GenerateRequest(chat=chat_pb2.ChatRequest(messages=[message], sampling=sampling))

        await stub.Generate(request(0))  # warm-up
        for concurrency in (1, 4, 16):
            gate = asyncio.Semaphore(concurrency)
            latencies: list[float] = []

            async def one(i: int, gate: asyncio.Semaphore = gate, latencies: list[float] = latencies) -> None:
                async with gate:
                    started = time.perf_counter()
                    await stub.Generate(request(i))
                    latencies.append(time.perf_counter() - started)

            await asyncio.gather(*(one(i) for i in range(requests)))
            out[concurrency] = (percentile(latencies, 0.5), percentile(latencies, 0.99))
    finally:
        await channel.close()
        await service.stop(1.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=48, help="requests per concurrency level")
    parser.add_argument("--layouts", default="1x2,2x1", help="inter x intra thread layouts to compare")
    args = parser.parse_args()
    configure_logging("warning")
    if args.model_dir is None:
        from services.local_inference.api import ensure_smollm2

        args.model_dir = ensure_smollm2()
    print(f"model: {args.model_dir.name}  cpus: {os.cpu_count()}  loadavg: {os.getloadavg()[0]:.1f}")
    before = rss_mb()
    started = time.perf_counter()
    model = LocalModel(args.model_dir, EngineOptions(inter_threads=1, intra_threads=2))
    load_s = time.perf_counter() - started
    print(f"load: {load_s:.2f} s   RSS: {rss_mb():.0f} MB (+{rss_mb() - before:.0f} MB for the model)")
    numbers = asyncio.run(core_numbers(model))
    print(
        f"tokens/s single stream: {numbers['tokens_per_s_single']:.0f}"
        f"   batch of 8: {numbers['tokens_per_s_batch8']:.0f}   TTFT p50: {numbers['ttft_ms_p50']:.0f} ms"
    )
    model.close()
    print("20-token answer latency over gRPC, p50 / p99 in ms:")
    for layout in args.layouts.split(","):
        inter, intra = (int(part) for part in layout.split("x"))
        result = asyncio.run(latency_over_grpc(args.model_dir, inter, intra, args.requests))
        cells = "   ".join(f"c={c}: {p50 * 1000:.0f} / {p99 * 1000:.0f}" for c, (p50, p99) in result.items())
        print(f"  inter={inter} intra={intra}   {cells}")


if __name__ == "__main__":
    main()
