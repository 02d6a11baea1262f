"""Answers scored low per task kind and model, next to the quality ranking (`bourse report --quality`)."""

from __future__ import annotations

from pathlib import Path

from services.ledger.core import reports
from services.ledger.core.store import LedgerStore
from shared.events.schemas import Feedback

from .sample_events import event


def test_scores_below_one_half_are_counted_per_task_kind_and_model(tmp_path: Path) -> None:
    store = LedgerStore(tmp_path / "low.duckdb")
    code = [event(model="cheap", cost_micro_usd=10, task_kind="code") for _ in range(6)]
    chat = [event(model="cheap", cost_micro_usd=10, task_kind="chat") for _ in range(3)]
    store.insert_requests(code + chat)
    scores = [0.0, 0.2, 0.49, 0.5, 0.9]  # three below one half; the sixth code request is not scored
    store.insert_feedback(
        [Feedback(request_id=e.request_id, tenant="acme", score=s) for e, s in zip(code[:5], scores, strict=True)]
    )
    store.insert_feedback([Feedback(request_id=e.request_id, tenant="acme", score=1.0) for e in chat])
    rows = {r.task_kind: r for r in reports.quality_ranking(store, reports.Filter())}
    assert (rows["code"].scored, rows["code"].scored_low) == (5, 3)
    assert (rows["chat"].scored, rows["chat"].scored_low) == (3, 0)
    store.close()
