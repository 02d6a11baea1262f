"""The figures behind the dashboard page, as one JSON-ready snapshot of one view (range and filters).

Money stays integer micro-dollars here and in the JSON API; only the page rounds, with the rule in money.py.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from shared.pricing.model_prices import ModelPrice

from .dashboard_query import DashboardQuery, check_known
from .reports import Filter, report
from .savings import quality_beside_cost, savings_by_day
from .store import LedgerStore

# Latency histogram bucket upper bounds in milliseconds (the last bucket is open-ended).
LATENCY_EDGES_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
MAX_SERIES = 8  # spend series beyond the top ones are folded into "other"
MAX_OPTIONS = 200  # values offered per filter menu
BUCKETS_PER_WINDOW = 60  # points on the spend-over-time chart
MAX_REFRESH_S = 60.0


def refresh_interval_s(window_s: int, base_s: float) -> float:
    """How often the page refreshes a view: `base_s` for short ranges, slower for long ones (a day's view changes
    little in seconds, and its savings reprice every day of it), at most a minute."""
    return max(base_s, min(MAX_REFRESH_S, window_s / 1440))


OPTION_COLUMNS = ("tenant", "task_kind", "provider")


def filter_options(store: LedgerStore) -> dict[str, list[str]]:
    """The values each filter can take: those some request in the ledger has (most used first)."""
    options: dict[str, list[str]] = {name: [] for name in OPTION_COLUMNS}
    sql = " UNION ALL ".join(
        f"(SELECT '{name}', {name}, count(*) AS n FROM requests GROUP BY {name} ORDER BY n DESC, {name} "  # noqa: S608
        f"LIMIT {MAX_OPTIONS})"
        for name in OPTION_COLUMNS
    )
    for name, value, _ in store.query(sql):
        if value:
            options[name].append(str(value))
    return options


def value_exists(store: LedgerStore, column: str, value: str) -> bool:
    """Whether some request in the ledger has `value` in `column` (one of the filter columns)."""
    assert column in OPTION_COLUMNS
    return bool(store.query(f"SELECT count(*) FROM (SELECT 1 FROM requests WHERE {column} = ? LIMIT 1)", [value])[0][0])  # noqa: S608


def snapshot(store: LedgerStore, flt: Filter, *, bucket_ms: int, target: ModelPrice | None) -> dict[str, Any]:
    """Spend over time by provider/model, latency distribution, cache and local figures, top tenants, savings
    against `target` per day, quality beside cost."""
    by_tenant = report(store, flt, ["tenant"])  # its total row is the summary: one scan for both
    summary = by_tenant.total
    where, params = flt.where()
    spend_rows = store.query(
        f"SELECT (ts_ms // ?) * ? AS bucket, provider || '/' || model AS series, sum(cost_micro_usd) "  # noqa: S608
        f"FROM requests{where} GROUP BY ALL ORDER BY bucket",
        [bucket_ms, bucket_ms, *params],
    )
    totals: dict[str, int] = {}
    for _, series, spend in spend_rows:
        totals[series] = totals.get(series, 0) + int(spend)
    top = sorted(totals, key=lambda s: -totals[s])[:MAX_SERIES]
    buckets = list(range((flt.start_ms // bucket_ms) * bucket_ms, flt.end_ms, bucket_ms))
    index = {b: i for i, b in enumerate(buckets)}
    series_data: dict[str, list[int]] = {name: [0] * len(buckets) for name in top}
    for bucket, series, spend in spend_rows:
        name = series if series in series_data else "other"
        if name not in series_data:
            series_data[name] = [0] * len(buckets)
        if int(bucket) in index:
            series_data[name][index[int(bucket)]] += int(spend)
    edges = list(LATENCY_EDGES_MS)
    case = " ".join(f"WHEN latency_ms <= {edge} THEN {i}" for i, edge in enumerate(edges))
    histogram = [0] * (len(edges) + 1)
    for slot, count in store.query(
        f"SELECT CASE {case} ELSE {len(edges)} END AS slot, count(*) FROM requests{where} GROUP BY slot",  # noqa: S608
        params,
    ):
        histogram[int(slot)] = int(count)
    tenants = by_tenant.rows[:10]
    return {
        "start_ms": flt.start_ms,
        "end_ms": flt.end_ms,
        "bucket_ms": bucket_ms,
        "summary": {
            "requests": summary.requests,
            "spend_micro_usd": summary.spend_micro_usd,
            "error_rate": summary.error_rate,
            "p50_latency_ms": summary.p50_latency_ms,
            "p95_latency_ms": summary.p95_latency_ms,
            "cache_hits": summary.cache_hits,
            "cache_hit_rate": summary.cache_hit_rate,
            "saved_micro_usd": summary.saved_micro_usd,
            "local_requests": summary.local_requests,
            "local_share": summary.local_share,
        },
        "spend_series": {"buckets": buckets, "series": [{"label": k, "data": v} for k, v in series_data.items()]},
        "latency_histogram": {"edges_ms": edges, "counts": histogram},
        "top_tenants": [
            {"tenant": row.tenant, "requests": row.requests, "spend_micro_usd": row.spend_micro_usd} for row in tenants
        ],
        "savings": savings_by_day(store, flt, target).as_json() if target is not None else None,
        "quality": [asdict(row) for row in quality_beside_cost(store, flt)],
    }


def dashboard_view(
    store: LedgerStore, query: DashboardQuery, *, prices: dict[str, ModelPrice], default_compare: str, now_ms: int
) -> dict[str, Any]:
    """The snapshot of one view, with what was applied and what the menus offer. Raises InvalidRequest naming the
    parameter when a filter names a value no request has, or the comparison model has no price."""
    check_known(query, lambda column, value: value_exists(store, column, value), list(prices))
    end_ms = query.end_ms or now_ms
    flt = Filter(
        start_ms=max(0, end_ms - query.window_s * 1000),
        end_ms=end_ms,
        tenant=query.tenant,
        task_kind=query.task_kind,
        provider=query.provider,
    )
    compare = query.compare or default_compare
    bucket_ms = max(1000, query.window_s * 1000 // BUCKETS_PER_WINDOW)
    data = snapshot(store, flt, bucket_ms=bucket_ms, target=prices.get(compare))
    options = filter_options(store)
    data["view"] = {
        "window_s": query.window_s,
        "tenant": query.tenant,
        "task_kind": query.task_kind,
        "provider": query.provider,
        "compare": compare,
    }
    data["options"] = {**options, "compare": list(prices)}
    data["ledger_empty"] = not any(options.values())
    return data
