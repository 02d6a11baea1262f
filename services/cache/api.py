"""The cache's public surface: what the benchmarks and other programs may import.

Serving (`create_server`, `CacheConfig`), the in-process cache the speed and quality benchmarks measure, and the
verifier's parts (analysis, alignment, exact terms, pair features) the verifier benchmark compares candidates with.
"""

from services.cache.config import ENV_PREFIX, CacheConfig
from services.cache.core.alignment import Analysis, align, analyse
from services.cache.core.cache import CachePolicy, ResponseCache, StoreRecord
from services.cache.core.exact_terms import mismatch
from services.cache.core.namespace import view_request
from services.cache.core.vector_index import VectorIndex
from services.cache.core.verifier import (
    FEATURE_SIGNS,
    FEATURES,
    MODEL_FILE,
    PairModel,
    pair_features,
    structure_refusal,
)
from services.cache.server import create_server
from shared.lifecycle import ServiceDefinition

# How `python -m services.cache` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("cache", CacheConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENV_PREFIX",
    "FEATURES",
    "FEATURE_SIGNS",
    "MODEL_FILE",
    "SERVICE",
    "Analysis",
    "CacheConfig",
    "CachePolicy",
    "PairModel",
    "ResponseCache",
    "StoreRecord",
    "VectorIndex",
    "align",
    "analyse",
    "create_server",
    "mismatch",
    "pair_features",
    "structure_refusal",
    "view_request",
]
