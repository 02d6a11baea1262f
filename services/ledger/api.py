"""The ledger's public surface: what the CLI (`bourse report`), the benchmarks and other programs may import.

Serving (`create_server`, `LedgerConfig`), the store and its reports, the price lookup reports use (from
`shared.pricing`), the dashboard's view (`DashboardQuery`, `dashboard_view`) and its money rule (`format_micro_usd`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.ledger.config import ENV_PREFIX, LedgerConfig
from services.ledger.core import reports
from services.ledger.core.dashboard_data import dashboard_view, snapshot
from services.ledger.core.dashboard_query import DashboardQuery
from services.ledger.core.money import format_micro_usd
from services.ledger.core.store import REQUEST_COLUMNS, LedgerStore, request_row
from shared.lifecycle import Logger, ServiceDefinition
from shared.pricing.manifest import default_manifest_path
from shared.pricing.model_prices import ModelPrice, find_price, read_prices

if TYPE_CHECKING:
    from services.ledger.server import LedgerServer


async def create_server(config: LedgerConfig, logger: Logger, **options: Any) -> LedgerServer:
    """The service's factory (see its server module); imported on first use, so the CLI starts light."""
    from services.ledger import server

    return await server.create_server(config, logger, **options)


# How `python -m services.ledger` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("ledger", LedgerConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENV_PREFIX",
    "REQUEST_COLUMNS",
    "SERVICE",
    "DashboardQuery",
    "LedgerConfig",
    "LedgerStore",
    "ModelPrice",
    "create_server",
    "dashboard_view",
    "default_manifest_path",
    "find_price",
    "format_micro_usd",
    "read_prices",
    "reports",
    "request_row",
    "snapshot",
]
