"""Reports over the ledger: figures by group, quality-to-cost ranking, counterfactual spend on one model.

Plain functions over a LedgerStore; every dimension and filter maps to a fixed column, values are bound
parameters, so no caller-supplied text reaches the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.errors import FieldViolation, InvalidRequest
from shared.pricing.cost import PriceSchedule, cost_sql
from shared.pricing.model_prices import ModelPrice

from .store import LedgerStore

DIMENSIONS = ("provider", "model", "task_kind", "tenant")
DEFAULT_MIN_SCORED = 30
LOW_SCORE = 0.5  # a feedback score below this counts as an answer scored low


@dataclass(frozen=True, slots=True)
class Filter:
    """Which requests a report covers; empty strings and zero times mean no restriction."""

    start_ms: int = 0
    end_ms: int = 0
    tenant: str = ""
    provider: str = ""
    model: str = ""
    task_kind: str = ""

    def validate(self) -> None:
        violations = []
        if self.start_ms < 0:
            violations.append(FieldViolation("filter.start_ms", "must be >= 0"))
        if self.end_ms < 0:
            violations.append(FieldViolation("filter.end_ms", "must be >= 0"))
        if self.end_ms and self.start_ms and self.end_ms <= self.start_ms:
            violations.append(FieldViolation("filter.end_ms", "must be after start_ms"))
        if violations:
            raise InvalidRequest("invalid report filter", violations=violations)

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        prefix = f"{alias}." if alias else ""
        clauses: list[str] = []
        params: list[Any] = []
        if self.start_ms:
            clauses.append(f"{prefix}ts_ms >= ?")
            params.append(self.start_ms)
        if self.end_ms:
            clauses.append(f"{prefix}ts_ms < ?")
            params.append(self.end_ms)
        for name in DIMENSIONS:
            value = getattr(self, name)
            if value:
                clauses.append(f"{prefix}{name} = ?")
                params.append(value)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


@dataclass(slots=True)
class ReportRow:
    provider: str = ""
    model: str = ""
    task_kind: str = ""
    tenant: str = ""
    requests: int = 0
    errors: int = 0
    error_rate: float = 0.0
    spend_micro_usd: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    p50_latency_ms: float = 0.0
    p95_latency_ms: float = 0.0
    retries: int = 0
    cache_hits: int = 0
    cache_hit_rate: float = 0.0
    saved_micro_usd: int = 0
    local_requests: int = 0
    local_share: float = 0.0


@dataclass(slots=True)
class Report:
    rows: list[ReportRow]
    total: ReportRow


@dataclass(slots=True)
class QualityRow:
    task_kind: str
    provider: str
    model: str
    requests: int
    scored: int
    mean_score: float
    mean_cost_micro_usd: float
    score_per_usd: float
    thin_evidence: bool
    rank: int = 0
    scored_low: int = 0  # scores below LOW_SCORE: answers the client judged poor


@dataclass(slots=True)
class CounterfactualRow:
    key: str = ""
    requests: int = 0
    actual_micro_usd: int = 0
    counterfactual_micro_usd: int = 0
    savings_micro_usd: int = 0
    savings_ratio: float = 0.0


@dataclass(slots=True)
class Counterfactual:
    target: ModelPrice
    total: CounterfactualRow
    rows: list[CounterfactualRow] = field(default_factory=list)


_FIGURES = """
    count(*) AS requests,
    count(*) FILTER (WHERE outcome <> 'ok') AS errors,
    coalesce(sum(cost_micro_usd), 0) AS spend,
    coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
    coalesce(sum(completion_tokens), 0) AS completion_tokens,
    coalesce(sum(cached_tokens), 0) AS cached_tokens,
    coalesce(quantile_cont(latency_ms, 0.5), 0) AS p50,
    coalesce(quantile_cont(latency_ms, 0.95), 0) AS p95,
    coalesce(sum(retries), 0) AS retries,
    count(*) FILTER (WHERE served_from = 'cache') AS cache_hits,
    coalesce(sum(saved_micro_usd), 0) AS saved,
    count(*) FILTER (WHERE served_from = 'local') AS local_requests
"""


def check_dimensions(group_by: Sequence[str]) -> None:
    bad = [name for name in group_by if name not in DIMENSIONS]
    if bad or len(set(group_by)) != len(group_by):
        raise InvalidRequest(
            "invalid grouping",
            violations=[FieldViolation("group_by", f"each of {', '.join(DIMENSIONS)} at most once; got {group_by}")],
        )


def _figures(row: ReportRow, values: Sequence[Any]) -> ReportRow:
    (requests, errors, spend, prompt, completion, cached, p50, p95, retries, hits, saved, local) = values
    row.requests = int(requests)
    row.errors = int(errors)
    row.spend_micro_usd = int(spend)
    row.prompt_tokens = int(prompt)
    row.completion_tokens = int(completion)
    row.cached_tokens = int(cached)
    row.p50_latency_ms = float(p50)
    row.p95_latency_ms = float(p95)
    row.retries = int(retries)
    row.cache_hits = int(hits)
    row.saved_micro_usd = int(saved)
    row.local_requests = int(local)
    if row.requests:
        row.error_rate = row.errors / row.requests
        row.cache_hit_rate = row.cache_hits / row.requests
        row.local_share = row.local_requests / row.requests
    return row


def report(store: LedgerStore, flt: Filter, group_by: Sequence[str] = ()) -> Report:
    """Figures per group (largest spend first) and for all covered requests together."""
    flt.validate()
    check_dimensions(group_by)
    where, params = flt.where()
    if not group_by:
        total = _figures(ReportRow(), store.query(f"SELECT {_FIGURES} FROM requests{where}", params)[0])  # noqa: S608
        return Report(rows=[], total=total)
    # One scan for the groups and the total: the grouping set () yields the total row (grouping id > 0).
    keys = ", ".join(group_by)
    sql = (
        f"SELECT grouping({keys}) AS total_row, {keys}, {_FIGURES} FROM requests{where} "  # noqa: S608
        f"GROUP BY GROUPING SETS (({keys}), ()) ORDER BY total_row, spend DESC, requests DESC"
    )
    rows: list[ReportRow] = []
    total = ReportRow()
    for values in store.query(sql, params):
        if values[0]:
            total = _figures(ReportRow(), values[1 + len(group_by) :])
            continue
        row = ReportRow(**dict(zip(group_by, values[1 : 1 + len(group_by)], strict=True)))
        rows.append(_figures(row, values[1 + len(group_by) :]))
    return Report(rows=rows, total=total)


def quality_ranking(store: LedgerStore, flt: Filter, min_scored: int = 0) -> list[QualityRow]:
    """Per task kind, provider/model combinations ranked by mean quality score per dollar of mean cost.

    Only successful requests count. Combinations without any score are listed last with rank 0; those with fewer
    than `min_scored` scores are flagged `thin_evidence`, so a ranking built on a handful of scores shows as such.
    """
    flt.validate()
    min_scored = min_scored or DEFAULT_MIN_SCORED
    where, params = flt.where("r")
    where = f"{where} AND r.outcome = 'ok'" if where else " WHERE r.outcome = 'ok'"
    sql = f"""
        SELECT r.task_kind, r.provider, r.model, count(*), count(f.score), coalesce(avg(f.score), 0),
               avg(r.cost_micro_usd), count(f.score) FILTER (WHERE f.score < {LOW_SCORE})
        FROM requests r LEFT JOIN feedback f ON f.request_id = r.request_id{where}
        GROUP BY r.task_kind, r.provider, r.model
    """  # noqa: S608
    rows = []
    for task_kind, provider, model, requests, scored, mean_score, mean_cost, low in store.query(sql, params):
        per_usd = float(mean_score) / (max(float(mean_cost), 1.0) / 1e6) if scored else 0.0
        rows.append(
            QualityRow(
                task_kind=task_kind,
                provider=provider,
                model=model,
                requests=int(requests),
                scored=int(scored),
                mean_score=float(mean_score),
                mean_cost_micro_usd=float(mean_cost),
                score_per_usd=per_usd,
                thin_evidence=int(scored) < min_scored,
                scored_low=int(low),
            )
        )
    rows.sort(key=lambda r: (r.task_kind, r.scored == 0, -r.score_per_usd, -r.scored, r.provider, r.model))
    rank, kind = 0, None
    for row in rows:
        if row.task_kind != kind:
            rank, kind = 0, row.task_kind
        if row.scored:
            rank += 1
            row.rank = rank
    return rows


def counterfactual(store: LedgerStore, flt: Filter, target: ModelPrice, group_by: str = "") -> Counterfactual:
    """Actual spend against what the same successful requests would have cost on `target`.

    Each request is repriced from its recorded usage as the router charges (shared.pricing.cost, rendered as SQL
    by `cost_sql`): cached, cache-write and reasoning tokens at their prices, the tier of its prompt size,
    micro-dollars rounded half up once per request.
    """
    flt.validate()
    target.validate()
    if group_by:
        check_dimensions([group_by])
    repriced = cost_sql(
        PriceSchedule.of(target.prices()),
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
        "cache_write_tokens" if store.has_cache_write_tokens else "0",
        "reasoning_tokens",
        "cache_write_long_tokens" if store.has_cache_write_long_tokens else "0",
    )
    where, params = flt.where()
    where = f"{where} AND outcome = 'ok'" if where else " WHERE outcome = 'ok'"
    key = group_by or "''"
    sql = f"""
        SELECT {key} AS key, count(*), coalesce(sum(cost_micro_usd), 0), coalesce(sum({repriced}), 0)
        FROM requests{where} GROUP BY ALL ORDER BY 1
    """  # noqa: S608
    rows = [
        _cf_finish(
            CounterfactualRow(
                key=str(name), requests=int(requests), actual_micro_usd=int(actual), counterfactual_micro_usd=int(cf)
            )
        )
        for name, requests, actual, cf in store.query(sql, params)
    ]
    total = CounterfactualRow()
    for row in rows:
        total.requests += row.requests
        total.actual_micro_usd += row.actual_micro_usd
        total.counterfactual_micro_usd += row.counterfactual_micro_usd
    total = _cf_finish(total)
    return Counterfactual(target=target, total=total, rows=rows if group_by else [])


def _cf_finish(row: CounterfactualRow) -> CounterfactualRow:
    row.savings_micro_usd = row.counterfactual_micro_usd - row.actual_micro_usd
    row.savings_ratio = row.savings_micro_usd / row.counterfactual_micro_usd if row.counterfactual_micro_usd else 0.0
    return row
