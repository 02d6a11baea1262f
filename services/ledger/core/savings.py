"""Savings a user can believe: spend per day against every request on one named model, net of bad answers;
quality beside cost per model and task kind.

Definitions (also in docs/ledger.md):
- an answer is *scored bad* when its feedback score is below BAD_SCORE;
- *counterfactual*: what the successful answers not scored bad would have cost on the named model (the ledger's
  counterfactual repricing from recorded tokens);
- *spend*: everything actually paid, errors and answers scored bad included;
- *net saved* = counterfactual - spend: a bad answer saved nothing, it cost its price and still needs doing;
- *saved by cache* / *saved by local*: the router's recorded saving (the cheapest qualified remote model's price)
  of cache and local answers not scored bad.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.pricing.model_prices import ModelPrice

from . import reports
from .store import LedgerStore

BAD_SCORE = 0.5
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class GoodAnswers(reports.Filter):
    """A report filter that also leaves out requests scored bad."""

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        where, params = reports.Filter.where(self, alias)
        prefix = f"{alias}." if alias else ""
        clause = f"{prefix}request_id NOT IN (SELECT request_id FROM feedback WHERE score < ?)"  # noqa: S608
        return (f"{where} AND {clause}" if where else f" WHERE {clause}"), [*params, BAD_SCORE]


def counterfactual_micro_usd(store: LedgerStore, flt: reports.Filter, target: ModelPrice) -> int:
    """What the successful requests `flt` covers would have cost on `target`.

    The dashboard's one call into the ledger's counterfactual pricing: a change of pricing changes this line only.
    """
    return reports.counterfactual(store, flt, target).total.counterfactual_micro_usd


@dataclass(slots=True)
class SavingsRow:
    day: str = ""  # UTC date, "" for the total
    requests: int = 0
    spend_micro_usd: int = 0
    counterfactual_micro_usd: int = 0
    net_saved_micro_usd: int = 0
    saved_cache_micro_usd: int = 0
    saved_local_micro_usd: int = 0
    bad_answers: int = 0
    bad_spend_micro_usd: int = 0


@dataclass(slots=True)
class Savings:
    target: str
    bad_score_below: float
    days: list[SavingsRow] = field(default_factory=list)
    total: SavingsRow = field(default_factory=SavingsRow)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def savings_by_day(store: LedgerStore, flt: reports.Filter, target: ModelPrice) -> Savings:
    """Spend, counterfactual on `target`, net saved, saved by cache and by local, bad answers: per UTC day."""
    where, params = flt.where("r")
    sql = f"""
        SELECT r.ts_ms // {DAY_MS} AS day, count(*), coalesce(sum(r.cost_micro_usd), 0),
               coalesce(sum(r.saved_micro_usd) FILTER (WHERE r.served_from = 'cache' AND NOT bad), 0),
               coalesce(sum(r.saved_micro_usd) FILTER (WHERE r.served_from = 'local' AND NOT bad), 0),
               count(*) FILTER (WHERE bad), coalesce(sum(r.cost_micro_usd) FILTER (WHERE bad), 0)
        FROM (SELECT r.*, coalesce(f.score < ?, false) AS bad
              FROM requests r LEFT JOIN feedback f ON f.request_id = r.request_id{where}) r
        GROUP BY day ORDER BY day
    """  # noqa: S608
    result = Savings(target=f"{target.provider}/{target.model}", bad_score_below=BAD_SCORE)
    total = result.total
    for day, requests, spend, cache, local, bad, bad_spend in store.query(sql, [BAD_SCORE, *params]):
        start, end = int(day) * DAY_MS, (int(day) + 1) * DAY_MS
        day_filter = GoodAnswers(
            **{**asdict(flt), "start_ms": max(start, flt.start_ms), "end_ms": min(end, flt.end_ms or end)}
        )
        row = SavingsRow(
            day=datetime.fromtimestamp(start / 1000, UTC).date().isoformat(),
            requests=int(requests),
            spend_micro_usd=int(spend),
            counterfactual_micro_usd=counterfactual_micro_usd(store, day_filter, target),
            saved_cache_micro_usd=int(cache),
            saved_local_micro_usd=int(local),
            bad_answers=int(bad),
            bad_spend_micro_usd=int(bad_spend),
        )
        row.net_saved_micro_usd = row.counterfactual_micro_usd - row.spend_micro_usd
        result.days.append(row)
        for name in (
            "requests",
            "spend_micro_usd",
            "counterfactual_micro_usd",
            "net_saved_micro_usd",
            "saved_cache_micro_usd",
            "saved_local_micro_usd",
            "bad_answers",
            "bad_spend_micro_usd",
        ):
            setattr(total, name, getattr(total, name) + getattr(row, name))
    return result


@dataclass(slots=True)
class QualityCost:
    """Quality beside cost for one model on one task kind (successful requests only)."""

    task_kind: str
    provider: str
    model: str
    requests: int  # successful answers from this model
    mean_cost_micro_usd: float
    scored: int
    mean_score: float
    bad: int  # answers scored below BAD_SCORE
    failed_checks: int  # answers the router refused because they failed the request's output checks
    score_per_usd: float
    thin_evidence: bool
    rank: int


def quality_beside_cost(store: LedgerStore, flt: reports.Filter) -> list[QualityCost]:
    """The ledger's quality-to-cost ranking per task kind, with answers scored bad and answers that failed the
    request's output checks (a model whose every answer failed them is listed too, unranked)."""
    ranking = reports.quality_ranking(store, flt)
    where, params = flt.where("r")
    where = f"{where} AND r.outcome = 'ok'" if where else " WHERE r.outcome = 'ok'"
    bad = {
        (kind, provider, model): int(count)
        for kind, provider, model, count in store.query(
            f"SELECT r.task_kind, r.provider, r.model, count(*) FROM requests r "  # noqa: S608
            f"JOIN feedback f ON f.request_id = r.request_id{where} AND f.score < ? GROUP BY ALL",
            [*params, BAD_SCORE],
        )
    }
    where, params = flt.where()  # invalid_outputs has the filter's columns, the provider/model being the one tried
    failed = {
        (kind, provider, model): int(count)
        for kind, provider, model, count in store.query(
            f"SELECT task_kind, provider, model, count(*) FROM invalid_outputs{where} GROUP BY ALL",  # noqa: S608
            params,
        )
    }
    rows = [
        QualityCost(
            task_kind=row.task_kind,
            provider=row.provider,
            model=row.model,
            requests=row.requests,
            mean_cost_micro_usd=row.mean_cost_micro_usd,
            scored=row.scored,
            mean_score=row.mean_score,
            bad=bad.get((row.task_kind, row.provider, row.model), 0),
            failed_checks=failed.pop((row.task_kind, row.provider, row.model), 0),
            score_per_usd=row.score_per_usd,
            thin_evidence=row.thin_evidence,
            rank=row.rank,
        )
        for row in ranking
    ]
    for (kind, provider, model), count in failed.items():
        rows.append(QualityCost(kind, provider, model, 0, 0.0, 0, 0.0, 0, count, 0.0, True, 0))
    rows.sort(key=lambda r: (r.task_kind, r.rank == 0, r.rank, -r.requests, r.provider, r.model))
    return rows
