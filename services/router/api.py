"""The router's public surface: what the CLI, the benchmarks and other programs may import (nothing else).

Serving (`create_server`, `RouterConfig`), the price manifest and price-update messages (`bourse pricing`), and
the selection parts the benchmarks drive directly, and quality routing's predictor, training and evaluation
(`bourse routing`, the quality benchmarks; loaded on first use: they bring numpy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from services.router.config import ENV_PREFIX, RouterConfig
from services.router.core.execution.output_validation import OutputRules, OutputValidator
from services.router.core.execution.request_validation import validate_request
from services.router.core.execution.user_regex import PatternCompiler
from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.core.selection.profile import RequestProfile
from services.router.core.selection.selection import AlwaysAvailable, Selector
from services.router.market import MarketError, MarketFeed, read_price_history
from shared.lifecycle import Logger, ServiceDefinition
from shared.pricing.manifest import Manifest, ModelEntry, default_manifest_path, load_manifest
from shared.pricing.price_table import PriceBook, PriceTable
from shared.pricing.prices import changes_against, decode_update, encode_update, message_id, parse_price_file

if TYPE_CHECKING:
    from services.router.core.quality.dataset import Matrices, cached_embeddings, matrices
    from services.router.core.quality.estimate import QualityEstimator
    from services.router.core.quality.evidence import EvidenceBook
    from services.router.core.quality.folds import EXCLUDED_SUBJECTS, fold_masks, subject_folds
    from services.router.core.quality.labels import LabelsError, read_labels
    from services.router.core.quality.metrics import routing_metrics
    from services.router.core.quality.model_selection import choose, evaluate, fit
    from services.router.core.quality.predictor import DifficultyPredictor
    from services.router.core.quality.routing import QualityRouting
    from services.router.core.quality.scorer import PromptScorer
    from services.router.core.quality.served import ServedRequests
    from services.router.core.quality.targets import QualityTargets
    from services.router.core.quality.training import fit_predictor
    from services.router.quality_setup import default_predictor_path
    from shared.serving import ServiceServer

# Quality routing's names, imported on first use (module attribute lookup), so `bourse` starts without numpy.
_QUALITY = "services.router.core.quality."
_LAZY = {
    **dict.fromkeys(("Matrices", "cached_embeddings", "matrices"), _QUALITY + "dataset"),
    "QualityEstimator": _QUALITY + "estimate",
    "EvidenceBook": _QUALITY + "evidence",
    **dict.fromkeys(("EXCLUDED_SUBJECTS", "fold_masks", "subject_folds"), _QUALITY + "folds"),
    **dict.fromkeys(("LabelsError", "read_labels"), _QUALITY + "labels"),
    "routing_metrics": _QUALITY + "metrics",
    **dict.fromkeys(("choose", "evaluate", "fit"), _QUALITY + "model_selection"),
    "DifficultyPredictor": _QUALITY + "predictor",
    "QualityRouting": _QUALITY + "routing",
    "PromptScorer": _QUALITY + "scorer",
    "ServedRequests": _QUALITY + "served",
    "QualityTargets": _QUALITY + "targets",
    "fit_predictor": _QUALITY + "training",
    "default_predictor_path": "services.router.quality_setup",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


async def create_server(config: RouterConfig, logger: Logger, **options: Any) -> ServiceServer:
    """The service's factory (see its server module); imported on first use, so the CLI starts light."""
    from services.router import server

    return await server.create_server(config, logger, **options)


# How `python -m services.router` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("router", RouterConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENV_PREFIX",
    "EXCLUDED_SUBJECTS",
    "SERVICE",
    "AlwaysAvailable",
    "DifficultyPredictor",
    "EvidenceBook",
    "LabelsError",
    "LiveStats",
    "Manifest",
    "MarketError",
    "MarketFeed",
    "Matrices",
    "ModelEntry",
    "OutputRules",
    "OutputValidator",
    "PatternCompiler",
    "PriceBook",
    "PriceTable",
    "PromptScorer",
    "QualityEstimator",
    "QualityRouting",
    "QualityTargets",
    "RequestProfile",
    "RouterConfig",
    "Selector",
    "ServedRequests",
    "TokenEstimator",
    "cached_embeddings",
    "changes_against",
    "choose",
    "create_server",
    "decode_update",
    "default_manifest_path",
    "default_predictor_path",
    "encode_update",
    "evaluate",
    "fit",
    "fit_predictor",
    "fold_masks",
    "load_manifest",
    "matrices",
    "message_id",
    "parse_price_file",
    "read_labels",
    "read_price_history",
    "routing_metrics",
    "subject_folds",
    "validate_request",
]
