"""A simulator per test module, configured by the module; requests go over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from services.simulator.config import SimulatorConfig
from services.simulator.server import start_simulator


@asynccontextmanager
async def running(config: SimulatorConfig) -> AsyncIterator[aiohttp.ClientSession]:
    runner, port = await start_simulator(config)
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
            yield session
    finally:
        await runner.cleanup()
