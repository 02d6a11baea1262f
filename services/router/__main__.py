"""python -m services.router: config -> logging -> server -> serve until SIGTERM."""

from __future__ import annotations

import asyncio

from services.router.config import ENV_PREFIX, RouterConfig
from services.router.server import create_server
from shared.config import load_config
from shared.logging import configure_logging, get_logger
from shared.serving import run_until_signal


async def _main() -> None:
    config = load_config(RouterConfig, env_prefix=ENV_PREFIX)
    configure_logging(config.log_level)
    logger = get_logger("router")
    service = await create_server(config, logger)
    await run_until_signal(service, logger, grace_s=config.shutdown_grace_s)


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
