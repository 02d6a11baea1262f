"""The cache's public surface: what the benchmarks and other programs may import.

Serving (`create_server`, `CacheConfig`) and the in-process cache the speed and quality benchmarks measure.
"""

from services.cache.config import ENV_PREFIX, CacheConfig
from services.cache.core.cache import CachePolicy, ResponseCache, StoreRecord
from services.cache.core.namespace import view_request
from services.cache.core.vector_index import VectorIndex
from services.cache.server import create_server
from shared.lifecycle import ServiceDefinition

# How `python -m services.cache` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("cache", CacheConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENV_PREFIX",
    "SERVICE",
    "CacheConfig",
    "CachePolicy",
    "ResponseCache",
    "StoreRecord",
    "VectorIndex",
    "create_server",
    "view_request",
]
