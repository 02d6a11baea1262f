"""The one place where Bourse errors become HTTP statuses and OpenAI-shaped error bodies.

Statuses follow the error's Kind; a few stable reasons refine it (a failing provider is a 502 Bad Gateway,
an overloaded or unreachable Bourse service a 503). The body is OpenAI's
`{"error": {"message", "type", "param", "code"}}`, so the official SDKs raise their matching exception class.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping
from typing import Any

from shared.errors import BourseError, Kind

KIND_STATUS: Mapping[Kind, int] = {
    Kind.INVALID_ARGUMENT: 400,
    Kind.FAILED_PRECONDITION: 400,
    Kind.UNAUTHENTICATED: 401,
    Kind.PERMISSION_DENIED: 403,
    Kind.NOT_FOUND: 404,
    Kind.RESOURCE_EXHAUSTED: 429,
    Kind.INTERNAL: 500,
    Kind.UNAVAILABLE: 503,
    Kind.DEADLINE_EXCEEDED: 504,
    Kind.CANCELLED: 499,  # the client went away; only ever seen in logs
}

# Reasons whose status differs from their kind's.
REASON_STATUS: Mapping[str, int] = {
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "METHOD_NOT_ALLOWED": 405,
    # A provider answered badly or failed: the gateway itself is fine, the upstream is not.
    "UPSTREAM_5XX": 502,
    "BAD_RESPONSE": 502,
    "CONNECTION_DROPPED": 502,
    "CONNECT_FAILED": 502,
    "CONNECT_TIMEOUT": 502,
    "UPSTREAM_ERROR": 502,
    # Our key for a provider is bad: a server-side fault, never the caller's 401/403.
    "AUTHENTICATION": 502,
    "PERMISSION": 502,
}

STATUS_TYPE: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
    499: "invalid_request_error",
    500: "server_error",
    502: "upstream_error",
    503: "service_unavailable_error",
    504: "timeout_error",
}


def http_status(error: BourseError) -> int:
    return REASON_STATUS.get(error.reason, KIND_STATUS[error.kind])


def error_body(error: BourseError, status: int) -> dict[str, Any]:
    """OpenAI's error object for `error`; `param` is the first bad field when the error names one."""
    param = error.violations[0].field if error.violations else None
    return {
        "error": {
            "message": error.message,
            "type": STATUS_TYPE.get(status, "server_error"),
            "param": param,
            "code": error.reason.lower(),
        }
    }


def retry_after_header(error: BourseError, now: float | None = None) -> str | None:
    """Seconds for the Retry-After header (whole seconds, rounded up).

    Without a delay from the router: a spent budget waits for its window to roll over (the router's windows are
    UTC minutes, days and months), any other 429 gets 1 second.
    """
    if error.retry_after_s is not None:
        return str(max(1, math.ceil(error.retry_after_s)))
    if error.kind is not Kind.RESOURCE_EXHAUSTED:
        return None
    window_end = _budget_window_end(error.metadata.get("limit", ""), time.time() if now is None else now)
    if error.reason == "BUDGET_EXCEEDED" and window_end is not None:
        return str(max(1, math.ceil(window_end)))
    return "1"


def _budget_window_end(limit: str, now: float) -> float | None:
    """Seconds from `now` to the end of the UTC window of a budget limit, None for an unknown limit."""
    at = dt.datetime.fromtimestamp(now, tz=dt.UTC)
    if limit == "requests_per_minute":
        end = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    elif limit == "daily":
        end = at.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    elif limit == "monthly":
        first = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = (first + dt.timedelta(days=32)).replace(day=1)
    else:
        return None
    return (end - at).total_seconds()
