"""The router assigns every request its id; the gateway returns it in `x-request-id` and in the body's
`bourse.request_id` (streams too), and keeps the client's id as a correlation field (real gateway and router)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import aiohttp

from tests.gateway.conftest import RealStack

_BODY = {"model": "bourse/cheapest", "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16}


async def _post(stack: RealStack, body: dict[str, Any], client_id: str) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {stack.key}", "x-request-id": client_id}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{stack.base_url}/chat/completions", json=body, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, response.headers, text


async def test_the_router_id_comes_back_and_the_client_id_is_kept(real_stack: RealStack) -> None:
    client_id = f"client-{uuid.uuid4().hex[:8]}"
    seen = set()
    for _ in range(2):  # the same client id twice: two requests, two ids
        status, headers, text = await _post(real_stack, _BODY, client_id)
        assert status == 200, text
        body = json.loads(text)
        assigned = headers["x-request-id"]
        assert assigned == body["bourse"]["request_id"] and assigned != client_id
        assert headers["x-bourse-client-request-id"] == client_id
        seen.add(assigned)
    assert len(seen) == 2


async def test_a_stream_names_the_router_id_in_its_header_and_summary(real_stack: RealStack) -> None:
    client_id = f"client-{uuid.uuid4().hex[:8]}"
    status, headers, text = await _post(
        real_stack, {**_BODY, "stream": True, "stream_options": {"include_usage": True}}, client_id
    )
    assert status == 200, text
    chunks = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    summaries = [c["bourse"] for c in chunks if "bourse" in c]
    assert summaries, chunks[-1]
    assert headers["x-request-id"] == summaries[-1]["request_id"] != client_id
