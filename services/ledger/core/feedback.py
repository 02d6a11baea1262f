"""Validation of quality feedback, shared by the RPC and the bourse.feedback.<tenant> subject."""

from __future__ import annotations

import math

from shared import input_bounds
from shared.errors import FieldViolation, InvalidRequest
from shared.events.schemas import Feedback

MAX_COMMENT_CHARS = 1000


def validate_feedback(item: Feedback) -> None:
    """Raise InvalidRequest naming each bad field."""
    violations = []
    # request_id is the id Route returned (the router's, keying the ledger row), bounded like every request id.
    if not item.request_id:
        violations.append(FieldViolation("request_id", "is required"))
    violations += input_bounds.check_request_id(item.request_id, "request_id")
    if not item.tenant:
        violations.append(FieldViolation("tenant", "is required"))
    else:
        violations += input_bounds.check_tenant_id(item.tenant, "tenant")
    if not (math.isfinite(item.score) and 0.0 <= item.score <= 1.0):
        violations.append(FieldViolation("score", f"must be between 0 and 1, got {item.score}"))
    if len(item.comment) > MAX_COMMENT_CHARS:
        violations.append(FieldViolation("comment", f"at most {MAX_COMMENT_CHARS} characters"))
    if violations:
        raise InvalidRequest("invalid feedback", violations=violations)
