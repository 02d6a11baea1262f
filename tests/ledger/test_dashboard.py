"""The dashboard: its JSON snapshot over real HTTP, and the page rendered by headless Chromium from a seeded
ledger (screenshot checked to be non-blank and to hold the charts' colours).

Needs Debian's `chromium` (apt-get install -y chromium) and the vendored chart library (`npm ci` in
services/ledger/dashboard, run here when missing).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from services.ledger.dashboard_http import CHART_JS, DASHBOARD_DIR
from services.ledger.server import LedgerServer

from .png_pixels import read_pixels
from .sample_events import event

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1000",
]
SPEND_BLUE = (0x33, 0x66, 0xCC)  # first series colour and the latency bars in dashboard.js


@pytest.fixture(scope="module")
def chart_library() -> Path:
    if not CHART_JS.exists():
        if shutil.which("npm") is None:
            pytest.fail("npm is required to vendor the chart library (apt-get install -y npm)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=DASHBOARD_DIR, check=True, timeout=300)
    return CHART_JS


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("headless Chromium is required: apt-get install -y chromium")


def _seed(ledger: LedgerServer) -> int:
    assert ledger.store is not None
    now = int(time.time() * 1000)
    events = []
    for i in range(240):
        provider, model = [
            ("openai", "gpt-4o-mini"),
            ("anthropic", "claude-haiku"),
            ("cache", "gpt-4o-mini"),
            ("local", "qwen-0.5b"),
        ][i % 4]
        served = {"cache": "cache", "local": "local"}.get(provider, "remote")
        events.append(
            event(
                tenant=f"tenant-{i % 6}",
                provider=provider,
                model=model,
                served_from=served,
                ts_ms=now - (i * 13_000) % 3_000_000,
                cost_micro_usd=0 if served != "remote" else 500 + 40 * (i % 9),
                saved_micro_usd=300 if served != "remote" else 0,
                latency_ms=5.0 + (i * 37) % 2400,
            )
        )
    ledger.store.insert_requests(events)
    return len(events)


async def test_snapshot_api_and_errors(ledger: LedgerServer) -> None:
    seeded = _seed(ledger)
    base = f"http://127.0.0.1:{ledger.http_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/api/snapshot") as response:
            assert response.status == 200
            snap = await response.json()
        assert snap["summary"]["requests"] >= seeded
        assert snap["summary"]["cache_hits"] >= seeded // 4
        assert sum(snap["latency_histogram"]["counts"]) == snap["summary"]["requests"]
        labels = {s["label"] for s in snap["spend_series"]["series"]}
        assert {"openai/gpt-4o-mini", "anthropic/claude-haiku"} <= labels
        assert len(snap["top_tenants"]) >= 6
        for bad in ("window_s=abc", "window_s=5", "end_ms=yesterday"):
            async with http.get(f"{base}/api/snapshot?{bad}") as response:
                assert response.status == 400
                assert "message" in (await response.json())["error"]
        async with http.get(f"{base}/") as response:
            assert response.status == 200 and "<canvas" in await response.text()


async def _run_chromium(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        _chromium(), *CHROMIUM_FLAGS, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode()


async def test_page_renders_charts_in_headless_chromium(
    ledger: LedgerServer, chart_library: Path, tmp_path: Path
) -> None:
    seeded = _seed(ledger)
    url = f"http://127.0.0.1:{ledger.http_port}/"
    dom = await _run_chromium(
        f"--user-data-dir={tmp_path / 'profile-dom'}", "--virtual-time-budget=8000", "--dump-dom", url
    )
    assert f'data-requests="{seeded}"' in dom, dom[-1500:]
    assert "updated" in dom and "update failed" not in dom
    shot = tmp_path / "dashboard.png"
    await _run_chromium(
        f"--user-data-dir={tmp_path / 'profile-shot'}", "--virtual-time-budget=8000", f"--screenshot={shot}", url
    )
    width, height, pixels = read_pixels(shot)
    assert (width, height) == (1400, 1000)
    colours = Counter(pixels)
    background, most = colours.most_common(1)[0]
    assert len(colours) > 200, "screenshot is nearly uniform"
    assert most / len(pixels) < 0.9, f"screenshot is mostly {background}"
    assert colours[SPEND_BLUE] > 500, "the charts' colour is missing: charts were not drawn"
