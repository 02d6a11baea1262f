"""Builds the router's QualityRouting from its config: the predictor, the process's one sentence encoder, targets."""

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


async def load_quality(config: QualityConfig) -> QualityRouting:
    """`build_quality` in a worker thread; a missing or corrupt weights file is a start-up error naming it."""
    try:
        return await asyncio.to_thread(build_quality, config)
    except (OSError, ValueError) as error:
        raise ValueError(f"quality routing: {error}") from error


def build_quality(config: QualityConfig) -> QualityRouting:
    """Blocking (loads the encoder): call it in a worker thread from async code."""
    scorer = None
    if config.use_predictor:
        predictor = DifficultyPredictor.load(
            Path(config.predictor_path) if config.predictor_path else default_predictor_path()
        )
        encoder = None
        if predictor.embedding_dimensions:
            from shared.embedding.convert import ensure_minilm
            from shared.embedding.encoder import SentenceEncoder

            encoder = SentenceEncoder(ensure_minilm(), compute_type="int8", intra_threads=config.encoder_threads)
        scorer = PromptScorer(predictor, encoder)
    return QualityRouting(
        scorer=scorer,
        targets=QualityTargets(config.default_targets, config.tenant_targets),
        estimator=QualityEstimator(
            EvidenceBook(half_life_s=config.evidence_half_life_s, max_keys=config.max_evidence_keys),
            prior_strength=config.prior_strength,
        ),
        served=ServedRequests(config.max_served_requests),
        default_cheapest=config.default_policy == "cheapest",
    )
