"""Selection skips a model from its retirement date on, names the constraint in Explain, and keeps the hot path
cheap (a bit mask recomputed once a day). Every clock here is injected."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
from bourse.router.v1 import router_service_pb2 as pb

from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection import AlwaysAvailable, Selector
from shared.pricing.price_table import PriceBook
from tests.router.model_entries import entry, manifest
from tests.support.requests import route


def _at(day: str, hour: int = 12) -> float:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC).timestamp()


def _profile(**fields: object) -> RequestProfile:
    fields.setdefault("estimated_prompt_tokens", 1000)
    return msgspec.convert(fields, RequestProfile)


def _selector(now: list[float]) -> Selector:
    book = PriceBook.from_manifest(
        manifest(
            entry("a", "old", prices={"input_per_mtok": 0.1, "output_per_mtok": 0.2}, retires_on="2026-12-11"),
            entry("b", "new", prices={"input_per_mtok": 0.3, "output_per_mtok": 0.6}),
            entry("c", "later", prices={"input_per_mtok": 0.5, "output_per_mtok": 1.0}, retires_on="2027-06-01"),
        )
    )
    return Selector(book, LiveStats(book), TokenEstimator(), AlwaysAvailable(), clock=lambda: now[0])


def test_a_model_is_chosen_until_its_retirement_day_and_skipped_from_it() -> None:
    now = [_at("2026-12-10", hour=23)]
    selector = _selector(now)
    assert [c.key for c in selector.select(_profile(max_tokens=100), now=0, limit=2).candidates] == ["a/old", "b/new"]
    now[0] = _at("2026-12-11", hour=0)  # the same selector, past midnight of the retirement day
    routed = selector.select(_profile(max_tokens=100), now=0, limit=2)
    assert [c.key for c in routed.candidates] == ["b/new", "c/later"]
    explained = selector.select(_profile(max_tokens=100), now=0)
    rejected = {(r.provider, r.model): (r.constraint, r.detail) for r in explained.rejections}
    assert rejected == {("a", "old"): ("retired", "retired by the provider on 2026-12-11")}


def test_retirement_is_named_first_and_when_it_removes_the_last_model() -> None:
    selector = _selector([_at("2027-07-01")])
    selection = selector.select(_profile(max_tokens=10_000), now=0)  # above every max output (8192)
    # a and c are reported retired first, whatever else they fail; b fails only the max output
    assert {r.model: r.constraint for r in selection.rejections} == {
        "old": "retired",
        "later": "retired",
        "new": "max_output",
    }
    only_old = selector.select(_profile(max_tokens=100, allowed_models=frozenset({"a/old"})), now=0, limit=1)
    assert not only_old.candidates and only_old.last_constraint() == "retired"


async def test_explain_names_retired_models_of_the_shipped_manifest(make_router) -> None:
    stub, _ = await make_router(clock=lambda: _at("2027-01-20"))
    explained: pb.ExplainResponse = await stub.Explain(pb.ExplainRequest(chat=route().chat), timeout=5)
    retired = {(r.provider, r.model) for r in explained.rejected if r.constraint == "retired"}
    # The refreshed manifest dates OpenAI's GPT-4o and GPT-4.1 families for 2027-01-14.
    assert {("openai", "gpt-4o"), ("openai", "gpt-4.1"), ("openai", "gpt-4o-mini")} <= retired
    assert not {(c.provider, c.model) for c in explained.candidates} & retired
    before: pb.ExplainResponse = await (await make_router(clock=lambda: _at("2026-12-03")))[0].Explain(
        pb.ExplainRequest(chat=route().chat), timeout=5
    )
    assert not [r for r in before.rejected if r.constraint == "retired"]
