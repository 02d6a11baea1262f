"""Hedged calls: the backup starts only after the delay, the first success wins, the loser is cancelled."""

from __future__ import annotations

import asyncio

from services.router.core.resilience.hedging import hedged


class _Leg:
    """An upstream call the test finishes by hand (no sleeps)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.cancelled = False
        self.finished = asyncio.Event()
        self.fail: Exception | None = None

    async def __call__(self) -> str:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.finished.set()
        if self.fail is not None:
            raise self.fail
        return "answer"


async def test_fast_primary_never_starts_the_backup() -> None:
    primary, backup = _Leg(), _Leg()
    primary.release.set()
    first, second = await hedged(primary, backup, delay_s=10)
    assert first.result == "answer" and not second.started and not backup.started.is_set()


async def test_slow_primary_starts_backup_and_the_winner_cancels_the_loser() -> None:
    primary, backup = _Leg(), _Leg()
    task = asyncio.ensure_future(hedged(primary, backup, delay_s=0))
    await asyncio.wait_for(backup.started.wait(), 5)
    backup.release.set()
    first, second = await asyncio.wait_for(task, 5)
    assert second.result == "answer"
    assert first.cancelled and primary.cancelled and first.result is None


async def test_backup_failure_leaves_primary_running() -> None:
    primary, backup = _Leg(), _Leg()
    backup.fail = RuntimeError("backup down")
    task = asyncio.ensure_future(hedged(primary, backup, delay_s=0))
    await asyncio.wait_for(backup.started.wait(), 5)
    backup.release.set()
    await asyncio.wait_for(backup.finished.wait(), 5)  # the backup has failed; the primary still runs
    primary.release.set()
    first, second = await asyncio.wait_for(task, 5)
    assert first.result == "answer"
    assert isinstance(second.error, RuntimeError)


async def test_both_fail_reports_both_errors() -> None:
    primary, backup = _Leg(), _Leg()
    primary.fail, backup.fail = ValueError("a"), ValueError("b")
    task = asyncio.ensure_future(hedged(primary, backup, delay_s=0))
    await asyncio.wait_for(backup.started.wait(), 5)
    primary.release.set()
    backup.release.set()
    first, second = await asyncio.wait_for(task, 5)
    assert str(first.error) == "a" and str(second.error) == "b"


async def test_primary_failing_before_the_delay_returns_without_backup() -> None:
    primary, backup = _Leg(), _Leg()
    primary.fail = ValueError("fast failure")
    primary.release.set()
    first, second = await hedged(primary, backup, delay_s=10)
    assert isinstance(first.error, ValueError) and not second.started
