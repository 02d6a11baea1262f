"""How old the prices are: each model's newest price date, its age in days, and a watch that reports stale ones.

A model's newest price is the date of the last update applied to it (a live update over NATS counts from its own
timestamp), else the manifest's date. Ages are whole days on an injected clock (seconds since the epoch).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # price_table imports this module
    from shared.pricing.price_table import PriceTable

SECONDS_PER_DAY = 86_400
DEFAULT_MAX_AGE_DAYS = 90


def epoch_day(text: str) -> int | None:
    """Days since 1970-01-01 of an ISO date or date-time ("2026-12-03", "2026-12-03T10:00:00+00:00"); None if
    the text is empty or not a date."""
    if not text:
        return None
    try:
        day = datetime.fromisoformat(text).astimezone(UTC).date() if "T" in text else date.fromisoformat(text[:10])
    except ValueError:
        return None
    return (day - date(1970, 1, 1)).days


def age_days(day: int | None, now_s: float) -> int | None:
    """Whole days from `day` (an epoch day) to the instant `now_s`; None when the date is unknown."""
    if day is None:
        return None
    return max(int(now_s // SECONDS_PER_DAY) - day, 0)


class PriceAgeWatch:
    """Reports a model the router routes to whose newest price is older than `max_age_days`.

    `check` is on the request path: a clock read, a dict lookup and a comparison. `on_stale(key, as_of, age)`
    runs on every such route (for a counter); `warn(key, as_of, age)` once per model and price snapshot.
    """

    __slots__ = ("_clock", "_on_stale", "_warn", "_warned", "max_age_days")

    def __init__(
        self,
        *,
        max_age_days: float = DEFAULT_MAX_AGE_DAYS,
        clock: Callable[[], float],
        on_stale: Callable[[str, int], None],
        warn: Callable[[str, int], None],
    ) -> None:
        self.max_age_days = max_age_days
        self._clock = clock
        self._on_stale = on_stale
        self._warn = warn
        self._warned: set[tuple[str, int]] = set()

    def check(self, price_days: dict[str, int | None], version: int, key: str) -> int | None:
        """The model's price age in days when it is stale (after reporting it), else None."""
        age = age_days(price_days.get(key), self._clock())
        if age is None or age <= self.max_age_days:
            return None
        self._on_stale(key, age)
        if (key, version) not in self._warned:
            self._warned.add((key, version))
            self._warn(key, age)
        return age


def age_summary(table: PriceTable, now_s: float, max_age_days: float = DEFAULT_MAX_AGE_DAYS) -> dict[str, object]:
    """How old a price table is, for dashboards and CLIs: the newest price, the oldest model price and its age,
    and the models past `max_age_days`."""
    oldest = table.oldest_as_of()
    stale = sorted(
        entry.key
        for entry in table.entries
        if entry.provider != "local" and (age_days(table.price_days.get(entry.key), now_s) or 0) > max_age_days
    )
    return {
        "as_of": table.as_of,
        "oldest_as_of": oldest,
        "oldest_age_days": age_days(epoch_day(oldest), now_s) or 0,
        "max_age_days": max_age_days,
        "stale_models": stale,
    }
