"""One error hierarchy for every service. Plain Python: no grpc, no nats.

Each error carries a stable `reason` (the ErrorInfo reason clients branch on), whether retrying on another
model or provider makes sense, and an optional retry delay. `shared.grpc_errors` maps them to gRPC status in
one place; the gateway maps the same kinds to HTTP statuses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar


class Kind(Enum):
    """Transport-neutral error class; each maps to exactly one gRPC code and one HTTP status."""

    INVALID_ARGUMENT = "invalid_argument"
    FAILED_PRECONDITION = "failed_precondition"
    NOT_FOUND = "not_found"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    UNAVAILABLE = "unavailable"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    INTERNAL = "internal"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field of a request: a dotted path (`chat.messages[0].role`) and what is wrong with it."""

    field: str
    description: str


class BourseError(Exception):
    """Base of every error Bourse raises on purpose. Subclasses fix the kind and the default reason."""

    default_kind: ClassVar[Kind] = Kind.INTERNAL
    default_reason: ClassVar[str] = "INTERNAL"
    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        kind: Kind | None = None,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[FieldViolation] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.kind = kind or self.default_kind
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after_s = retry_after_s
        self.metadata: dict[str, str] = dict(metadata or {})
        self.violations: tuple[FieldViolation, ...] = tuple(violations)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, message={self.message!r})"


class InvalidRequest(BourseError):
    """The request is malformed; `violations` names each bad field."""

    default_kind = Kind.INVALID_ARGUMENT
    default_reason = "INVALID_REQUEST"


class NoQualifiedModel(BourseError):
    """Every model was removed by some constraint; metadata["constraint"] names the last one."""

    default_kind = Kind.FAILED_PRECONDITION
    default_reason = "NO_QUALIFIED_MODEL"


class NotFound(BourseError):
    """A named thing (model, provider, entry, key) does not exist."""

    default_kind = Kind.NOT_FOUND
    default_reason = "NOT_FOUND"


class Unauthenticated(BourseError):
    """Missing or wrong credentials."""

    default_kind = Kind.UNAUTHENTICATED
    default_reason = "UNAUTHENTICATED"


class PermissionDenied(BourseError):
    """Credentials are valid but not allowed to do this."""

    default_kind = Kind.PERMISSION_DENIED
    default_reason = "PERMISSION_DENIED"


class BudgetExceeded(BourseError):
    """A spend or request-rate limit would be exceeded; metadata["limit"] says which."""

    default_kind = Kind.RESOURCE_EXHAUSTED
    default_reason = "BUDGET_EXCEEDED"


class Overloaded(BourseError):
    """A bounded queue is full; retry after retry_after_s."""

    default_kind = Kind.RESOURCE_EXHAUSTED
    default_reason = "OVERLOADED"
    default_retryable = True


class DeadlineExceeded(BourseError):
    """The total deadline passed."""

    default_kind = Kind.DEADLINE_EXCEEDED
    default_reason = "DEADLINE_EXCEEDED"
    default_retryable = True


class Internal(BourseError):
    """A bug or an unexpected state: never the client's fault."""


# Stable reasons of upstream (provider) failures: transport kind, and whether another model may succeed.
UPSTREAM_REASONS: Mapping[str, tuple[Kind, bool]] = {
    "RATE_LIMITED": (Kind.RESOURCE_EXHAUSTED, True),
    "OVERLOADED": (Kind.UNAVAILABLE, True),
    "CONTEXT_LENGTH_EXCEEDED": (Kind.INVALID_ARGUMENT, True),  # a model with a larger window may succeed
    "CONTENT_FILTERED": (Kind.FAILED_PRECONDITION, True),
    "AUTHENTICATION": (Kind.UNAUTHENTICATED, True),  # our key for that provider is bad; others may work
    "PERMISSION": (Kind.PERMISSION_DENIED, True),
    "INVALID_REQUEST": (Kind.INVALID_ARGUMENT, False),
    "UNSUPPORTED_FIELD": (Kind.FAILED_PRECONDITION, True),  # this provider cannot honour a field; others may
    "UPSTREAM_5XX": (Kind.UNAVAILABLE, True),
    "CONNECT_TIMEOUT": (Kind.UNAVAILABLE, True),
    "CONNECT_FAILED": (Kind.UNAVAILABLE, True),
    "READ_TIMEOUT": (Kind.DEADLINE_EXCEEDED, True),
    "DEADLINE": (Kind.DEADLINE_EXCEEDED, True),
    "CONNECTION_DROPPED": (Kind.UNAVAILABLE, True),
    "BAD_RESPONSE": (Kind.UNAVAILABLE, True),
    "UNKNOWN_PROVIDER": (Kind.NOT_FOUND, False),
    "UPSTREAM_ERROR": (Kind.UNAVAILABLE, True),
}


class UpstreamError(BourseError):
    """A provider failed. The reason (a key of UPSTREAM_REASONS) fixes the kind and retryability."""

    default_kind = Kind.UNAVAILABLE
    default_reason = "UPSTREAM_ERROR"
    default_retryable = True

    def __init__(
        self,
        message: str,
        *,
        reason: str = "UPSTREAM_ERROR",
        retry_after_s: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        kind, retryable = UPSTREAM_REASONS.get(reason, (Kind.UNAVAILABLE, True))
        super().__init__(
            message,
            reason=reason,
            kind=kind,
            retryable=retryable,
            retry_after_s=retry_after_s,
            metadata=metadata,
        )
