"""QualityEvidence: one outcome of one model for one tenant and task kind, on bourse.quality.<tenant>.

Every router replica publishes the evidence it learns (feedback it resolved, invalid answers, cache bad hits)
and applies every replica's, from the BOURSE_QUALITY stream, so their posteriors agree; a restarted replica
replays the stream. Payloads are checked strictly: unknown fields, bad values or oversize are refused.
"""

from __future__ import annotations

import math

import msgspec

MAX_EVIDENCE_BYTES = 2048
SOURCES = frozenset({"feedback", "invalid_output", "valid_output", "cache_bad_hit"})


class QualityEvidence(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    v: int = 1
    tenant: str
    task_kind: str
    model_key: str  # "provider/model"
    successes: float
    failures: float
    ts_ms: int  # when the outcome was observed (epoch milliseconds): the decay clock
    source: str
    request_id: str = ""


_decoder = msgspec.json.Decoder(QualityEvidence)
_encoder = msgspec.json.Encoder()


class EvidenceRejected(ValueError):
    """An evidence payload that must not be applied; `reason` is a stable metric label."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def encode_evidence(evidence: QualityEvidence) -> bytes:
    return _encoder.encode(evidence)


def decode_evidence(data: bytes) -> QualityEvidence:
    if len(data) > MAX_EVIDENCE_BYTES:
        raise EvidenceRejected("oversized", f"{len(data)} bytes > {MAX_EVIDENCE_BYTES}")
    try:
        evidence = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise EvidenceRejected("malformed", str(error)) from None
    if evidence.v != 1:
        raise EvidenceRejected("malformed", f"schema version {evidence.v}")
    if evidence.source not in SOURCES:
        raise EvidenceRejected("malformed", f"unknown source {evidence.source!r}")
    if not evidence.tenant or not evidence.task_kind or "/" not in evidence.model_key:
        raise EvidenceRejected("malformed", "tenant, task_kind and provider/model are required")
    for value in (evidence.successes, evidence.failures):
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            raise EvidenceRejected("malformed", "successes and failures must be within 0..1")
    if evidence.ts_ms <= 0:
        raise EvidenceRejected("malformed", "ts_ms must be positive")
    return evidence
