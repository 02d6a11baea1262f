"""python -m services.gateway: config -> logging -> create_server -> serve until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys

from services.gateway.config import ENV_PREFIX, GatewayConfig
from services.gateway.server import create_server
from shared.config import ConfigError, load_config
from shared.logging import configure_logging, get_logger


async def serve() -> None:
    config = load_config(GatewayConfig, env_prefix=ENV_PREFIX)
    configure_logging(config.log_level)
    logger = get_logger("gateway")
    server = await create_server(config, logger)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logger.info("serving", port=server.port, router=config.router, require_api_key=config.require_api_key)
    await stop.wait()
    logger.info("shutting_down")
    await server.stop()
    logger.info("stopped")


def main() -> None:
    try:
        asyncio.run(serve())
    except ConfigError as error:  # a typo in the configuration: say which field, without a traceback
        print(f"gateway: {error.message}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
