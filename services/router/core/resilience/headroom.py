"""Rate-limit headroom: requests and tokens this router sent to each model in the last minute, against the
account limits in the manifest (`rate_limits.rpm` / `rate_limits.tpm`, 0 = unknown, never limited).

A model whose window is full is skipped by selection (constraint `rate_limit_headroom`) until the window
slides, instead of being called only to answer 429. Each replica counts its own traffic, so `share` is the
fraction of the account's limits one replica may use (1 / the number of replicas sharing one account).
"""

from __future__ import annotations

import collections
from collections.abc import Callable

from shared.pricing.manifest import RateLimits

WINDOW_S = 60.0


class RateLimitHeadroom:
    def __init__(self, limits: Callable[[str, str], RateLimits | None], *, share: float = 1.0) -> None:
        if not 0.0 < share <= 1.0:
            raise ValueError(f"rate-limit share must be in (0, 1], got {share}")
        self._limits = limits
        self._share = share
        # (provider, model) -> sends in the window, oldest first: (time, tokens); and the window's token sum.
        self._sent: dict[tuple[str, str], collections.deque[tuple[float, int]]] = {}
        self._tokens: dict[tuple[str, str], int] = {}

    def record(self, provider: str, model: str, tokens: int, now: float) -> None:
        """A request of about `tokens` tokens (prompt + expected completion) is being sent to the model."""
        key = (provider, model)
        window = self._sent.get(key)
        if window is None:
            window = self._sent[key] = collections.deque()
            self._tokens[key] = 0
        window.append((now, tokens))
        self._tokens[key] += tokens
        self._slide(key, window, now)

    def exhausted(self, provider: str, model: str, now: float) -> bool:
        key = (provider, model)
        window = self._sent.get(key)
        if not window:
            return False  # nothing sent lately: the common case costs one dict lookup
        self._slide(key, window, now)
        limits = self._limits(provider, model)
        if limits is None:
            return False
        if limits.rpm and len(window) >= limits.rpm * self._share:
            return True
        return bool(limits.tpm and self._tokens[key] >= limits.tpm * self._share)

    def _slide(self, key: tuple[str, str], window: collections.deque[tuple[float, int]], now: float) -> None:
        while window and window[0][0] <= now - WINDOW_S:
            _, tokens = window.popleft()
            self._tokens[key] -= tokens
