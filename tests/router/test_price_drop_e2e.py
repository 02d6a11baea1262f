"""A price drop published on NATS reroutes the next request to the now-cheapest model."""

from __future__ import annotations

import msgspec
from bourse.router.v1 import router_service_pb2 as pb
from nats.aio.client import Client as NATS

from shared.events import subjects
from shared.events.schemas import PriceUpdate
from tests.support.eventually import eventually
from tests.support.requests import route

CHEAPEST = (
    "fireworks",
    "accounts/fireworks/models/llama-v3p1-8b-instruct",
)  # 0.10 / 0.10 USD per Mtok, the faster of two
DROPPED = ("qwen", "qwen-turbo")  # 0.05 / 0.20 USD per million tokens in the default manifest


async def _publish(nc: NATS, update: PriceUpdate) -> None:
    await nc.jetstream().publish(subjects.pricing(update.provider, update.model), msgspec.json.encode(update))


async def test_price_drop_reroutes_the_next_request(router, nc: NATS) -> None:
    stub, _ = router
    before: pb.RouteResponse = await stub.Route(route(), timeout=10)
    assert (before.provider, before.model) == CHEAPEST
    await _publish(nc, PriceUpdate(provider=DROPPED[0], model=DROPPED[1], input_per_mtok=0.01, output_per_mtok=0.01))
    try:

        async def applied() -> bool:  # the update is applied asynchronously; wait for it on the router's own view
            listed = await stub.ListModels(pb.ListModelsRequest(), timeout=5)
            price = next(m.pricing for m in listed.models if (m.provider, m.model) == DROPPED)
            return price.input_per_mtok == 0.01

        await eventually(applied, timeout_s=5, what="the price update to be applied")
        after: pb.RouteResponse = await stub.Route(route(), timeout=10)
        assert (after.provider, after.model) == DROPPED
        usage = after.completion.usage
        expected = usage.prompt_tokens * 0.01 + usage.completion_tokens * 0.01
        assert after.cost_micro_usd == int(expected + 0.5)  # the new price is the one billed
    finally:  # later routers recover the last price of every model: put the manifest price back
        await _publish(nc, PriceUpdate(provider=DROPPED[0], model=DROPPED[1], input_per_mtok=0.05, output_per_mtok=0.2))
