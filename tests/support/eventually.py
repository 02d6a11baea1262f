"""Waiting on a condition with a deadline, never a bare sleep: the one polling loop of the test suite."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

What = str | Callable[[], str]


async def eventually(
    check: Callable[[], T | Awaitable[T]],
    *,
    timeout_s: float = 20.0,
    interval_s: float = 0.02,
    what: What = "condition",
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call `check` (sync or async) until it returns a truthy value, and return that value.

    An exception of a type in `retry_on` counts as "not yet"; any other propagates at once (so an assertion inside
    `check`, such as "the child process is still alive", fails fast). After `timeout_s` an AssertionError names
    `what` (a string, or a callable for a message built from the last state) and chains the last retried error.
    """
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value  # type: ignore[return-value]
        except retry_on as error:
            last_error = error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {_text(what)}") from last_error
        await asyncio.sleep(interval_s)


def eventually_sync(
    check: Callable[[], T],
    *,
    timeout_s: float = 20.0,
    interval_s: float = 0.05,
    what: What = "condition",
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """`eventually` for tests without an event loop (subprocess and file checks)."""
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except retry_on as error:
            last_error = error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:g}s waiting for {_text(what)}") from last_error
        time.sleep(interval_s)


def _text(what: What) -> str:
    return what() if callable(what) else what
