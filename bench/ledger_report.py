"""Report query time over a million requests (DuckDB), with SQLite's time for the same grouping as the baseline.

python -m bench.ledger_report [--requests 1000000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from services.ledger.api import (
    REQUEST_COLUMNS,
    DashboardQuery,
    LedgerStore,
    dashboard_view,
    reports,
    request_row,
    snapshot,
)
from shared.events.schemas import Feedback
from shared.pricing.manifest import PriceTier
from shared.pricing.model_prices import ModelPrice

from .ledger_fixtures import T0_MS, events

CHUNK = 50_000


def timed(fn: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), max(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        store = LedgerStore(tmp / "report.duckdb")
        lite = sqlite3.connect(tmp / "report.sqlite")
        lite.execute(f"CREATE TABLE requests ({', '.join(REQUEST_COLUMNS)}, PRIMARY KEY (request_id))")
        start = time.perf_counter()
        for offset in range(0, args.requests, CHUNK):
            chunk = events(min(CHUNK, args.requests - offset), seed=offset)
            store.insert_requests(chunk)
            store.insert_feedback(
                Feedback(request_id=e.request_id, tenant=e.tenant, score=(hash(e.request_id) % 100) / 100)
                for e in chunk[::10]
            )
            with lite:
                lite.executemany(
                    f"INSERT INTO requests VALUES ({', '.join('?' * len(REQUEST_COLUMNS))})", map(request_row, chunk)
                )
        print(f"seeded {store.count_requests():,} requests in {time.perf_counter() - start:.1f}s")
        everything = reports.Filter()
        day = reports.Filter(start_ms=T0_MS, end_ms=T0_MS + 86_400_000)
        week = reports.Filter(start_ms=T0_MS, end_ms=T0_MS + 7 * 86_400_000)
        tenant = store.query("SELECT tenant FROM requests LIMIT 1")[0][0]
        gpt4o = ModelPrice(
            provider="openai", model="gpt-4o", input_per_mtok=2.5, output_per_mtok=10.0, cached_input_per_mtok=1.25
        )
        long_tiers = ModelPrice(
            provider="gemini",
            model="tiered",
            input_per_mtok=1.25,
            output_per_mtok=10.0,
            cached_input_per_mtok=0.125,
            cache_write_per_mtok=1.5,
            reasoning_per_mtok=12.0,
            tiers=(PriceTier(above_prompt_tokens=2000, input_per_mtok=2.5, output_per_mtok=15.0),),
        )
        cases: list[tuple[str, Callable[[], object]]] = [
            ("report by provider,model", lambda: reports.report(store, everything, ["provider", "model"])),
            ("report by task_kind,tenant", lambda: reports.report(store, everything, ["task_kind", "tenant"])),
            ("report, one day, by model", lambda: reports.report(store, day, ["model"])),
            ("quality ranking", lambda: reports.quality_ranking(store, everything)),
            ("counterfactual vs gpt-4o by tenant", lambda: reports.counterfactual(store, everything, gpt4o, "tenant")),
            (
                "counterfactual vs a tiered model by tenant",
                lambda: reports.counterfactual(store, everything, long_tiers, "tenant"),
            ),
            (
                "dashboard snapshot (7 days, savings on gpt-4o per day, quality)",
                lambda: snapshot(store, week, bucket_ms=3_600_000, target=gpt4o),
            ),
            (
                "dashboard view (7 days, one tenant: value check, menus, figures)",
                lambda: dashboard_view(
                    store,
                    DashboardQuery(window_s=7 * 86_400, end_ms=T0_MS + 7 * 86_400_000, tenant=tenant),
                    prices={"openai/gpt-4o": gpt4o},
                    default_compare="openai/gpt-4o",
                    now_ms=T0_MS,
                ),
            ),
            (
                "sqlite: sums by provider,model (no percentiles)",
                lambda: lite.execute(
                    "SELECT provider, model, count(*), sum(cost_micro_usd), sum(prompt_tokens), avg(latency_ms) "
                    "FROM requests GROUP BY 1, 2"
                ).fetchall(),
            ),
            (
                "sqlite: p95 latency by provider,model (window)",
                lambda: lite.execute(
                    "SELECT provider, model, max(latency_ms) FROM (SELECT provider, model, latency_ms, "
                    "percent_rank() OVER (PARTITION BY provider, model ORDER BY latency_ms) AS pr FROM requests) "
                    "WHERE pr <= 0.95 GROUP BY 1, 2"
                ).fetchall(),
            ),
        ]
        print(f"query time over {args.requests:,} requests (median / max of 5 runs):")
        for name, fn in cases:
            median, worst = timed(fn, repeat=3 if name.startswith("sqlite") else 5)
            print(f"  {name:<48} {median * 1000:>8.1f} ms / {worst * 1000:>8.1f} ms")
        store.close()
        lite.close()


if __name__ == "__main__":
    main()
