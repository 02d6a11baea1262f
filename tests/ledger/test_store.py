"""The DuckDB store writes idempotently and survives a reopen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from services.ledger.core.store import LedgerStore
from shared.events.schemas import AttemptRecord, Feedback

from .sample_events import event


def test_redelivered_events_change_nothing(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "l.duckdb")
    first = [event() for _ in range(5)]
    assert len(store.insert_requests(first)) == 5
    again = [first[0], first[3], event(request_id=first[1].request_id, cost_micro_usd=999_999)]
    assert store.insert_requests(again) == []
    assert store.count_requests() == 5
    assert store.query("SELECT sum(cost_micro_usd) FROM requests")[0][0] == 5 * 45


def test_duplicates_inside_one_batch_are_stored_once(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "l.duckdb")
    one = event()
    new = store.insert_requests([one, one, event(request_id=one.request_id)])
    assert [e.request_id for e in new] == [one.request_id]
    assert store.count_requests() == 1


def test_writes_are_on_disk_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    store = LedgerStore(path)
    ids = [e.request_id for e in store.insert_requests([event() for _ in range(3)])]
    store.insert_feedback([Feedback(request_id=ids[0], tenant="acme", score=0.5)])
    store.close()
    reopened = LedgerStore(path)
    assert reopened.count_requests() == 3
    assert reopened.has_request(ids[2]) and not reopened.has_request("nope")
    assert reopened.query("SELECT score FROM feedback")[0][0] == 0.5


def test_feedback_last_score_wins_and_replay_is_harmless(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "l.duckdb")
    store.insert_feedback(
        [Feedback(request_id="r1", tenant="t", score=0.2), Feedback(request_id="r1", tenant="t", score=0.9)]
    )
    store.insert_feedback([Feedback(request_id="r1", tenant="t", score=0.9)])
    assert store.query("SELECT request_id, score FROM feedback") == [("r1", 0.9)]


def test_answers_that_failed_output_checks_are_kept_once_per_attempt(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    store = LedgerStore(path)
    escalated = event(model="gpt-4o", task_kind="extraction")
    failed = [
        AttemptRecord(provider="openai", model="gpt-4.1-nano", served_from="remote", outcome="invalid_output"),
        AttemptRecord(provider="cache", model="gpt-4o-mini", served_from="cache", outcome="invalid_output"),
        AttemptRecord(provider="openai", model="gpt-4o-mini", served_from="remote", outcome="error"),
    ]
    escalated.attempts[:0] = failed
    plain = event()
    assert len(store.insert_requests([escalated, plain])) == 2
    assert store.insert_requests([escalated]) == []  # a redelivery adds nothing
    store.close()
    rows = LedgerStore(path).query(
        "SELECT request_id, position, task_kind, provider, model FROM invalid_outputs ORDER BY position"
    )
    assert rows == [
        (escalated.request_id, 0, "extraction", "openai", "gpt-4.1-nano"),
        (escalated.request_id, 1, "extraction", "cache", "gpt-4o-mini"),
    ]


def test_a_failed_write_stores_neither_the_request_nor_its_failed_checks(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "l.duckdb")
    bad = event()
    # A value DuckDB cannot take in the second statement: the request written by the first must roll back.
    unstorable: Any = object()
    failed = AttemptRecord(provider=unstorable, model="m", served_from="remote", outcome="invalid_output")
    bad.attempts.insert(0, failed)
    with pytest.raises(duckdb.Error):
        store.insert_requests([bad])
    assert store.count_requests() == 0
    assert store.query("SELECT count(*) FROM invalid_outputs") == [(0,)]
