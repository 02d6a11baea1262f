"""A NATS connection that heals itself: a client the library closed is replaced, with backoff.

nats-py reconnects after a lost TCP connection, but closes the client for good on some server errors
("maximum control line exceeded", an authorization violation): its reconnect settings never apply again, and every
publish after that fails. `HealingConnection` notices the close and connects a new client (jittered exponential
backoff, forever until `close()`), then runs the `on_replaced` hooks so the owners of subscriptions, KV handles and
publishers move to the new client. `on_state(False)` fires when the client is closed (events cannot flow, and
nothing would reconnect by itself) and `on_state(True)` once a replacement is connected: services turn their gRPC
health NOT_SERVING and back with it. A plain disconnect is not a health change: nats-py reconnects by itself, and
events wait in the publisher's backlog or spool meanwhile (turning every replica NOT_SERVING during a NATS restart
would refuse all traffic for nothing lost).

Sizes NATS refuses are prevented at the source (shared/input_bounds.py, the publisher's own checks); this is the
safety net for whatever still gets a client closed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import nats.errors
import structlog
from nats.aio.client import Client as NATS

from shared.events.connect import close_nats, connect

StateHook = Callable[[bool], Awaitable[None]]
ReplacedHook = Callable[[NATS], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Sleep a random time up to `base_s * 2**n`, capped at `max_s`, before the n-th reconnection try."""

    base_s: float = 0.1
    max_s: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(self.base_s / 2, min(self.max_s, self.base_s * 2**attempt))


class HealingConnection:
    """Owns the current NATS client (`nc`). Build with `await HealingConnection.open(...)`; `close()` at shutdown."""

    def __init__(
        self,
        servers: Sequence[str],
        logger: structlog.typing.FilteringBoundLogger,
        *,
        name: str,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._servers = list(servers)
        self._logger = logger
        self._name = name
        self._backoff = backoff or Backoff()
        self._rng = rng or random.Random()
        self._state_hooks: list[StateHook] = []
        self._replaced_hooks: list[ReplacedHook] = []
        self._healer: asyncio.Task[None] | None = None
        self._closing = False
        self.replacements = 0  # clients replaced since start
        self._nc: NATS | None = None

    @classmethod
    async def open(
        cls,
        servers: Sequence[str],
        logger: structlog.typing.FilteringBoundLogger,
        *,
        name: str,
        backoff: Backoff | None = None,
    ) -> HealingConnection:
        """Connect the first client (raises like `connect` when NATS cannot be reached at start)."""
        connection = cls(servers, logger, name=name, backoff=backoff)
        connection._nc = await connection._connect()
        return connection

    @property
    def nc(self) -> NATS:
        assert self._nc is not None, "HealingConnection.open() first"
        return self._nc

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def on_state(self, hook: StateHook) -> None:
        """`hook(False)` when the client was closed, `hook(True)` when its replacement is connected."""
        self._state_hooks.append(hook)

    def on_replaced(self, hook: ReplacedHook) -> None:
        """`hook(new_client)` after a replacement, before `on_state(True)`: move subscriptions and handles over."""
        self._replaced_hooks.append(hook)

    async def close(self, *, timeout_s: float = 5.0) -> None:
        self._closing = True
        if self._healer is not None:
            self._healer.cancel()
            await asyncio.gather(self._healer, return_exceptions=True)
        if self._nc is not None:
            await close_nats(self._nc, self._logger, timeout_s=timeout_s)

    async def _connect(self) -> NATS:
        return await connect(self._servers, self._logger, name=self._name, on_closed=self._closed)

    async def _state(self, connected: bool) -> None:
        for hook in self._state_hooks:
            try:
                await hook(connected)
            except Exception:  # a hook's failure must not stop the others, nor the client's callbacks
                self._logger.exception("nats_state_hook_failed")

    async def _closed(self) -> None:
        if self._closing or (self._healer is not None and not self._healer.done()):
            return
        self._logger.error("nats_client_closed", error=repr(self._nc.last_error if self._nc else None))
        await self._state(False)
        self._healer = asyncio.get_running_loop().create_task(self._heal(), name="nats-healer")

    async def _heal(self) -> None:
        attempt = 0
        while not self._closing:
            await asyncio.sleep(self._backoff.delay(attempt, self._rng))
            attempt += 1
            try:
                fresh = await self._connect()
            except (nats.errors.Error, OSError, TimeoutError) as error:
                self._logger.warning("nats_replace_failed", attempt=attempt, error=repr(error))
                continue
            self._nc = fresh
            self.replacements += 1
            self._logger.info("nats_client_replaced", attempts=attempt)
            for hook in self._replaced_hooks:
                try:
                    await hook(fresh)
                except Exception:  # one owner failing to move must not keep the others on a dead client
                    self._logger.exception("nats_replaced_hook_failed")
            if fresh.is_connected:
                await self._state(True)
            return
