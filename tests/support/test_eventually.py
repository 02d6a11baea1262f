"""The suite's one waiting helper: returns the first truthy value, retries only the errors it is told to, and fails
with a message naming what it waited for."""

from __future__ import annotations

import itertools

import pytest

from tests.support.eventually import eventually, eventually_sync


async def test_returns_the_first_truthy_value_of_a_sync_or_async_check() -> None:
    calls = itertools.count(1)
    assert await eventually(lambda: (n := next(calls)) >= 3 and n, interval_s=0) == 3

    async def later() -> str:
        return "ready" if next(calls) >= 6 else ""

    assert await eventually(later, interval_s=0) == "ready"


async def test_times_out_naming_what_it_waited_for_with_the_last_state() -> None:
    seen: list[int] = []
    with pytest.raises(AssertionError, match=r"timed out after 0.05s waiting for 3 items, 0 so far"):
        await eventually(lambda: len(seen) >= 3, timeout_s=0.05, what=lambda: f"3 items, {len(seen)} so far")


async def test_listed_errors_are_retried_and_chained_on_timeout() -> None:
    attempts = itertools.count(1)

    def flaky() -> bool:
        if next(attempts) < 3:
            raise ConnectionError("not yet")
        return True

    assert await eventually(flaky, interval_s=0, retry_on=(ConnectionError,)) is True

    def never() -> bool:
        raise ConnectionError("still down")

    with pytest.raises(AssertionError) as caught:
        await eventually(never, timeout_s=0.05, retry_on=(ConnectionError,), what="the server")
    assert isinstance(caught.value.__cause__, ConnectionError)


async def test_other_errors_fail_at_once() -> None:
    calls = itertools.count()

    def broken() -> bool:
        next(calls)
        raise ValueError("a bug, not a wait")

    with pytest.raises(ValueError, match="a bug"):
        await eventually(broken, timeout_s=5, retry_on=(ConnectionError,))
    assert next(calls) == 1  # called once: no retry


def test_sync_variant_waits_and_times_out() -> None:
    calls = itertools.count(1)
    assert eventually_sync(lambda: next(calls) >= 2, interval_s=0) is True
    with pytest.raises(AssertionError, match="waiting for nothing"):
        eventually_sync(lambda: False, timeout_s=0.05, what="nothing")
