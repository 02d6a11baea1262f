"""Time from a price publish to its application, and telemetry events/s one router absorbs over NATS.

    python -m bench.router_pricing [--models 500] [--updates 200] [--events 20000]

Starts its own nats-server (JetStream, temporary directory) and one MarketFeed on a widened manifest with a
Selector attached (so each swap also rebuilds the selection index, as in the router).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.router_selection import _events, _percentile, wide_manifest
from services.router.api import (
    AlwaysAvailable,
    LiveStats,
    MarketFeed,
    PriceBook,
    PriceTable,
    Selector,
    TokenEstimator,
    encode_update,
)
from shared.events import subjects
from shared.events.connect import connect
from shared.events.publisher import EventPublisher
from shared.events.schemas import PriceUpdate
from shared.logging import configure_logging, get_logger
from shared.processes import NatsServer


async def run(url: str, models: int, updates: int, events: int) -> None:
    logger = get_logger("bench")
    book = PriceBook.from_manifest(wide_manifest(models))
    stats = LiveStats(book)
    estimator = TokenEstimator()
    Selector(book, stats, estimator, AlwaysAvailable())  # reindexes on every swap, as in the router
    applied_at: list[float] = []
    applied = asyncio.Event()

    def on_swap(_: PriceTable) -> None:
        applied_at.append(time.perf_counter())
        applied.set()

    book.on_swap(on_swap)
    nc = await connect([url], logger, name="bench-router")
    publisher_nc = await connect([url], logger, name="bench-publisher")
    feed = MarketFeed(nc, book, stats, estimator, logger, telemetry_replay_s=0)
    await feed.start()
    js = publisher_nc.jetstream()
    entry = next(e for e in book.current.entries if e.provider != "local")
    delays_ms: list[float] = []
    for index in range(updates):
        price = round(entry.prices.input_per_mtok * (1.0 + 0.001 * (index % 50 + 1)), 6)
        update = PriceUpdate(provider=entry.provider, model=entry.model, input_per_mtok=price)
        applied.clear()
        started = time.perf_counter()
        await js.publish(subjects.pricing(entry.provider, entry.model), encode_update(update))
        await asyncio.wait_for(applied.wait(), timeout=10)
        delays_ms.append((applied_at[-1] - started) * 1000)
    swap_started = time.perf_counter()
    for index in range(50):
        book.apply(PriceUpdate(provider=entry.provider, model=entry.model, output_per_mtok=1.0 + index / 1000))
    swap_ms = (time.perf_counter() - swap_started) * 1000 / 50

    await feed.close()

    # Telemetry: fill the stream first, then let a fresh feed replay it, so only the router's side is timed.
    payloads = _events(book, events)
    publisher = EventPublisher(nc=publisher_nc, logger=logger, max_in_flight=1024)
    publisher.start()
    run_id = time.time_ns()
    for index, payload in enumerate(payloads):
        publisher.enqueue_raw(subjects.telemetry("bench", "m"), payload, msg_id=f"bench-{run_id}-{index}")
    await publisher.close(timeout_s=120)
    reader = MarketFeed(nc, book, stats, estimator, logger, telemetry_replay_s=3600)
    started = time.perf_counter()
    await reader.start()
    while reader.telemetry_events < events:  # noqa: ASYNC110 -- the counter belongs to the feed
        await asyncio.sleep(0.005)
    absorb_s = time.perf_counter() - started
    await reader.close()
    await nc.drain()
    await publisher_nc.drain()

    print(f"machine: {os.cpu_count()} cores shared with other work; {len(book.current)} models")
    print(
        f"publish -> applied ({updates} updates, JetStream ack + delivery + validation + swap + reindex):"
        f" p50 {_percentile(delays_ms, 0.5):.2f} ms, p99 {_percentile(delays_ms, 0.99):.2f} ms,"
        f" max {max(delays_ms):.2f} ms, mean {statistics.fmean(delays_ms):.2f} ms"
    )
    print(f"apply + selection reindex alone: {swap_ms:.2f} ms per update")
    print(f"telemetry replayed from JetStream into live stats + estimator: {events / absorb_s:,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=500)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    configure_logging("error")
    with tempfile.TemporaryDirectory() as tmp:
        server = NatsServer(data_dir=Path(tmp) / "data")
        server.start()
        try:
            asyncio.run(run(server.url, args.models, args.updates, args.events))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
