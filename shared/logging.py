"""structlog set-up shared by every service: JSON lines, ISO UTC timestamps, request id from contextvars."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import msgspec
import structlog

_json = msgspec.json.Encoder()


def _serialize(event: object, **_: object) -> str:
    return _json.encode(event).decode()


def configure_logging(level: str = "info", *, json: bool = True, stream: TextIO | None = None) -> None:
    """Configure structlog once per process (called from each service's __main__, never at import)."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_serialize) if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Tracebacks as data, without frame locals: locals can hold API keys and prompts.
            structlog.processors.ExceptionRenderer(structlog.tracebacks.ExceptionDictTransformer(show_locals=False)),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.WriteLoggerFactory(file=stream or sys.stderr),
        cache_logger_on_first_use=True,
    )


def get_logger(service: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger().bind(service=service)
    return logger
