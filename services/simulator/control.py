"""Run-time control of the simulator over HTTP, for tests and demos: faults, stats, health."""

from __future__ import annotations

import time
from typing import Any

import msgspec
from aiohttp import web

from services.simulator.engine import Fault, Simulator
from services.simulator.knobs import FAULT_KINDS
from services.simulator.wire import json_response, read_json


class FaultRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: str
    provider: str = "*"
    model: str = "*"
    count: int | None = None
    duration_s: float | None = None
    retry_after_s: float | None = None
    # For kind "timeout": how long the request is held before the simulator gives up on it.
    hang_s: float = 60.0


def _bad(message: str) -> web.Response:
    return json_response(400, {"error": {"message": message, "type": "invalid_request_error"}})


async def add_fault(sim: Simulator, request: web.Request) -> web.Response:
    raw = await read_json(request)
    try:
        spec = msgspec.convert(raw, FaultRequest)
    except msgspec.ValidationError as error:
        return _bad(f"invalid fault: {error}")
    if spec.kind not in FAULT_KINDS:
        return _bad(f"kind must be one of {sorted(FAULT_KINDS)}")
    if spec.count is None and spec.duration_s is None:
        return _bad("give count or duration_s")
    until = time.monotonic() + spec.duration_s if spec.duration_s is not None else None
    sim.add_fault(Fault(spec.provider, spec.model, spec.kind, spec.count, until, spec.retry_after_s, spec.hang_s))
    return json_response(201, {"faults": len(sim.faults)})


async def clear_faults(sim: Simulator, _request: web.Request) -> web.Response:
    sim.faults.clear()
    return json_response(200, {"faults": 0})


async def stats(sim: Simulator, _request: web.Request) -> web.Response:
    body: dict[str, Any] = {
        "requests": dict(sim.requests),
        "total": sum(sim.requests.values()),
        "connections": len(sim.peers),
        "faults": len(sim.faults),
    }
    return json_response(200, body)


async def healthz(_request: web.Request) -> web.Response:
    return json_response(200, {"status": "ok"})
