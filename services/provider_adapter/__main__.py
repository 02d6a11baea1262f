"""python -m services.provider_adapter: config -> logging -> server -> serve until SIGTERM."""

from __future__ import annotations

import asyncio

from services.provider_adapter.config import ENV_PREFIX, AdapterConfig
from services.provider_adapter.server import create_server
from shared.config import load_config
from shared.logging import configure_logging, get_logger
from shared.serving import run_until_signal


async def serve() -> None:
    config = load_config(AdapterConfig, env_prefix=ENV_PREFIX)
    configure_logging(config.log_level)
    logger = get_logger("provider_adapter")
    service = await create_server(config, logger)
    await service.server.start()
    await service.set_serving()
    await run_until_signal(service, logger, grace_s=config.grace_s)


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
