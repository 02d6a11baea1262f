"""The provider simulator's control API, as the tests use it: inject faults, and clear them afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp


@asynccontextmanager
async def controlling(base_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP session on the simulator at `base_url`; every fault injected through it is cleared on exit."""
    async with aiohttp.ClientSession(base_url=base_url) as session:
        yield session
        async with session.delete("/_sim/faults") as response:
            assert response.status == 200
