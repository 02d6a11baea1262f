"""Retry-After per provider (the API key) and per model: a model that said "retry after 30 s" is skipped by
every request on this router for 30 s, and, when a listener publishes the change, by every other replica too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# A local block that extends the previous one by less than this is not announced again (a burst of 429s from
# one model, each a few milliseconds later, announces the block once).
ANNOUNCE_MIN_EXTENSION_S = 0.25


@dataclass(frozen=True, slots=True)
class BlockAnnounced:
    """A block this replica learnt from a provider: `model` "" when the whole provider is blocked."""

    provider: str
    model: str
    delay_s: float  # relative to the moment of the announcement: receivers add it to their own clock


BlockListener = Callable[[BlockAnnounced], None]


class RetryAfterBook:
    """Deadlines (monotonic seconds) before which a provider or a model must not be tried."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str], float] = {}
        self._providers: dict[str, float] = {}
        self._listener: BlockListener | None = None

    def set_listener(self, listener: BlockListener | None) -> None:
        """Called (synchronously, so it must only enqueue) when a local Retry-After extends a block."""
        self._listener = listener

    def record(self, provider: str, model: str, delay_s: float, now: float, *, whole_provider: bool = False) -> None:
        """A Retry-After this replica received; announced to the listener when it extends the block."""
        delay = max(delay_s, 0.0)
        key_model = "" if whole_provider else model
        previous = self._extend(provider, key_model, now + delay)
        extends = previous <= now or now + delay >= previous + ANNOUNCE_MIN_EXTENSION_S
        if self._listener is not None and delay > 0 and extends:
            self._listener(BlockAnnounced(provider, key_model, delay))

    def apply_remote(self, provider: str, model: str, delay_s: float, now: float) -> bool:
        """A block another replica announced (`model` "" = the whole provider), on this replica's clock.
        Never shortens a block; never announced again. Returns whether it extended the block."""
        until = now + max(delay_s, 0.0)
        return self._extend(provider, model, until) < until

    def blocked_until(self, provider: str, model: str, now: float) -> float | None:
        """The time the block ends, or None when the model may be tried now."""
        until = max(self._providers.get(provider, 0.0), self._models.get((provider, model), 0.0))
        return until if until > now else None

    def _extend(self, provider: str, model: str, until: float) -> float:
        """Move the block's end to `until` if that is later; returns the previous end (0 when none)."""
        if not model:
            previous = self._providers.get(provider, 0.0)
            self._providers[provider] = max(previous, until)
        else:
            key = (provider, model)
            previous = self._models.get(key, 0.0)
            self._models[key] = max(previous, until)
        return previous
