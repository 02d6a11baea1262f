"""The dashboard's JSON snapshot says how old the prices are, on an injected clock; the page has one element for it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import msgspec

from shared.pricing.manifest import Manifest
from tests.router.model_entries import entry
from tests.support.services import Services

from .conftest import ledger_config

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC).timestamp()


async def test_snapshot_reports_the_age_of_the_prices(nats_url: str, tmp_path: Path, services: Services) -> None:
    manifest = Manifest(
        prices_as_of="2026-11-01",
        models=(entry("p", "fresh"), entry("p", "old", prices_as_of="2026-06-01")),
    )
    path = tmp_path / "manifest.json"
    path.write_bytes(msgspec.json.encode(manifest))
    config = ledger_config(nats_url, tmp_path, manifest_path=str(path), max_price_age_days=90.0)
    server = await services.ledger(config, clock=lambda: NOW)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{server.http_port}/api/snapshot") as response:
            assert response.status == 200
            prices = (await response.json())["prices"]
        async with http.get(f"http://127.0.0.1:{server.http_port}/") as response:
            page = await response.text()
    assert prices == {
        "as_of": "2026-11-01",
        "oldest_as_of": "2026-06-01",
        "oldest_age_days": 185,
        "max_age_days": 90.0,
        "stale_models": ["p/old"],
    }
    assert 'id="prices-age"' in page
