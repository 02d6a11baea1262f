"""Report figures, quality ranking and counterfactual spend, checked against sums done by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ledger.core import reports
from services.ledger.core.store import LedgerStore
from shared.errors import InvalidRequest
from shared.events.schemas import Feedback
from shared.pricing.model_prices import ModelPrice

from .sample_events import T0_MS, event


@pytest.fixture
def store(tmp_path: Path) -> LedgerStore:
    s = LedgerStore(tmp_path / "r.duckdb")
    s.insert_requests(
        [
            # acme: three remote on gpt-4o-mini, one error with a retry, one cache hit, one local answer
            event(request_id="a1", latency_ms=100, cost_micro_usd=45),
            event(request_id="a2", latency_ms=200, cost_micro_usd=55, retries=1),
            event(request_id="a3", latency_ms=300, cost_micro_usd=0, outcome="error", retries=2),
            event(
                request_id="a4",
                provider="cache",
                model="gpt-4o-mini",
                served_from="cache",
                latency_ms=2,
                cost_micro_usd=0,
                saved_micro_usd=45,
            ),
            event(
                request_id="a5",
                provider="local",
                model="qwen-0.5b",
                served_from="local",
                task_kind="classification",
                latency_ms=20,
                cost_micro_usd=0,
                saved_micro_usd=30,
            ),
            # globex: one expensive request, an hour later
            event(
                request_id="g1",
                tenant="globex",
                provider="anthropic",
                model="claude-sonnet",
                latency_ms=900,
                cost_micro_usd=5000,
                prompt_tokens=1000,
                completion_tokens=200,
                ts_ms=T0_MS + 3_600_000,
            ),
        ]
    )
    return s


def test_total_figures(store: LedgerStore) -> None:
    total = reports.report(store, reports.Filter()).total
    assert total.requests == 6
    assert total.errors == 1
    assert total.error_rate == pytest.approx(1 / 6)
    assert total.spend_micro_usd == 45 + 55 + 5000
    assert total.prompt_tokens == 5 * 100 + 1000
    assert total.completion_tokens == 5 * 50 + 200
    assert total.retries == 3
    assert total.cache_hits == 1 and total.cache_hit_rate == pytest.approx(1 / 6)
    assert total.saved_micro_usd == 75
    assert total.local_requests == 1 and total.local_share == pytest.approx(1 / 6)
    # latencies 2, 20, 100, 200, 300, 900: linear interpolation at rank q * (n - 1)
    assert total.p50_latency_ms == pytest.approx(150.0)
    assert total.p95_latency_ms == pytest.approx(300 + 0.75 * 600)


def test_grouping_by_tenant_and_provider(store: LedgerStore) -> None:
    rows = reports.report(store, reports.Filter(), ["tenant", "provider"]).rows
    keyed = {(r.tenant, r.provider): r for r in rows}
    assert set(keyed) == {("acme", "openai"), ("acme", "cache"), ("acme", "local"), ("globex", "anthropic")}
    assert rows[0].tenant == "globex"  # largest spend first
    openai = keyed[("acme", "openai")]
    assert (openai.requests, openai.errors, openai.spend_micro_usd, openai.retries) == (3, 1, 100, 3)
    assert openai.model == ""  # not grouped by model


def test_filters_by_time_and_dimension(store: LedgerStore) -> None:
    early = reports.report(store, reports.Filter(start_ms=T0_MS, end_ms=T0_MS + 1000)).total
    assert early.requests == 5
    assert reports.report(store, reports.Filter(tenant="globex")).total.spend_micro_usd == 5000
    assert reports.report(store, reports.Filter(task_kind="classification")).total.requests == 1
    assert reports.report(store, reports.Filter(tenant="nobody")).total.requests == 0


@pytest.mark.parametrize(
    ("flt", "groups", "field"),
    [
        (reports.Filter(start_ms=-1), [], "filter.start_ms"),
        (reports.Filter(start_ms=10, end_ms=5), [], "filter.end_ms"),
        (reports.Filter(), ["colour"], "group_by"),
        (reports.Filter(), ["tenant", "tenant"], "group_by"),
    ],
)
def test_bad_report_requests_name_the_field(
    store: LedgerStore, flt: reports.Filter, groups: list[str], field: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        reports.report(store, flt, groups)
    assert info.value.violations[0].field == field


def test_quality_ranking_ranks_per_dollar_and_flags_thin_evidence(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "q.duckdb")
    cheap = [event(model="cheap", cost_micro_usd=10, task_kind="extraction") for _ in range(40)]
    dear = [event(model="dear", cost_micro_usd=100, task_kind="extraction") for _ in range(5)]
    unscored = [event(model="silent", cost_micro_usd=1, task_kind="extraction")]
    store.insert_requests(cheap + dear + unscored)
    store.insert_feedback([Feedback(request_id=e.request_id, tenant="acme", score=0.6) for e in cheap])
    store.insert_feedback([Feedback(request_id=e.request_id, tenant="acme", score=0.9) for e in dear[:3]])
    rows = reports.quality_ranking(store, reports.Filter(), min_scored=30)
    assert [(r.model, r.rank) for r in rows] == [("cheap", 1), ("dear", 2), ("silent", 0)]
    cheap_row, dear_row, silent = rows
    assert cheap_row.scored == 40 and not cheap_row.thin_evidence
    assert cheap_row.score_per_usd == pytest.approx(0.6 / (10 / 1e6))
    assert dear_row.requests == 5 and dear_row.scored == 3 and dear_row.thin_evidence
    assert dear_row.mean_score == pytest.approx(0.9)
    assert silent.scored == 0 and silent.score_per_usd == 0


def test_counterfactual_reprices_every_successful_request(store: LedgerStore) -> None:
    # gpt-4o at $2.50 / $10.00 per million: a1,a2,a4,a5 are 100 prompt + 50 completion = 750 micro-dollars each,
    # g1 is 1000 prompt + 200 completion = 4500; a3 failed and is not repriced.
    target = ModelPrice(provider="openai", model="gpt-4o", input_per_mtok=2.5, output_per_mtok=10.0)
    result = reports.counterfactual(store, reports.Filter(), target, group_by="tenant")
    assert result.total.requests == 5
    assert result.total.counterfactual_micro_usd == 4 * 750 + 4500
    assert result.total.actual_micro_usd == 45 + 55 + 5000
    assert result.total.savings_micro_usd == 7500 - 5100
    assert result.total.savings_ratio == pytest.approx(2400 / 7500)
    assert {r.key: r.counterfactual_micro_usd for r in result.rows} == {"acme": 3000, "globex": 4500}


def test_counterfactual_rounds_half_up_once_per_request_and_prices_cached_tokens(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "c.duckdb")
    store.insert_requests(
        [event(prompt_tokens=1, completion_tokens=0) for _ in range(3)]
        + [event(prompt_tokens=1000, cached_tokens=800, completion_tokens=0)]
    )
    target = ModelPrice(provider="p", model="m", input_per_mtok=0.5, output_per_mtok=1.0, cached_input_per_mtok=0.25)
    # 0.5 micro-dollars rounds up to 1 each time; 200 * 0.5 + 800 * 0.25 = 300
    assert reports.counterfactual(store, reports.Filter(), target).total.counterfactual_micro_usd == 3 + 300


def test_counterfactual_rejects_bad_prices(store: LedgerStore) -> None:
    with pytest.raises(InvalidRequest) as info:
        reports.counterfactual(
            store, reports.Filter(), ModelPrice(provider="p", model="", input_per_mtok=-1, output_per_mtok=1)
        )
    assert {v.field for v in info.value.violations} == {"target.model", "target.input_per_mtok"}
