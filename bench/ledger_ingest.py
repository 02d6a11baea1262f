"""Ledger ingest rate: the store alone (DuckDB, and SQLite with the same schema for the choice), and end to end
from JetStream (events already in the stream, drained by the ledger's durable consumer, acked after each write).

    python -m bench.ledger_ingest [--events 200000] [--e2e-events 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from services.ledger.api import REQUEST_COLUMNS, LedgerConfig, LedgerStore, create_server, request_row
from shared.events import streams, subjects
from shared.events.connect import connect
from shared.events.publisher import EventPublisher
from shared.logging import configure_logging, get_logger
from shared.processes import NatsServer

from .ledger_fixtures import events


def duckdb_rate(path: Path, batch: list, size: int) -> float:  # type: ignore[type-arg]
    store = LedgerStore(path)
    start = time.perf_counter()
    for i in range(0, len(batch), size):
        store.insert_requests(batch[i : i + size])
    elapsed = time.perf_counter() - start
    assert store.count_requests() == len(batch)
    store.close()
    return len(batch) / elapsed


def sqlite_rate(path: Path, batch: list, size: int) -> float:  # type: ignore[type-arg]
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=FULL")  # durable at commit, as the ledger requires before acking
    con.execute(f"CREATE TABLE requests ({', '.join(REQUEST_COLUMNS)}, PRIMARY KEY (request_id))")
    sql = f"INSERT OR IGNORE INTO requests VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})"
    rows = [request_row(e) for e in batch]
    start = time.perf_counter()
    for i in range(0, len(rows), size):
        with con:
            con.executemany(sql, rows[i : i + size])
    elapsed = time.perf_counter() - start
    con.close()
    return len(rows) / elapsed


async def end_to_end_rate(tmp: Path, n: int, size: int) -> float:
    nats = NatsServer(data_dir=tmp / "nats" / "data", name="nats-bench")
    nats.start()
    logger = get_logger("bench")
    try:
        nc = await connect([nats.url], logger, name="bench-publisher")
        await streams.ensure_streams(nc.jetstream())
        publisher = EventPublisher(nc=nc, logger=logger, max_backlog=n + 1)
        publisher.start()
        for e in events(n, seed=11):
            publisher.publish(subjects.telemetry(e.provider, e.model), e, msg_id=e.request_id)
        assert await publisher.flush(600)
        await publisher.close()
        await nc.close()
        config = LedgerConfig(
            listen="127.0.0.1:0", http_listen="", nats_url=nats.url, db_path=str(tmp / "e2e.duckdb"), fetch_batch=size
        )
        done = asyncio.Event()
        start = time.perf_counter()
        ledger = await create_server(config, logger)
        assert ledger.consumers is not None
        consumers = ledger.consumers

        def stored(_: int) -> None:
            if consumers.stats.stored >= n:
                done.set()

        consumers.on_stored = stored
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.perf_counter() - start
        await ledger.stop(1.0)
        return n / elapsed
    finally:
        nats.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--e2e-events", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=LedgerConfig().fetch_batch, help="events per transaction")
    args = parser.parse_args()
    configure_logging("warning")
    batch = events(args.events)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        duck = duckdb_rate(tmp / "ingest.duckdb", batch, args.batch)
        lite = sqlite_rate(tmp / "ingest.sqlite", batch, args.batch)
        print(f"store ingest, {args.events} events in batches of {args.batch}:")
        print(f"  duckdb  {duck:>10,.0f} events/s")
        print(f"  sqlite  {lite:>10,.0f} events/s (same schema, WAL, synchronous=FULL)")
        rate = asyncio.run(end_to_end_rate(tmp, args.e2e_events, args.batch))
        print(f"end to end from JetStream, {args.e2e_events} events: {rate:,.0f} events/s")


if __name__ == "__main__":
    main()
