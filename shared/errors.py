"""One error hierarchy for every service. Plain Python: no grpc, no nats.

Each error carries a stable `reason` from the catalogue (shared/error_catalogue.py), which fixes its kind and
whether retrying on another model or provider makes sense, and an optional retry delay. `shared.grpc_errors` maps
them to gRPC status in one place; the gateway's core/http_errors.py maps them to HTTP, both from the catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from shared.error_catalogue import UPSTREAM_REASONS, Kind, Reason, reason_of

__all__ = [
    "UPSTREAM_REASONS",
    "BourseError",
    "BudgetExceeded",
    "DeadlineExceeded",
    "FieldViolation",
    "Internal",
    "InvalidRequest",
    "Kind",
    "NoQualifiedModel",
    "NotFound",
    "Overloaded",
    "PermissionDenied",
    "Reason",
    "Unauthenticated",
    "UpstreamError",
]


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One bad field of a request: a dotted path (`chat.messages[0].role`) and what is wrong with it."""

    field: str
    description: str


class BourseError(Exception):
    """Base of every error Bourse raises on purpose. Subclasses fix the default reason.

    The reason's catalogue entry fixes the kind and retryability. `kind` and `retryable` are given only for an
    error rebuilt from the wire (`shared.grpc_errors.from_rpc_error`), whose reason may come from outside Bourse.
    """

    default_reason: ClassVar[Reason] = Reason.INTERNAL

    def __init__(
        self,
        message: str,
        *,
        reason: Reason | None = None,
        kind: Kind | None = None,
        retryable: bool | None = None,
        retry_after_s: float | None = None,
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[FieldViolation] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.reason: str = str(reason or self.default_reason)
        entry = reason_of(self.reason)
        self.kind: Kind = kind or (entry.kind if entry is not None else Kind.INTERNAL)
        self.retryable: bool = (entry.retryable if entry is not None else False) if retryable is None else retryable
        self.retry_after_s = retry_after_s
        self.metadata: dict[str, str] = dict(metadata or {})
        self.violations: tuple[FieldViolation, ...] = tuple(violations)

    @classmethod
    def received(
        cls,
        message: str,
        *,
        reason: str,
        kind: Kind,
        retryable: bool,
        retry_after_s: float | None = None,
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[FieldViolation] = (),
    ) -> BourseError:
        """An error as another service sent it: its reason is kept as received, even one not in the catalogue."""
        error = cls(
            message,
            kind=kind,
            retryable=retryable,
            retry_after_s=retry_after_s,
            metadata=metadata,
            violations=violations,
        )
        error.reason = reason
        return error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, message={self.message!r})"


class InvalidRequest(BourseError):
    """The request is malformed; `violations` names each bad field."""

    default_reason = Reason.INVALID_REQUEST


class NoQualifiedModel(BourseError):
    """Every model was removed by some constraint; metadata["constraint"] names the last one."""

    default_reason = Reason.NO_QUALIFIED_MODEL


class NotFound(BourseError):
    """A named thing (model, provider, entry, key) does not exist."""

    default_reason = Reason.NOT_FOUND


class Unauthenticated(BourseError):
    """Missing or wrong credentials."""

    default_reason = Reason.UNAUTHENTICATED


class PermissionDenied(BourseError):
    """Credentials are valid but not allowed to do this."""

    default_reason = Reason.PERMISSION_DENIED


class BudgetExceeded(BourseError):
    """A spend or request-rate limit would be exceeded; metadata["limit"] says which."""

    default_reason = Reason.BUDGET_EXCEEDED


class Overloaded(BourseError):
    """A bounded queue is full; retry after retry_after_s."""

    default_reason = Reason.QUEUE_FULL


class DeadlineExceeded(BourseError):
    """The total deadline passed."""

    default_reason = Reason.DEADLINE_EXCEEDED


class Internal(BourseError):
    """A bug or an unexpected state: never the client's fault."""


class UpstreamError(BourseError):
    """A provider failed. The reason (one of UPSTREAM_REASONS) fixes the kind and retryability."""

    default_reason = Reason.UPSTREAM_ERROR

    def __init__(
        self,
        message: str,
        *,
        reason: Reason = Reason.UPSTREAM_ERROR,
        retry_after_s: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, retry_after_s=retry_after_s, metadata=metadata)
