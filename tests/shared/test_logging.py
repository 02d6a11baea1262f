"""Logged exceptions never carry frame locals (they can hold API keys); the request id rides along."""

from __future__ import annotations

import io
import json

import structlog

from shared.logging import configure_logging, get_logger


def _call_provider() -> None:
    secret = "sk-planted-secret-123"
    raise ValueError(f"failed with key length {len(secret)}")


def test_exception_log_has_traceback_but_no_locals() -> None:
    stream = io.StringIO()
    configure_logging("info", stream=stream)
    try:
        _call_provider()
    except ValueError:
        structlog.contextvars.bind_contextvars(request_id="req-1")
        get_logger("test").exception("boom")
        structlog.contextvars.clear_contextvars()
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    configure_logging("warning")
    assert line["request_id"] == "req-1"
    assert line["exception"][0]["exc_type"] == "ValueError"
    assert "sk-planted-secret-123" not in stream.getvalue()
