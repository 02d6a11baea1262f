"""Decayed Beta evidence, the per-request estimate, targets, feedback resolution and evidence payload checks."""

from __future__ import annotations

import itertools
import math

import pytest

from services.router.core.quality.estimate import QualityEstimator
from services.router.core.quality.evidence import EvidenceBook
from services.router.core.quality.evidence_event import (
    MAX_EVIDENCE_BYTES,
    EvidenceRejected,
    QualityEvidence,
    decode_evidence,
    encode_evidence,
)
from services.router.core.quality.routing import QualityRouting
from services.router.core.quality.served import ServedRequest, ServedRequests
from services.router.core.quality.targets import DEFAULT_TARGETS, QualityTargets

KEY = ("acme", "code", "openai/gpt-4o-mini")
DAY = 86400.0


def test_counts_halve_every_half_life() -> None:
    book = EvidenceBook(half_life_s=DAY, max_keys=10)
    book.add(KEY, successes=4.0, failures=2.0, at_s=1000.0)
    later = book.counts(KEY, 1000.0 + DAY)
    assert later.successes == pytest.approx(2.0) and later.failures == pytest.approx(1.0)


def test_the_order_of_arrival_does_not_change_the_counts() -> None:
    events = [(1.0, 0.0, 10.0), (0.0, 1.0, 5000.0), (0.3, 0.7, 90.0), (1.0, 0.0, 70000.0)]
    results = set()
    for order in itertools.permutations(events):
        book = EvidenceBook(half_life_s=3600.0, max_keys=10)
        for s, f, t in order:
            book.add(KEY, successes=s, failures=f, at_s=t)
        c = book.counts(KEY, 80000.0)
        results.add((round(c.successes, 9), round(c.failures, 9)))
    assert len(results) == 1


def test_memory_is_bounded_by_forgetting_the_least_recently_updated_key() -> None:
    book = EvidenceBook(half_life_s=DAY, max_keys=3)
    for i in range(5):
        book.add(("t", "chat", f"p/m{i}"), successes=1.0, failures=0.0, at_s=float(i))
    assert len(book) == 3 and book.evicted == 2
    assert book.counts(("t", "chat", "p/m0"), 10.0).total == 0.0
    assert book.counts(("t", "chat", "p/m4"), 4.0).total == pytest.approx(1.0)


def test_bad_counts_are_refused() -> None:
    book = EvidenceBook(half_life_s=DAY, max_keys=3)
    with pytest.raises(ValueError, match="finite and non-negative"):
        book.add(KEY, successes=math.nan, failures=0.0, at_s=0.0)
    with pytest.raises(ValueError, match="must be positive"):
        EvidenceBook(half_life_s=0.0, max_keys=1)


def test_estimate_combines_prior_evidence_and_difficulty() -> None:
    book = EvidenceBook(half_life_s=DAY, max_keys=10)
    estimator = QualityEstimator(book, prior_strength=20.0)
    plain = estimator.estimate(tenant="acme", task_kind="code", model_key=KEY[2], prior=0.8, difficulty=0.0, now_s=0.0)
    assert plain.probability == pytest.approx(0.8) and plain.counts.total == 0
    harder = estimator.estimate(tenant="acme", task_kind="code", model_key=KEY[2], prior=0.8, difficulty=1.0, now_s=0.0)
    assert harder.probability == pytest.approx(1 / (1 + math.exp(-(math.log(4) - 1.0))))
    book.add(KEY, successes=0.0, failures=20.0, at_s=0.0)
    failed = estimator.estimate(tenant="acme", task_kind="code", model_key=KEY[2], prior=0.8, difficulty=0, now_s=0)
    assert failed.posterior == pytest.approx(16 / 40) and failed.probability == pytest.approx(0.4)
    other_tenant = estimator.estimate(
        tenant="other", task_kind="code", model_key=KEY[2], prior=0.8, difficulty=0, now_s=0
    )
    assert other_tenant.probability == pytest.approx(0.8)


def test_targets_per_task_kind_and_tenant() -> None:
    targets = QualityTargets({"code": 0.8}, {"acme": {"chat": 0.9}})
    assert targets.target("acme", "chat") == 0.9
    assert targets.target("acme", "code") == 0.8
    assert targets.target("other", "reasoning") == DEFAULT_TARGETS["reasoning"]
    with pytest.raises(ValueError, match=r"tenant_targets.acme.chat"):
        QualityTargets({}, {"acme": {"chat": 1.5}})


def _routing() -> QualityRouting:
    return QualityRouting(
        scorer=None,
        targets=QualityTargets({}, {}),
        estimator=QualityEstimator(EvidenceBook(half_life_s=DAY, max_keys=100), prior_strength=20.0),
        served=ServedRequests(2),
        clock=lambda: 1000.0,
    )


def test_feedback_for_unknown_requests_or_bad_scores_is_refused() -> None:
    quality = _routing()
    quality.remember("r1", "acme", "code", "openai/gpt-4o-mini")
    assert quality.resolve_feedback("nope", "acme", 0.0, 1).refused == "unknown_request"
    assert quality.resolve_feedback("r1", "acme", 1.5, 1).refused == "bad_score"
    assert quality.resolve_feedback("r1", "acme", math.nan, 1).refused == "bad_score"
    assert quality.resolve_feedback("r1", "other", 0.5, 1).refused == "wrong_tenant"
    verdict = quality.resolve_feedback("r1", "acme", 0.25, 5000)
    assert verdict.evidence is not None and verdict.refused == ""
    assert (verdict.evidence.successes, verdict.evidence.failures, verdict.evidence.ts_ms) == (0.25, 0.75, 5000)


def test_served_requests_are_bounded() -> None:
    served = ServedRequests(2)
    for i in range(3):
        served.remember(f"r{i}", ServedRequest("t", "chat", "p/m"))
    assert served.get("r0") is None and served.get("r2") is not None and len(served) == 2


def test_evidence_payloads_are_checked() -> None:
    good = QualityEvidence(
        tenant="acme", task_kind="code", model_key="p/m", successes=1.0, failures=0.0, ts_ms=1, source="feedback"
    )
    assert decode_evidence(encode_evidence(good)) == good
    bad_cases = [
        (b"x" * (MAX_EVIDENCE_BYTES + 1), "oversized"),
        (b"{not json", "malformed"),
        (encode_evidence(good)[:-1] + b',"extra":1}', "malformed"),
        (encode_evidence(good).replace(b'"successes":1.0', b'"successes":7.0'), "malformed"),
        (encode_evidence(good).replace(b'"feedback"', b'"rumour"'), "malformed"),
        (encode_evidence(good).replace(b'"p/m"', b'"pm"'), "malformed"),
    ]
    for payload, reason in bad_cases:
        with pytest.raises(EvidenceRejected) as caught:
            decode_evidence(payload)
        assert caught.value.reason == reason, payload
