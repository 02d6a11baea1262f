"""A headless Chromium page driven over the DevTools protocol (loopback WebSocket), to act on the dashboard as a
person would: pick a filter in a menu, then read what the page shows and where its URL went.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.eventually import eventually

_LISTENING = re.compile(r"DevTools listening on (ws://127\.0\.0\.1:(\d+)/\S+)")


class BrowserPage:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self._ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            message = await asyncio.wait_for(self._ws.receive_json(), 30)
            if message.get("id") == call_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout_s: float = 20.0) -> Any:
        """Evaluate until the value is truthy, or fail after `timeout_s`."""
        # While a page loads, its elements may be missing or its context replaced: an evaluation error is "not yet".
        return await eventually(
            lambda: self.evaluate(expression),
            timeout_s=timeout_s,
            interval_s=0.1,
            what=expression,
            retry_on=(AssertionError,),
        )


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass


@asynccontextmanager
async def browser_page(chromium: str, flags: list[str], profile: Path, url: str) -> AsyncIterator[BrowserPage]:
    proc = await asyncio.create_subprocess_exec(
        chromium,
        *flags,
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stderr is not None
        port = ""
        async with asyncio.timeout(60):
            while not port:
                line = (await proc.stderr.readline()).decode()
                assert line, "Chromium exited before its DevTools endpoint was up"
                match = _LISTENING.search(line)
                if match:
                    port = match.group(2)
        drain = asyncio.create_task(_drain(proc.stderr))  # a full pipe would stall the browser
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
                targets = json.loads(await response.text())
            page = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                browser = BrowserPage(ws)
                await browser.call("Page.enable")
                await browser.call("Page.navigate", url=url)
                await browser.wait_for("location.href !== 'about:blank' && document.readyState === 'complete'")
                yield browser
        drain.cancel()
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)
