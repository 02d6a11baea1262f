"""Selection with a quality target: Route's early-stopping walk (with its prior pre-filter) returns exactly the
head of the full examination, whatever the evidence, targets and difficulties."""

from __future__ import annotations

import random

import msgspec
import pytest

from services.router.core.quality.estimate import QualityEstimator
from services.router.core.quality.evidence import EvidenceBook
from services.router.core.quality.routing import QualityRouting
from services.router.core.quality.served import ServedRequests
from services.router.core.quality.targets import QualityTargets
from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection import AlwaysAvailable, Selector
from shared.pricing.price_table import PriceBook
from tests.router.model_entries import entry, manifest


@pytest.mark.parametrize("seed", range(12))
def test_the_walk_with_a_quality_target_matches_the_full_examination(seed: int) -> None:
    rng = random.Random(seed)
    models = [
        entry(
            "p",
            f"m{i}",
            prices={"input_per_mtok": rng.uniform(0.05, 20), "output_per_mtok": rng.uniform(0.05, 60)},
            quality={"code": round(rng.uniform(0.3, 0.97), 2)},
        )
        for i in range(60)
    ]
    book = PriceBook.from_manifest(manifest(*models))
    quality = QualityRouting(
        scorer=None,
        targets=QualityTargets({}, {}),
        estimator=QualityEstimator(EvidenceBook(half_life_s=3600.0, max_keys=1000), prior_strength=10.0),
        served=ServedRequests(10),
        clock=lambda: 100.0,
    )
    for model in rng.sample(models, 15):  # evidence moves some models up and others down
        good = rng.random() < 0.5
        quality.estimator.evidence.add(
            ("acme", "code", model.key), successes=40.0 if good else 0.0, failures=0.0 if good else 40.0, at_s=100.0
        )
    selector = Selector(book, LiveStats(book), TokenEstimator(), AlwaysAvailable(), quality)
    for _ in range(20):
        profile = RequestProfile(
            task_kind="code",
            estimated_prompt_tokens=rng.randint(10, 5000),
            tenant="acme",
            quality_target=rng.uniform(0.4, 0.95),
            difficulty=rng.uniform(-1.5, 1.5),
        )
        full = selector.select(profile, now=0.0, limit=None)
        top = selector.select(profile, now=0.0, limit=3)
        assert [c.key for c in top.candidates] == [c.key for c in full.candidates[:3]]
        for candidate in full.candidates:
            prior = candidate.entry.quality["code"]
            chance = quality.probability("acme", "code", candidate.key, prior, profile.difficulty)
            assert chance >= profile.quality_target
        plain = selector.select(msgspec.structs.replace(profile, quality_target=0.0), now=0.0, limit=None)
        assert {c.key for c in full.candidates} <= {c.key for c in plain.candidates}
