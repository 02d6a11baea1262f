"""Validation of quality feedback, shared by the RPC and the bourse.feedback.<tenant> subject."""

from __future__ import annotations

import math

from shared.errors import FieldViolation, InvalidRequest
from shared.events.schemas import Feedback

MAX_COMMENT_CHARS = 1000


def validate_feedback(item: Feedback) -> None:
    """Raise InvalidRequest naming each bad field."""
    violations = []
    if not item.request_id:
        violations.append(FieldViolation("request_id", "is required"))
    if not item.tenant:
        violations.append(FieldViolation("tenant", "is required"))
    if not (math.isfinite(item.score) and 0.0 <= item.score <= 1.0):
        violations.append(FieldViolation("score", f"must be between 0 and 1, got {item.score}"))
    if len(item.comment) > MAX_COMMENT_CHARS:
        violations.append(FieldViolation("comment", f"at most {MAX_COMMENT_CHARS} characters"))
    if violations:
        raise InvalidRequest("invalid feedback", violations=violations)
