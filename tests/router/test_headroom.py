"""Rate-limit headroom: a model whose requests or tokens in the last minute reach its manifest limits (times
this replica's share) is skipped with constraint `rate_limit_headroom` until the window slides."""

from __future__ import annotations

import pytest

from services.router.core.resilience.backoff import RetryAfterBook
from services.router.core.resilience.circuit import CircuitBreakers, ModelAvailability
from services.router.core.resilience.failover import FailoverPolicy
from services.router.core.resilience.headroom import WINDOW_S, RateLimitHeadroom
from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection import Selector
from shared.pricing.manifest import RateLimits
from shared.pricing.price_table import PriceBook
from tests.router.model_entries import entry, manifest

LIMITS = {("p", "rpm"): RateLimits(rpm=3), ("p", "tpm"): RateLimits(tpm=1000), ("p", "none"): RateLimits()}


def _headroom(share: float = 1.0) -> RateLimitHeadroom:
    return RateLimitHeadroom(lambda provider, model: LIMITS.get((provider, model)), share=share)


def test_requests_per_minute_fill_then_slide() -> None:
    headroom = _headroom()
    for t in (0.0, 1.0, 2.0):
        assert not headroom.exhausted("p", "rpm", t)
        headroom.record("p", "rpm", 10, t)
    assert headroom.exhausted("p", "rpm", 3.0)
    assert not headroom.exhausted("p", "rpm", WINDOW_S + 0.5)  # the first send left the window


def test_tokens_per_minute() -> None:
    headroom = _headroom()
    headroom.record("p", "tpm", 600, 0.0)
    assert not headroom.exhausted("p", "tpm", 1.0)
    headroom.record("p", "tpm", 400, 1.0)
    assert headroom.exhausted("p", "tpm", 2.0)
    assert not headroom.exhausted("p", "tpm", WINDOW_S + 0.1)


def test_share_scales_the_limits_and_unknown_limits_never_block() -> None:
    headroom = _headroom(share=0.5)  # two replicas on one account
    headroom.record("p", "rpm", 1, 0.0)
    assert not headroom.exhausted("p", "rpm", 0.1)
    headroom.record("p", "rpm", 1, 0.2)
    assert headroom.exhausted("p", "rpm", 0.3)  # 2 >= 3 * 0.5
    for t in range(50):
        headroom.record("p", "none", 10_000, float(t))
        headroom.record("q", "unknown-model", 10_000, float(t))
    assert not headroom.exhausted("p", "none", 50.0)
    assert not headroom.exhausted("q", "unknown-model", 50.0)


def test_share_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        _headroom(share=0.0)


def test_selection_skips_a_full_model_for_the_next_cheapest_and_comes_back() -> None:
    cheap = entry("p", "cheap", prices={"input_per_mtok": 0.1, "output_per_mtok": 0.2}, rate_limits={"rpm": 2})
    dear = entry("q", "dear", prices={"input_per_mtok": 1.0, "output_per_mtok": 2.0})
    book = PriceBook.from_manifest(manifest(cheap, dear))

    def limits(provider: str, model: str) -> RateLimits | None:
        found = book.current.get(provider, model)
        return found.rate_limits if found is not None else None

    headroom = RateLimitHeadroom(limits)
    circuits, retry_after = CircuitBreakers(failure_threshold=3, open_s=10), RetryAfterBook()
    policy = FailoverPolicy(circuits, retry_after, default_retry_after_s=1, headroom=headroom)
    selector = Selector(book, LiveStats(book), TokenEstimator(), ModelAvailability(circuits, retry_after, headroom))
    profile = RequestProfile(estimated_prompt_tokens=100)

    for t in (0.0, 1.0):
        assert selector.select(profile, now=t).candidates[0].key == "p/cheap"
        policy.on_start("p", "cheap", t, tokens=150)  # what the router does when it sends the request
    full = selector.select(profile, now=2.0)
    assert [c.key for c in full.candidates] == ["q/dear"]
    assert {(r.provider, r.model): r.constraint for r in full.rejections}[("p", "cheap")] == "rate_limit_headroom"
    assert selector.select(profile, now=WINDOW_S + 0.5).candidates[0].key == "p/cheap"


def test_router_config_share_bounds() -> None:
    from services.router.config import RouterConfig
    from shared.config import ConfigError, load_config

    assert load_config(RouterConfig, env_prefix="R", environ={"R_RATE_LIMIT_SHARE": "0"}).rate_limit_share == 0
    assert load_config(RouterConfig, env_prefix="R", environ={"R_RATE_LIMIT_SHARE": "0.5"}).rate_limit_share == 0.5
    for bad in ("1.5", "-0.1"):
        with pytest.raises(ConfigError, match="rate_limit_share"):
            load_config(RouterConfig, env_prefix="R", environ={"R_RATE_LIMIT_SHARE": bad})
