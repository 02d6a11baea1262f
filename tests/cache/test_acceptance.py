"""Per-namespace acceptance: modes are checked when configured, bad hits make a namespace stricter."""

from __future__ import annotations

import pytest

from services.cache.core.acceptance import STEP, Acceptance, wilson_upper


def test_unknown_mode_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="semantic_mode: unknown semantic mode 'lenient'"):
        Acceptance(default_mode="lenient", modes={}, error_bound=0.01)
    with pytest.raises(ValueError, match=r"semantic_modes\['acme'\]: unknown semantic mode 'loose'"):
        Acceptance(default_mode="strict", modes={"acme": "loose"}, error_bound=0.01)
    with pytest.raises(ValueError, match="bad_hit_error_bound"):
        Acceptance(default_mode="strict", modes={}, error_bound=0.0)


def test_mode_by_namespace_then_tenant_then_default() -> None:
    acceptance = Acceptance(default_mode="strict", modes={"ns-1": "off", "acme": "balanced"}, error_bound=0.01)
    assert acceptance.mode("ns-1", "acme") == "off"
    assert acceptance.mode("ns-2", "acme") == "balanced"
    assert acceptance.mode("ns-2", "other") == "strict"


def test_a_bad_hit_raises_the_threshold_above_its_score_in_its_namespace_only() -> None:
    acceptance = Acceptance(default_mode="strict", modes={}, error_bound=0.01)
    for i in range(20):
        acceptance.served("ns", f"good-{i}", 0.9)
    acceptance.served("ns", "bad", 0.8)
    assert acceptance.threshold("ns", 0.7) == 0.7
    served = acceptance.last_serve("bad")
    assert served == ("ns", 0.8)
    threshold = acceptance.bad_hit("ns", "bad", 0.8)
    assert threshold == pytest.approx(0.8 + STEP)
    assert acceptance.threshold("ns", 0.7) == pytest.approx(0.8 + STEP)
    assert acceptance.threshold("other", 0.7) == 0.7
    # Replaying the same report (the event log) changes nothing.
    assert acceptance.bad_hit("ns", "bad", 0.8) == pytest.approx(threshold)


def test_enough_clean_evidence_brings_the_threshold_back_within_the_bound() -> None:
    acceptance = Acceptance(default_mode="strict", modes={}, error_bound=0.05)
    acceptance.served("ns", "bad", 0.95)
    for i in range(200):
        acceptance.served("ns", f"good-{i}", 0.96 + (i % 3) * 0.01)
    # 200 clean hits above 0.96 keep the 95% upper bound under 5%: the threshold need not pass the bad score.
    threshold = acceptance.bad_hit("ns", "bad", 0.95)
    assert threshold <= 0.96
    assert wilson_upper(0, 200) < 0.05 < wilson_upper(1, 20)
