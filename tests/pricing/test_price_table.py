"""The PriceBook swaps whole snapshots and refuses implausible updates."""

from __future__ import annotations

import pytest

from shared.errors import InvalidRequest
from shared.events.schemas import PriceUpdate
from shared.pricing.price_table import PriceBook, PriceTable
from tests.router.model_entries import entry, manifest


def _book() -> PriceBook:
    return PriceBook.from_manifest(
        manifest(
            entry("openai", "gpt-4o-mini", prices={"input_per_mtok": 0.15, "output_per_mtok": 0.6}),
            entry("openrouter", "gpt-4o-mini", prices={"input_per_mtok": 0.15, "output_per_mtok": 0.6}),
            entry("mistral", "ministral-8b-2410", prices={"input_per_mtok": 0.1, "output_per_mtok": 0.1}),
        )
    )


def test_lookup_by_key_and_bare_model() -> None:
    table = _book().current
    assert table.get("openai", "gpt-4o-mini") is not None
    assert table.get("openai", "nope") is None
    assert table.knows("openai/gpt-4o-mini") and table.knows("gpt-4o-mini") and not table.knows("gpt-5")
    assert {e.provider for e in table.matching("gpt-4o-mini")} == {"openai", "openrouter"}
    assert len(table) == 3


def test_apply_swaps_a_new_snapshot_and_keeps_the_old_one_intact() -> None:
    book = _book()
    before = book.current
    seen: list[PriceTable] = []
    book.on_swap(seen.append)
    book.apply(PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=0.05, as_of="2025-08-01"))
    after = book.current
    assert after is not before and seen == [after]
    assert before.get("openai", "gpt-4o-mini").prices.input_per_mtok == 0.15  # type: ignore[union-attr]
    updated = after.get("openai", "gpt-4o-mini")
    assert updated is not None
    assert updated.prices.input_per_mtok == 0.05 and updated.prices.output_per_mtok == 0.6
    assert updated.prices_as_of == "2025-08-01" and after.as_of == "2025-08-01"
    assert after.schedules["openai/gpt-4o-mini"].base.input == 50_000
    assert after.version == before.version + 1


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        (PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=-1.0), "PRICE_UPDATE_IMPLAUSIBLE"),
        (PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=float("nan")), "PRICE_UPDATE_MALFORMED"),
        (PriceUpdate(provider="openai", model="gpt-4o-mini", output_per_mtok=1e9), "PRICE_UPDATE_IMPLAUSIBLE"),
        (PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=15.01), "PRICE_UPDATE_IMPLAUSIBLE"),
        (PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=0.0001), "PRICE_UPDATE_IMPLAUSIBLE"),
        (PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=0.0), "PRICE_UPDATE_IMPLAUSIBLE"),
        (PriceUpdate(provider="openai", model="gpt-9", input_per_mtok=1.0), "PRICE_UPDATE_UNKNOWN_MODEL"),
        (PriceUpdate(provider="openai", model="gpt-4o-mini"), "PRICE_UPDATE_MALFORMED"),
        (PriceUpdate(v=2, provider="openai", model="gpt-4o-mini", input_per_mtok=0.1), "PRICE_UPDATE_MALFORMED"),
        (
            PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=0.1, as_of="2024-01-01"),
            "PRICE_UPDATE_STALE",
        ),
    ],
)
def test_implausible_updates_are_rejected_and_not_applied(update: PriceUpdate, reason: str) -> None:
    book = _book()
    before = book.current
    with pytest.raises(InvalidRequest) as caught:
        book.apply(update)
    assert caught.value.reason == reason
    assert book.current is before


def test_large_change_applies_with_the_flag() -> None:
    book = _book()
    book.apply(PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=30.0, allow_large_change=True))
    assert book.current.get("openai", "gpt-4o-mini").prices.input_per_mtok == 30.0  # type: ignore[union-attr]


def test_apply_many_is_one_swap_and_reports_the_bad_ones() -> None:
    book = _book()
    seen: list[PriceTable] = []
    book.on_swap(seen.append)
    errors = book.apply_many(
        [
            PriceUpdate(provider="openai", model="gpt-4o-mini", input_per_mtok=0.1),
            PriceUpdate(provider="openai", model="unknown", input_per_mtok=0.1),
            PriceUpdate(provider="mistral", model="ministral-8b-2410", output_per_mtok=0.2),
        ]
    )
    assert [error.reason for error in errors] == ["PRICE_UPDATE_UNKNOWN_MODEL"]
    assert len(seen) == 1
    assert book.current.get("mistral", "ministral-8b-2410").prices.output_per_mtok == 0.2  # type: ignore[union-attr]
    assert book.current.get("openai", "gpt-4o-mini").prices.input_per_mtok == 0.1  # type: ignore[union-attr]
    assert book.apply_many([PriceUpdate(provider="x", model="y", input_per_mtok=1.0)])
    assert len(seen) == 1  # nothing valid: no swap
