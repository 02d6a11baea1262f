"""Builds the router's QualityRouting from its config: targets and evidence at build, then the predictor and the
process's one sentence encoder at start (a start-up step: loading the encoder takes seconds)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.router.config import QualityConfig
from services.router.core.quality.estimate import QualityEstimator
from services.router.core.quality.evidence import EvidenceBook
from services.router.core.quality.predictor import DifficultyPredictor
from services.router.core.quality.routing import QualityRouting
from services.router.core.quality.scorer import PromptScorer
from services.router.core.quality.served import ServedRequests
from services.router.core.quality.targets import QualityTargets


def default_predictor_path() -> Path:
    return Path(__file__).resolve().parent / "data" / "quality_predictor.json"


def build_quality(config: QualityConfig) -> QualityRouting:
    """Targets, evidence and served requests; no predictor yet (`load_scorer` adds it at start)."""
    return QualityRouting(
        scorer=None,
        targets=QualityTargets(config.default_targets, config.tenant_targets),
        estimator=QualityEstimator(
            EvidenceBook(half_life_s=config.evidence_half_life_s, max_keys=config.max_evidence_keys),
            prior_strength=config.prior_strength,
        ),
        served=ServedRequests(config.max_served_requests),
        default_cheapest=config.default_policy == "cheapest",
    )


async def load_scorer(config: QualityConfig, quality: QualityRouting) -> None:
    """`build_scorer` in a worker thread; a missing or corrupt weights file is a start-up error naming it."""
    try:
        quality.scorer = await asyncio.to_thread(build_scorer, config)
    except (OSError, ValueError) as error:
        raise ValueError(f"quality routing: {error}") from error


def build_scorer(config: QualityConfig) -> PromptScorer | None:
    """Blocking (loads the weights and the encoder): call it in a worker thread from async code."""
    if not config.use_predictor:
        return None
    predictor = DifficultyPredictor.load(
        Path(config.predictor_path) if config.predictor_path else default_predictor_path()
    )
    encoder = None
    if predictor.embedding_dimensions:
        from shared.embedding.convert import ensure_minilm
        from shared.embedding.encoder import SentenceEncoder

        encoder = SentenceEncoder(ensure_minilm(), compute_type="int8", intra_threads=config.encoder_threads)
    return PromptScorer(predictor, encoder)
