"""Run the local-inference service: python -m services.local_inference."""

from __future__ import annotations

import asyncio

from services.local_inference.config import ENV_PREFIX, InferenceConfig
from services.local_inference.server import create_server
from shared.config import load_config
from shared.logging import configure_logging, get_logger
from shared.serving import run_until_signal


async def main() -> None:
    config = load_config(InferenceConfig, env_prefix=ENV_PREFIX)
    configure_logging(config.log_level)
    logger = get_logger("local_inference")
    service = await create_server(config, logger)
    await service.server.start()
    await run_until_signal(service, logger)


if __name__ == "__main__":
    asyncio.run(main())
