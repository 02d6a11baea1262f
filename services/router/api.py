"""The router's public surface: what the CLI, the benchmarks and other programs may import (nothing else).

Serving (`create_server`, `RouterConfig`), the price manifest and price-update messages (`bourse pricing`), and
the selection parts the benchmarks drive directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.router.config import ENV_PREFIX, RouterConfig
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
    from shared.serving import ServiceServer


async def create_server(config: RouterConfig, logger: Logger, **options: Any) -> ServiceServer:
    """The service's factory (see its server module); imported on first use, so the CLI starts light."""
    from services.router import server

    return await server.create_server(config, logger, **options)


# How `python -m services.router` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("router", RouterConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENV_PREFIX",
    "SERVICE",
    "AlwaysAvailable",
    "LiveStats",
    "Manifest",
    "MarketError",
    "MarketFeed",
    "ModelEntry",
    "PriceBook",
    "PriceTable",
    "RequestProfile",
    "RouterConfig",
    "Selector",
    "TokenEstimator",
    "changes_against",
    "create_server",
    "decode_update",
    "default_manifest_path",
    "encode_update",
    "load_manifest",
    "message_id",
    "parse_price_file",
    "read_price_history",
]
