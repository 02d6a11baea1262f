"""The age of prices: a warning and a metric when the router routes to a model with stale prices, the age in
ListModels, and live prices over NATS counted fresh from their own timestamp. Every clock here is injected."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import structlog.testing
from bourse.router.v1 import router_service_pb2 as pb
from nats.aio.client import Client as NATS

from shared.events import streams, subjects
from shared.events.schemas import PriceUpdate
from shared.pricing.manifest import default_manifest_path
from shared.pricing.price_age import PriceAgeWatch, age_days, age_summary, epoch_day
from shared.pricing.price_table import PriceBook
from tests.router.model_entries import entry, manifest
from tests.support.eventually import eventually
from tests.support.requests import route

DAY = 86_400.0
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp()
CHEAPEST = ("fireworks", "accounts/fireworks/models/llama-v3p1-8b-instruct")


def test_epoch_days_and_ages() -> None:
    assert epoch_day("1970-01-02") == 1
    assert epoch_day("2026-12-03T23:30:00-02:00") == epoch_day("2026-12-04")  # a time is read in UTC
    assert epoch_day("") is None and epoch_day("soon") is None
    assert age_days(epoch_day("2026-09-04"), NOW) == 90
    assert age_days(None, NOW) is None


def _watch(max_age_days: float = 90) -> tuple[PriceAgeWatch, list[tuple[str, int]], list[tuple[str, int]]]:
    stale: list[tuple[str, int]] = []
    warned: list[tuple[str, int]] = []
    watch = PriceAgeWatch(
        max_age_days=max_age_days,
        clock=lambda: NOW,
        on_stale=lambda key, age: stale.append((key, age)),
        warn=lambda key, age: warned.append((key, age)),
    )
    return watch, stale, warned


def test_the_watch_reports_stale_prices_and_warns_once_per_snapshot() -> None:
    book = PriceBook.from_manifest(
        manifest(entry("p", "old"), entry("p", "fresh", prices_as_of="2026-11-30"), as_of="2026-06-01")
    )
    watch, stale, warned = _watch()
    table = book.current
    assert watch.check(table.price_days, table.version, "p/fresh") is None
    for _ in range(3):
        assert watch.check(table.price_days, table.version, "p/old") == 185
    assert stale == [("p/old", 185)] * 3 and warned == [("p/old", 185)]
    assert watch.check(table.price_days, table.version, "p/unknown") is None


def test_an_update_makes_a_model_fresh_from_its_own_date() -> None:
    book = PriceBook.from_manifest(manifest(entry("p", "m"), entry("p", "n"), as_of="2026-06-01"))
    book.apply(PriceUpdate(provider="p", model="m", input_per_mtok=0.9, as_of="2026-12-02T08:00:00+00:00"))
    table = book.current
    assert age_days(table.price_days["p/m"], NOW) == 1
    assert age_days(table.price_days["p/n"], NOW) == 185  # untouched: still the manifest's date
    assert table.base_as_of == "2026-06-01" and table.oldest_as_of() == "2026-06-01"
    summary = age_summary(table, NOW)
    assert summary["oldest_age_days"] == 185 and summary["stale_models"] == ["p/n"]


def _old_manifest(tmp_path: Path, as_of: str) -> str:
    data: dict[str, Any] = json.loads(default_manifest_path().read_text())
    data["prices_as_of"] = as_of
    for model in data["models"]:
        model.pop("prices_as_of", None)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(data))
    return str(path)


async def test_routing_to_a_stale_model_warns_and_counts(make_router, tmp_path: Path) -> None:
    stub, parts = await make_router(manifest_path=_old_manifest(tmp_path, "2026-06-01"), clock=lambda: NOW)
    request = route(constraints=pb.RoutingConstraints(allowed_models=["/".join(CHEAPEST)]))
    with structlog.testing.capture_logs() as logs:
        for _ in range(2):
            response = await stub.Route(request, timeout=10)
    assert (response.provider, response.model) == CHEAPEST
    warnings = [e for e in logs if e["event"] == "stale_prices"]
    assert [(e["model"], e["age_days"], e["log_level"]) for e in warnings] == [("/".join(CHEAPEST), 185, "warning")]
    labels = {"provider": CHEAPEST[0], "model": CHEAPEST[1]}
    assert parts.registry.get_sample_value("bourse_router_stale_price_routes_total", labels) == 2
    assert parts.registry.get_sample_value("bourse_router_price_age_days", labels) == 185


async def test_fresh_prices_raise_no_warning(make_router, tmp_path: Path) -> None:
    stub, parts = await make_router(
        manifest_path=_old_manifest(tmp_path, "2026-06-01"), clock=lambda: NOW, max_price_age_days=200
    )
    request = route(constraints=pb.RoutingConstraints(allowed_models=["/".join(CHEAPEST)]))
    with structlog.testing.capture_logs() as logs:
        await stub.Route(request, timeout=10)
    assert not [e for e in logs if e["event"] == "stale_prices"]
    labels = {"provider": CHEAPEST[0], "model": CHEAPEST[1]}
    assert parts.registry.get_sample_value("bourse_router_stale_price_routes_total", labels) is None


async def test_list_models_shows_ages_and_a_live_price_counts_from_its_message(
    make_router, tmp_path: Path, nc: NATS
) -> None:
    stub, _ = await make_router(manifest_path=_old_manifest(tmp_path, "2026-06-01"), clock=lambda: NOW)
    listed: pb.ListModelsResponse = await stub.ListModels(pb.ListModelsRequest(), timeout=5)
    by_key = {(m.provider, m.model): m for m in listed.models}
    assert by_key[CHEAPEST].prices_as_of == "2026-06-01" and by_key[CHEAPEST].price_age_days == 185
    assert (listed.oldest_prices_as_of, listed.oldest_price_age_days, listed.max_price_age_days) == (
        "2026-06-01",
        185,
        90,
    )
    assert by_key[("openai", "gpt-4o")].retires_on == "2027-01-14"
    # A live update without a date of its own: fresh from the time JetStream stored it.
    update = PriceUpdate(provider=CHEAPEST[0], model=CHEAPEST[1], input_per_mtok=0.09, output_per_mtok=0.09)
    js = nc.jetstream()
    try:
        ack = await js.publish(subjects.pricing(*CHEAPEST), msgspec.json.encode(update))
        stored = await js.get_msg(streams.PRICING.name, ack.seq)

        async def applied() -> pb.ModelInfo | None:  # applied asynchronously: wait for it on the router's own view
            listed = await stub.ListModels(pb.ListModelsRequest(), timeout=5)
            model = next(m for m in listed.models if (m.provider, m.model) == CHEAPEST)
            return model if model.pricing.input_per_mtok == 0.09 else None

        fresh = await eventually(applied, timeout_s=5, what="the live price to be applied")
        assert stored.time is not None
        assert epoch_day(fresh.prices_as_of) == epoch_day(stored.time.isoformat())
    finally:  # later routers recover the last price of every model: put the manifest price back
        restore = PriceUpdate(provider=CHEAPEST[0], model=CHEAPEST[1], input_per_mtok=0.1, output_per_mtok=0.1)
        await js.publish(subjects.pricing(*CHEAPEST), msgspec.json.encode(restore))
