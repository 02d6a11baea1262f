"""The cheapest provider starts returning 429 with Retry-After, then recovers: traffic moves away within the
Retry-After window and comes back after it, and no client request fails."""

from __future__ import annotations

import time

from bourse.router.v1 import router_service_pb2 as pb

from tests.router.faults import inject, requests_to
from tests.support.eventually import eventually
from tests.support.requests import route

CHEAPEST = ("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct")
RETRY_AFTER_S = 1.0


async def test_traffic_moves_away_and_comes_back(router, sim) -> None:
    stub, _ = router
    first: pb.RouteResponse = await stub.Route(route(), timeout=10)
    assert (first.provider, first.model) == CHEAPEST
    # the provider is rate limited for 0.5 s but asks for 1 s: the router must honour the 1 s
    await inject(
        sim, provider=CHEAPEST[0], model=CHEAPEST[1], kind="rate_limit", duration_s=0.5, retry_after_s=RETRY_AFTER_S
    )
    limited: pb.RouteResponse = await stub.Route(route(), timeout=10)
    limited_at = time.monotonic()
    assert [a.error_reason for a in limited.attempts] == ["RATE_LIMITED", ""]
    assert limited.model != CHEAPEST[1]
    tried = await requests_to(sim, *CHEAPEST)

    during: list[str] = []
    after: list[str] = []

    async def back_to_cheapest() -> bool:  # a paced client: each call is one sample, the wait ends on the condition
        response: pb.RouteResponse = await stub.Route(route(), timeout=10)  # raises if a request fails
        sent_at_in_window = time.monotonic() < limited_at + RETRY_AFTER_S * 0.9
        (during if sent_at_in_window else after).append(response.model)
        return response.model == CHEAPEST[1]

    await eventually(back_to_cheapest, timeout_s=RETRY_AFTER_S + 5, interval_s=0.05, what="the cheapest model again")
    assert during and CHEAPEST[1] not in during  # moved away inside the window ...
    assert after and after[-1] == CHEAPEST[1]  # ... and came back after it
    assert time.monotonic() - limited_at >= RETRY_AFTER_S * 0.9
    # while the block held, the rate-limited model was not called at all
    assert await requests_to(sim, *CHEAPEST) == tried + 1
