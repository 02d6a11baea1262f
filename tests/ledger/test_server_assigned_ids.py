"""Duplicates cannot erase spend: the router assigns the id events and ledger rows are keyed by. The issue's case,
replayed through the real router, adapter, simulator and ledger: six successful requests, five sharing one
client id and one reusing that id from another tenant, leave six ledger rows."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

from bourse.router.v1 import router_service_pb2 as pb
from bourse.router.v1 import router_service_pb2_grpc as router_grpc

from services.provider_adapter.config import AdapterConfig
from services.router.config import RouterConfig
from tests.support.eventually import eventually
from tests.support.requests import route
from tests.support.services import LOOPBACK_ANY_PORT, Services

from .conftest import ledger_config


async def test_six_requests_sharing_client_ids_leave_six_rows(
    nats_url: str, tmp_path: Path, services: Services
) -> None:
    sim_url = await services.simulator()
    adapter = await services.adapter(AdapterConfig(listen=LOOPBACK_ANY_PORT, simulator_url=sim_url))
    router, _ = await services.router(
        RouterConfig(listen=LOOPBACK_ANY_PORT, nats_url=nats_url, adapter_target=f"127.0.0.1:{adapter.port}")
    )
    ledger = await services.ledger(ledger_config(nats_url, tmp_path))
    stub = router_grpc.RouterServiceStub(services.channel(f"127.0.0.1:{router.port}"))
    first_tenant, other_tenant = f"t-{uuid4().hex[:8]}", f"t-{uuid4().hex[:8]}"
    shared_id = f"client-{uuid4().hex[:8]}"

    answers: list[pb.RouteResponse] = []
    for tenant in [first_tenant] * 5 + [other_tenant]:
        request = route("Say hello.", tenant=tenant, max_tokens=16)
        request.context.request_id = shared_id
        answers.append(await stub.Route(request, timeout=15))

    assert all(a.client_request_id == shared_id for a in answers)
    assigned = [a.request_id for a in answers]
    assert len(set(assigned)) == 6 and shared_id not in assigned
    store = ledger.store
    assert store is not None

    def rows() -> list[tuple[str, str]]:
        return [
            (str(r[0]), str(r[1]))
            for r in store.query(
                "SELECT request_id, tenant FROM requests WHERE tenant IN (?, ?)", [first_tenant, other_tenant]
            )
        ]

    await eventually(lambda: len(rows()) >= 6, timeout_s=20, what="six ledger rows")
    assert sorted(rows()) == sorted(zip(assigned, [first_tenant] * 5 + [other_tenant], strict=True))
    spend = store.query(
        "SELECT sum(cost_micro_usd) FROM requests WHERE tenant IN (?, ?)", [first_tenant, other_tenant]
    )[0][0]
    assert spend == sum(a.cost_micro_usd for a in answers) > 0
