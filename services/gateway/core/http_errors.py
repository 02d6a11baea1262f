"""The gateway's HTTP errors: statuses and OpenAI-shaped bodies (shared/http_errors.py, from the error
catalogue), Retry-After from the delay the router sent, and the errors aiohttp raises before a handler runs.

A failing provider is a 502 Bad Gateway, an overloaded or unreachable Bourse service a 503 (the catalogue's
HTTP column).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from shared.error_catalogue import Reason
from shared.errors import BourseError, Kind
from shared.http_errors import STATUS_TYPE, error_body, http_status

__all__ = ["STATUS_TYPE", "error_body", "from_http_status", "http_status", "retry_after_header"]

# The reason of an HTTP error aiohttp raises itself (unknown path, wrong method, body too large): the catalogue's
# request reason with that status.
_HTTP_REASONS: Mapping[int, Reason] = {
    reason.http_status: reason
    for reason in (Reason.NOT_FOUND, Reason.METHOD_NOT_ALLOWED, Reason.PAYLOAD_TOO_LARGE, Reason.UNSUPPORTED_MEDIA_TYPE)
}


def from_http_status(status: int, message: str) -> BourseError:
    """The BourseError for an HTTP error the server raised before our handler ran."""
    return BourseError(message, reason=_HTTP_REASONS.get(status, Reason.INVALID_REQUEST))


def retry_after_header(error: BourseError) -> str | None:
    """Seconds for the Retry-After header (whole seconds, rounded up): the delay the router sent in RetryInfo
    (budgets send when their window rolls over), else 1 second for a 429 and none otherwise."""
    if error.retry_after_s is not None:
        return str(max(1, math.ceil(error.retry_after_s)))
    if error.kind is Kind.RESOURCE_EXHAUSTED:
        return "1"
    return None
