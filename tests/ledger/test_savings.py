"""Savings per day against a named model, net of answers scored bad; quality beside cost; the dashboard's view."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ledger.core.dashboard_data import refresh_interval_s
from services.ledger.core.dashboard_query import parse_query
from services.ledger.core.reports import Filter, ModelPrice
from services.ledger.core.savings import GoodAnswers, quality_beside_cost, savings_by_day
from services.ledger.core.store import LedgerStore
from shared.errors import InvalidRequest
from shared.events.schemas import Feedback

from .sample_events import T0_MS, event

DAY_MS = 86_400_000
# $1 in and $2 out per million tokens: 100 prompt + 50 completion tokens cost 100 + 100 = 200 µ$.
TARGET = ModelPrice(provider="openai", model="target", input_per_mtok=1.0, output_per_mtok=2.0)
DAY0 = (T0_MS // DAY_MS) * DAY_MS  # midnight UTC of the fixtures' day


@pytest.fixture
def store(tmp_path: Path) -> LedgerStore:
    store = LedgerStore(tmp_path / "l.duckdb")
    hour = 3_600_000
    cached = {"served_from": "cache", "cost_micro_usd": 0, "saved_micro_usd": 9}
    store.insert_requests(
        [
            event(request_id="a", ts_ms=DAY0 + hour, cost_micro_usd=45),
            event(request_id="b", ts_ms=DAY0 + 13 * hour, cost_micro_usd=45),
            event(request_id="bad", ts_ms=DAY0 + 14 * hour, **cached),
            event(request_id="c", ts_ms=DAY0 + 15 * hour, **cached),
            event(request_id="err", ts_ms=DAY0 + 16 * hour, cost_micro_usd=30, outcome="error"),
            event(request_id="d", ts_ms=DAY0 + DAY_MS + 1, served_from="local", saved_micro_usd=7, cost_micro_usd=0),
        ]
    )
    store.insert_feedback([Feedback(request_id="bad", tenant="acme", score=0.2)])
    store.insert_feedback([Feedback(request_id="c", tenant="acme", score=0.5)])  # 0.5 is not bad
    return store


def test_savings_per_day_net_of_bad_answers(store: LedgerStore) -> None:
    result = savings_by_day(store, Filter(start_ms=DAY0, end_ms=DAY0 + 2 * DAY_MS), TARGET)
    assert result.target == "openai/target"
    first, second = result.days
    assert first.day == "2026-09-21" and second.day == "2026-09-22"
    # Day one: a, b, c succeed and are not bad (3 x 200 on the target); "bad" and "err" are left out of it.
    assert (first.requests, first.spend_micro_usd, first.counterfactual_micro_usd) == (5, 120, 600)
    assert (first.net_saved_micro_usd, first.saved_cache_micro_usd, first.bad_answers) == (480, 9, 1)
    assert (second.counterfactual_micro_usd, second.saved_local_micro_usd, second.net_saved_micro_usd) == (200, 7, 200)
    assert result.total.net_saved_micro_usd == 680 and result.total.requests == 6


def test_a_range_starting_mid_day_reprices_only_what_it_covers(store: LedgerStore) -> None:
    result = savings_by_day(store, Filter(start_ms=DAY0 + 12 * 3_600_000, end_ms=DAY0 + DAY_MS), TARGET)
    (day,) = result.days
    assert (day.requests, day.counterfactual_micro_usd) == (4, 400)  # "a" at 01:00 is outside; b and c count


def test_filters_apply_to_savings(store: LedgerStore) -> None:
    result = savings_by_day(store, Filter(start_ms=DAY0, end_ms=DAY0 + 2 * DAY_MS, tenant="nobody"), TARGET)
    assert result.days == [] and result.total.requests == 0


def test_good_answers_leave_out_requests_scored_bad(store: LedgerStore) -> None:
    where, params = GoodAnswers(task_kind="chat").where("r")
    ids = {row[0] for row in store.query(f"SELECT r.request_id FROM requests r{where}", params)}
    assert ids == {"a", "b", "c", "err", "d"}
    where, params = GoodAnswers().where()
    assert len(store.query(f"SELECT 1 FROM requests{where}", params)) == 5


def test_quality_counts_bad_scores_per_model(store: LedgerStore) -> None:
    (row,) = quality_beside_cost(store, Filter())
    assert (row.requests, row.scored, row.bad, row.failed_checks) == (5, 2, 1, 0)
    assert row.mean_score == pytest.approx(0.35)


def test_the_view_from_a_query_string() -> None:
    view = parse_query({"range": "24h", "tenant": "acme", "compare": "openai/gpt-4o"}, default_window_s=3600)
    assert (view.window_s, view.tenant, view.compare, view.end_ms) == (86400, "acme", "openai/gpt-4o", 0)
    assert view.filtered
    assert parse_query({}, default_window_s=3600).window_s == 3600
    assert parse_query({"window_s": "120", "tenant": ""}, default_window_s=3600).filtered is False
    with pytest.raises(InvalidRequest) as caught:
        parse_query({"range": "1y"}, default_window_s=3600)
    assert [v.field for v in caught.value.violations] == ["range"]


def test_long_views_refresh_less_often() -> None:
    assert refresh_interval_s(900, 2.0) == 2.0
    assert refresh_interval_s(3600, 2.0) == 2.5
    assert refresh_interval_s(86_400, 2.0) == 60.0
    assert refresh_interval_s(90 * 86_400, 2.0) == 60.0
    assert refresh_interval_s(90 * 86_400, 120.0) == 120.0  # a configured slower refresh wins
