"""Bisecting a batch to the rows the store refuses (services/ledger/core/batch_isolation.py) on the real store."""

from __future__ import annotations

import duckdb
import pytest

from services.ledger.core.batch_isolation import RowsRefused, store_isolating
from services.ledger.core.store import LedgerStore

from .sample_events import event


def test_the_refused_rows_are_isolated_and_the_rest_stored() -> None:
    store = LedgerStore(":memory:")
    calls = 0

    def insert(rows: list[object]) -> list[object]:
        nonlocal calls
        calls += 1
        return store.insert_requests(rows)  # type: ignore[arg-type]

    good = [event(tenant="ok") for _ in range(64)]
    bad = [event(tenant="ok"), event(tenant="ok")]
    # Values no BIGINT holds: what a store refuses, bypassing the schema bounds as a foreign publisher might.
    for b in bad:
        b.prompt_tokens = 10**30
    batch = [*good[:10], bad[0], *good[10:50], bad[1], *good[50:]]
    new, refused = store_isolating(insert, batch)
    assert {e.request_id for e in new} == {e.request_id for e in good}
    assert [e.request_id for e, _ in refused] == [b.request_id for b in bad]
    assert all("OutOfRange" in why or "Conversion" in why for _, why in refused)
    assert store.count_requests() == 64
    assert calls <= 2 * 2 * 7 + 1  # about 2k*log2(n) writes for k bad rows in n


def test_a_store_failure_that_is_not_the_rows_fault_propagates() -> None:
    store = LedgerStore(":memory:")
    store.close()
    with pytest.raises(duckdb.Error):
        store_isolating(store.insert_requests, [event()])
    with pytest.raises(RowsRefused):
        LedgerStore(":memory:").insert_requests([event(cost_micro_usd=10**30)])
