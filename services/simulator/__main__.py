"""python -m services.simulator: a local stand-in for the providers' HTTP APIs (demo, tests, benchmarks)."""

from __future__ import annotations

import asyncio
import signal

from services.simulator.config import ENV_PREFIX, SimulatorConfig
from services.simulator.server import start_simulator
from shared.config import load_config
from shared.logging import configure_logging, get_logger


async def serve() -> None:
    config = load_config(SimulatorConfig, env_prefix=ENV_PREFIX)
    configure_logging(config.log_level)
    logger = get_logger("simulator")
    runner, port = await start_simulator(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logger.info("serving", port=port, seed=config.seed, models=sorted(config.models))
    await stop.wait()
    logger.info("shutting_down")
    await runner.cleanup()
    logger.info("stopped")


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
