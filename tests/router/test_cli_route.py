"""`bourse route` against a running router: prints the answer, the model, the cost and the attempts."""

from __future__ import annotations

import asyncio
import sys

import pytest

pytestmark = pytest.mark.slow  # the `bourse route` CLI in child processes: seconds each
LLAMA = "accounts/fireworks/models/llama-v3p1-8b-instruct"


async def _bourse(*argv: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_route_prints_answer_model_cost_and_attempts(make_router) -> None:
    _stub, parts = await make_router()
    port = parts.port
    # Two models tie on price, and earlier tests' telemetry orders them: pin the one this test reads back.
    code, out, err = await _bourse("route", "Say hello.", "--router", f"127.0.0.1:{port}", "--allow", LLAMA)
    assert code == 0, err
    answer, summary, attempt = out.splitlines()[:3]
    assert answer
    assert (
        "model fireworks/accounts/fireworks/models/llama-v3p1-8b-instruct (remote)" in summary
        and "micro-USD" in summary
    )
    assert "attempt 1: fireworks/accounts/fireworks/models/llama-v3p1-8b-instruct success" in attempt


async def test_route_stream_and_explain(make_router) -> None:
    _stub, parts = await make_router()
    code, out, _ = await _bourse(
        "route", "Say hello.", "--router", f"127.0.0.1:{parts.port}", "--stream", "--allow", LLAMA
    )
    assert code == 0 and "model fireworks/accounts/fireworks/models/llama-v3p1-8b-instruct" in out
    code, out, _ = await _bourse(
        "route", "Say hello.", "--router", f"127.0.0.1:{parts.port}", "--explain", "--allow", "gpt-4o-mini"
    )
    assert code == 0 and "openai/gpt-4o-mini" in out and "allowed_models" in out


async def test_route_reports_bad_input_with_the_field(make_router) -> None:
    _stub, parts = await make_router()
    code, _, err = await _bourse("route", "x", "--router", f"127.0.0.1:{parts.port}", "--allow", "no-such-model")
    assert code == 1
    assert "INVALID_ARGUMENT" in err and "constraints.allowed_models" in err
