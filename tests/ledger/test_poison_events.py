"""Poison events never stall the ledger: one that fails validation (`ts_ms = 1e30`) and one the store refuses are
dead-lettered with their reason, and the valid events around them are stored (real nats-server, real ledger)."""

from __future__ import annotations

import uuid
from pathlib import Path

import duckdb
import msgspec
from nats.aio.client import Client as NATS

from services.ledger.core.store import REQUEST_COLUMNS
from shared.events import subjects
from shared.events.dead_letters import REASON_HEADER, SUBJECT_HEADER
from tests.support.dead_letters import wait_dead_letters
from tests.support.eventually import eventually
from tests.support.services import Services

from .conftest import ledger_config
from .sample_events import event

_encode = msgspec.json.Encoder().encode


def _stored(store: object, tenant: str) -> int:
    return int(store.query("SELECT count(*) FROM requests WHERE tenant = ?", [tenant])[0][0])  # type: ignore[attr-defined]


async def test_an_event_out_of_bounds_is_dead_lettered_and_the_next_one_stored(
    nats_url: str, nc: NATS, tmp_path: Path, services: Services
) -> None:
    ledger = await services.ledger(ledger_config(nats_url, tmp_path))
    assert ledger.store is not None
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    poison = msgspec.json.decode(_encode(event(tenant=tenant)))
    poison["ts_ms"] = 10**30  # decodable JSON, but no store holds it: the schema bounds refuse it
    subject = subjects.telemetry("openai", "gpt-4o-mini")
    js = nc.jetstream()
    await js.publish(subject, _encode(poison), headers={"Nats-Msg-Id": poison["request_id"]})
    valid = event(tenant=tenant)
    await js.publish(subject, _encode(valid), headers={"Nats-Msg-Id": valid.request_id})

    await eventually(lambda: _stored(ledger.store, tenant) == 1, timeout_s=15, what="the valid event stored")
    assert ledger.store.has_request(valid.request_id) and not ledger.store.has_request(poison["request_id"])
    [letter] = await wait_dead_letters(nc, poison["request_id"])
    assert letter.headers is not None
    assert letter.headers[REASON_HEADER] == "undecodable"
    assert letter.headers[SUBJECT_HEADER] == subject
    assert msgspec.json.decode(letter.data)["ts_ms"] == 10**30  # the original payload, for inspection


async def test_a_row_the_store_refuses_is_isolated_by_bisecting(
    nats_url: str, nc: NATS, tmp_path: Path, services: Services
) -> None:
    # A ledger file whose requests table refuses one tenant: a value the store cannot hold, as the ledger meets it.
    db_path = tmp_path / "ledger.duckdb"
    refused_tenant = f"refused-{uuid.uuid4().hex[:8]}"
    con = duckdb.connect(str(db_path))
    con.execute(_requests_table_refusing(refused_tenant))
    con.close()
    ledger = await services.ledger(ledger_config(nats_url, tmp_path, db_path=str(db_path), fetch_batch=64))
    assert ledger.store is not None
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    good = [event(tenant=tenant, cost_micro_usd=i) for i in range(30)]
    bad = event(tenant=refused_tenant)
    batch = [*good[:17], bad, *good[17:]]
    js = nc.jetstream()
    for e in batch:  # published back to back: the ledger takes them as one batch
        await js.publish(subjects.telemetry(e.provider, e.model), _encode(e), headers={"Nats-Msg-Id": e.request_id})

    await eventually(lambda: _stored(ledger.store, tenant) == len(good), timeout_s=15, what="the 30 good rows")
    [letter] = await wait_dead_letters(nc, bad.request_id)
    assert letter.headers is not None and letter.headers[REASON_HEADER] == "unstorable"
    assert _stored(ledger.store, refused_tenant) == 0
    assert ledger.registry is not None
    counted = ledger.registry.get_sample_value(
        "bourse_events_dead_lettered_total", {"service": "ledger", "reason": "unstorable"}
    )
    assert counted is not None and counted >= 1


def _requests_table_refusing(tenant: str) -> str:
    types = {
        "stream": "BOOLEAN",
        "usage_estimated": "BOOLEAN",
        "latency_ms": "DOUBLE",
        "upstream_ms": "DOUBLE",
        "ttft_ms": "DOUBLE",
        "retries": "INTEGER",
        "attempts": "INTEGER",
    }
    columns = []
    for name in REQUEST_COLUMNS:
        kind = types.get(name, "VARCHAR" if name in _TEXT else "BIGINT")
        columns.append(f"{name} {kind}" + (" PRIMARY KEY" if name == "request_id" else ""))
    return f"CREATE TABLE requests ({', '.join(columns)}, CHECK (tenant <> '{tenant}'))"


_TEXT = {
    "request_id",
    "tenant",
    "key_id",
    "task_kind",
    "provider",
    "model",
    "region",
    "served_from",
    "outcome",
    "error_reason",
}
