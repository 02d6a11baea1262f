"""Ledger service entry point: config -> logging -> server -> serve until SIGTERM."""

from __future__ import annotations

import asyncio
import sys

from shared.config import load_config
from shared.logging import configure_logging, get_logger
from shared.serving import run_until_signal

from .config import ENV_PREFIX, LedgerConfig
from .server import create_server


async def _main() -> int:
    config = load_config(LedgerConfig, env_prefix=ENV_PREFIX)
    configure_logging(config.log_level)
    logger = get_logger("ledger")
    service = await create_server(config, logger)
    await service.server.start()
    await service.set_serving()
    if config.http_listen:
        logger.info("dashboard", url=f"http://{config.http_listen.rpartition(':')[0]}:{service.http_port}/")
    await run_until_signal(service, logger)
    return 0


def main() -> int:
    return asyncio.run(_main())


if __name__ == "__main__":
    sys.exit(main())
