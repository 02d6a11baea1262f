"""Retry-After per provider (the API key) and per model: a model that said "retry after 30 s" is skipped by
every request on this router for 30 s."""

from __future__ import annotations


class RetryAfterBook:
    """Deadlines (monotonic seconds) before which a provider or a model must not be tried."""

    def __init__(self) -> None:
        self._models: dict[tuple[str, str], float] = {}
        self._providers: dict[str, float] = {}

    def record(self, provider: str, model: str, delay_s: float, now: float, *, whole_provider: bool = False) -> None:
        until = now + max(delay_s, 0.0)
        if whole_provider:
            self._providers[provider] = max(self._providers.get(provider, 0.0), until)
        else:
            key = (provider, model)
            self._models[key] = max(self._models.get(key, 0.0), until)

    def blocked_until(self, provider: str, model: str, now: float) -> float | None:
        """The time the block ends, or None when the model may be tried now."""
        until = max(self._providers.get(provider, 0.0), self._models.get((provider, model), 0.0))
        return until if until > now else None
