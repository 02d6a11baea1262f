"""A simulator per test module, configured by the module; requests go over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from services.simulator.config import SimulatorConfig
from tests.support.services import running_services


@asynccontextmanager
async def running(config: SimulatorConfig) -> AsyncIterator[aiohttp.ClientSession]:
    async with (
        running_services() as started,
        aiohttp.ClientSession(base_url=await started.simulator(config)) as session,
    ):
        yield session
