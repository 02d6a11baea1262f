"""python -m services.cache: load config, log, serve until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import sys

from services.cache.config import ENV_PREFIX, CacheConfig
from services.cache.server import build
from shared.config import ConfigError, load_config
from shared.logging import configure_logging, get_logger
from shared.serving import run_until_signal


async def main() -> int:
    try:
        config = load_config(CacheConfig, env_prefix=ENV_PREFIX)
    except ConfigError as error:
        sys.stderr.write(f"cache: {error.message}\n")
        return 2
    configure_logging(config.log_level)
    logger = get_logger("cache")
    cache = await build(config, logger)
    await cache.service.server.start()
    assert cache.loading is not None
    serving = asyncio.ensure_future(run_until_signal(cache.service, logger))
    done, _ = await asyncio.wait({serving, cache.loading}, return_when=asyncio.FIRST_COMPLETED)
    if cache.loading in done and cache.loading.exception() is not None:
        logger.error("cache_exiting", reason="start-up failed")
        serving.cancel()
        await cache.service.stop(1.0)
        return 1
    await serving
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
