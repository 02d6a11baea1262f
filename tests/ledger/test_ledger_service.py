"""The ledger service end to end: events through real JetStream into DuckDB, RPCs over real gRPC."""

from __future__ import annotations

import uuid

import grpc
import msgspec
import pytest
from bourse.ledger.v1 import ledger_service_pb2 as pb
from bourse.ledger.v1 import ledger_service_pb2_grpc as pb_grpc
from nats.aio.client import Client as NATS

from services.ledger.server import LedgerServer
from shared.events import streams, subjects
from shared.events.publisher import EventPublisher
from shared.events.schemas import Feedback, TelemetryEvent
from shared.grpc_errors import from_rpc_error
from shared.logging import get_logger
from tests.support.eventually import eventually

from .sample_events import event


def _stub(ledger: LedgerServer) -> tuple[grpc.aio.Channel, pb_grpc.LedgerServiceStub]:
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{ledger.port}")
    return channel, pb_grpc.LedgerServiceStub(channel)


def _count(ledger: LedgerServer, tenant: str) -> int:
    assert ledger.store is not None
    return int(ledger.store.query("SELECT count(*) FROM requests WHERE tenant = ?", [tenant])[0][0])


async def _publish(nc: NATS, events: list[TelemetryEvent]) -> None:
    publisher = EventPublisher(nc=nc, logger=get_logger("test"))
    publisher.start()
    for e in events:
        publisher.publish(subjects.telemetry(e.provider, e.model), e, msg_id=e.request_id)
    assert await publisher.flush(10)
    await publisher.close()


async def test_events_are_stored_once_and_reported(ledger: LedgerServer, nc: NATS) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    events = [event(tenant=tenant, cost_micro_usd=10 + i, latency_ms=float(i)) for i in range(20)]
    await _publish(nc, events)
    # The same events again under new message ids (past the stream's dedup): the ledger's own dedup holds.
    js = nc.jetstream()
    for e in events[:5]:
        await js.publish(
            subjects.telemetry(e.provider, e.model), msgspec.json.encode(e), headers={"Nats-Msg-Id": "x" + e.request_id}
        )
    await eventually(lambda: _count(ledger, tenant) == 20, what="20 stored events")
    assert ledger.consumers is not None
    await eventually(lambda: ledger.consumers is not None and ledger.consumers.stats.duplicates >= 5, what="dups")
    assert _count(ledger, tenant) == 20
    channel, stub = _stub(ledger)
    async with channel:
        reply = await stub.GetReport(
            pb.GetReportRequest(filter=pb.LedgerFilter(tenant=tenant), group_by=[pb.GROUP_BY_MODEL])
        )
    assert reply.total.requests == 20
    assert reply.total.spend_micro_usd == sum(10 + i for i in range(20))
    assert [(r.model, r.requests) for r in reply.rows] == [("gpt-4o-mini", 20)]


async def test_malformed_event_is_rejected_without_blocking_the_stream(ledger: LedgerServer, nc: NATS) -> None:
    assert ledger.consumers is not None
    js = nc.jetstream()
    await streams.ensure_streams(js)
    before = ledger.consumers.stats.rejected
    await js.publish("bourse.telemetry.bad.model", b"{not json")
    await js.publish("bourse.telemetry.bad.model", b'{"request_id": 5}')
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    await _publish(nc, [event(tenant=tenant)])
    await eventually(lambda: _count(ledger, tenant) == 1, what="the valid event after the bad ones")
    assert ledger.consumers.stats.rejected >= before + 2


async def test_failed_write_is_retried_and_not_acked_before(
    ledger: LedgerServer, nc: NATS, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ledger.store is not None
    store = ledger.store
    real_insert = store.insert_requests
    failures = {"left": 2}

    def flaky_insert(events: list[TelemetryEvent]) -> list[TelemetryEvent]:
        if failures["left"]:
            failures["left"] -= 1
            raise OSError("disk full")
        return real_insert(events)

    monkeypatch.setattr(store, "insert_requests", flaky_insert)
    monkeypatch.setattr("services.ledger.events.WRITE_RETRY_S", 0.05)
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    await _publish(nc, [event(tenant=tenant) for _ in range(3)])
    await eventually(lambda: _count(ledger, tenant) == 3, what="the batch after two failed writes")
    assert failures["left"] == 0
    assert ledger.registry is not None
    assert (
        ledger.registry.get_sample_value("bourse_ledger_events_rejected_total", {"reason": "write_failed"}) or 0
    ) >= 2


async def test_feedback_by_rpc_and_by_subject_feeds_the_ranking(ledger: LedgerServer, nc: NATS) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    events = [event(tenant=tenant, task_kind="extraction", cost_micro_usd=20) for _ in range(3)]
    await _publish(nc, events)
    await eventually(lambda: _count(ledger, tenant) == 3, what="stored events")
    channel, stub = _stub(ledger)
    async with channel:
        known = await stub.SubmitFeedback(
            pb.SubmitFeedbackRequest(request_id=events[0].request_id, tenant=tenant, score=1.0)
        )
        unknown = await stub.SubmitFeedback(pb.SubmitFeedbackRequest(request_id="not-yet", tenant=tenant, score=0.5))
        assert known.request_known and not unknown.request_known
        js = nc.jetstream()
        await streams.ensure_streams(js)
        await js.publish(
            subjects.feedback(tenant),
            msgspec.json.encode(Feedback(request_id=events[1].request_id, tenant=tenant, score=0.5)),
        )
        await js.publish(subjects.feedback(tenant), b'{"request_id": "x", "tenant": "t", "score": 7}')

        def scored() -> int:
            assert ledger.store is not None
            return int(
                ledger.store.query(
                    "SELECT count(*) FROM feedback WHERE request_id IN (?, ?)",
                    [events[0].request_id, events[1].request_id],
                )[0][0]
            )

        await eventually(lambda: scored() == 2, what="feedback from RPC and subject")
        ranking = await stub.GetQualityRanking(
            pb.GetQualityRankingRequest(filter=pb.LedgerFilter(tenant=tenant), min_scored=5)
        )
    [row] = ranking.rows
    assert (row.task_kind, row.requests, row.scored, row.rank, row.thin_evidence) == ("extraction", 3, 2, 1, True)
    assert row.mean_score == pytest.approx(0.75)
    assert ledger.consumers is not None and ledger.consumers.stats.rejected >= 1  # the score of 7


@pytest.mark.parametrize(
    ("request_fields", "bad_fields"),
    [
        ({"request_id": "", "tenant": "t", "score": 0.5}, {"request_id"}),
        ({"request_id": "r", "tenant": "", "score": 1.5}, {"tenant", "score"}),
        ({"request_id": "r", "tenant": "t", "score": float("nan")}, {"score"}),
        ({"request_id": "r", "tenant": "t", "score": 0.5, "comment": "x" * 1001}, {"comment"}),
        ({"request_id": "r\r\nx", "tenant": "t" * 65, "score": 0.5}, {"request_id", "tenant"}),
    ],
)
async def test_bad_feedback_is_invalid_argument_naming_fields(
    ledger: LedgerServer, request_fields: dict[str, object], bad_fields: set[str]
) -> None:
    channel, stub = _stub(ledger)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.SubmitFeedback(pb.SubmitFeedbackRequest(**request_fields))  # type: ignore[arg-type]
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    error = from_rpc_error(info.value)
    assert error.reason == "INVALID_REQUEST"
    assert {v.field for v in error.violations} == bad_fields


async def test_report_and_counterfactual_rpcs_reject_bad_input(ledger: LedgerServer) -> None:
    channel, stub = _stub(ledger)
    async with channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetReport(pb.GetReportRequest(filter=pb.LedgerFilter(start_ms=10, end_ms=5)))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetCounterfactual(pb.GetCounterfactualRequest(target=pb.ModelPrice(model="", input_per_mtok=-1)))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert {v.field for v in from_rpc_error(info.value).violations} == {"target.model", "target.input_per_mtok"}


async def test_counterfactual_rpc(ledger: LedgerServer, nc: NATS) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    await _publish(nc, [event(tenant=tenant, cost_micro_usd=45, task_kind=kind) for kind in ("chat", "code")])
    await eventually(lambda: _count(ledger, tenant) == 2, what="stored events")
    channel, stub = _stub(ledger)
    async with channel:
        reply = await stub.GetCounterfactual(
            pb.GetCounterfactualRequest(
                filter=pb.LedgerFilter(tenant=tenant),
                target=pb.ModelPrice(provider="openai", model="gpt-4o", input_per_mtok=2.5, output_per_mtok=10),
                group_by=pb.GROUP_BY_TASK_KIND,
            )
        )
    assert (reply.total.requests, reply.total.actual_micro_usd, reply.total.counterfactual_micro_usd) == (2, 90, 1500)
    assert reply.total.savings_micro_usd == 1410
    assert [(r.key, r.counterfactual_micro_usd) for r in reply.rows] == [("chat", 750), ("code", 750)]
