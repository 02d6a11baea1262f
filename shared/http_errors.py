"""Bourse errors as HTTP: the status from the error catalogue and OpenAI's error body.

Every HTTP surface (the gateway's OpenAI API, the ledger's dashboard) answers errors in this one shape,
`{"error": {"message", "type", "param", "code"}}`, so the official SDKs raise their matching exception class.
A reason from outside the catalogue gets the status of its kind's plain reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.error_catalogue import PLAIN_STATUS_REASON, reason_of
from shared.errors import BourseError

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
    entry = reason_of(error.reason)
    return (entry or PLAIN_STATUS_REASON[error.kind]).http_status


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
