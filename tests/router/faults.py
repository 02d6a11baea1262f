"""The simulator's runtime fault API, for the router tests."""

from __future__ import annotations

from typing import Any

import aiohttp


async def inject(sim: aiohttp.ClientSession, **fault: Any) -> None:
    async with sim.post("/_sim/faults", json=fault) as response:
        assert response.status == 201, await response.text()


async def requests_to(sim: aiohttp.ClientSession, provider: str, model: str) -> int:
    """How many requests the simulator has received for this model so far."""
    async with sim.get("/_sim/stats") as response:
        body = await response.json()
    counts: dict[str, int] = body["requests"]
    return sum(n for key, n in counts.items() if provider in key and model in key)
