"""Hedged calls: when the first attempt has not answered by its P95, start a second and take the first
complete answer, cancelling the other. Both attempts are reported, so both costs can be counted."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class HedgeLeg(Generic[T]):
    """What happened to one leg: a result, an error, cancelled (lost the race), or never started."""

    started: bool = False
    result: T | None = None
    error: BaseException | None = None
    cancelled: bool = False
    latency_s: float = 0.0


async def hedged(
    primary: Callable[[], Awaitable[T]],
    backup: Callable[[], Awaitable[T]],
    delay_s: float,
) -> tuple[HedgeLeg[T], HedgeLeg[T]]:
    """Run `primary`; if it has not finished after `delay_s`, also run `backup`. The first success wins and
    the other leg is cancelled. A leg that fails leaves the other running. When both fail, both errors are
    returned. Returns (primary leg, backup leg); never raises the legs' errors."""
    legs: tuple[HedgeLeg[T], HedgeLeg[T]] = (HedgeLeg(), HedgeLeg())
    started_at = [0.0, 0.0]
    tasks: dict[asyncio.Task[T], int] = {}

    def start(index: int, factory: Callable[[], Awaitable[T]]) -> None:
        legs[index].started = True
        started_at[index] = time.perf_counter()
        tasks[asyncio.ensure_future(factory())] = index

    start(0, primary)
    try:
        pending = set(tasks)
        done, pending = await asyncio.wait(pending, timeout=max(delay_s, 0.0))
        if not done:
            start(1, backup)
            pending = set(tasks)
        while True:
            for task in done:
                index = tasks[task]
                legs[index].latency_s = time.perf_counter() - started_at[index]
                error = task.exception()
                if error is None:
                    legs[index].result = task.result()
                else:
                    legs[index].error = error
            if any(leg.result is not None for leg in legs):
                return legs
            if not legs[1].started:  # primary failed before the hedge delay: no backup (failover handles it)
                return legs
            if not pending:
                return legs
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task, index in tasks.items():
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                legs[index].cancelled = True
                legs[index].latency_s = time.perf_counter() - started_at[index]
