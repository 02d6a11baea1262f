"""JetStream streams with explicit retention, created idempotently at start-up by whoever publishes."""

from __future__ import annotations

from dataclasses import dataclass

import nats.js.api as js_api
import nats.js.errors
from nats.js import JetStreamContext

DAY_S = 24 * 3600.0
GIB = 1024**3


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_s: float
    max_bytes: int
    max_msgs_per_subject: int = -1
    duplicate_window_s: float = 120.0


TELEMETRY = StreamSpec("BOURSE_TELEMETRY", ("bourse.telemetry.>",), max_age_s=7 * DAY_S, max_bytes=2 * GIB)
# Pricing keeps a short history per model; the router replays the last message of every subject on start.
PRICING = StreamSpec(
    "BOURSE_PRICING", ("bourse.pricing.>",), max_age_s=0, max_bytes=256 * 1024**2, max_msgs_per_subject=16
)
COST = StreamSpec("BOURSE_COST", ("bourse.cost.>", "bourse.alerts.>"), max_age_s=30 * DAY_S, max_bytes=2 * GIB)
FEEDBACK = StreamSpec("BOURSE_FEEDBACK", ("bourse.feedback.>",), max_age_s=90 * DAY_S, max_bytes=GIB)

# Events that could never be published or stored, with the reason in a header (shared/events/dead_letters.py).
DEAD_LETTER = StreamSpec(
    "BOURSE_DEAD_LETTER", ("bourse.deadletter.>",), max_age_s=30 * DAY_S, max_bytes=GIB, duplicate_window_s=600.0
)

ALL = (TELEMETRY, PRICING, COST, FEEDBACK, DEAD_LETTER)


async def ensure_streams(js: JetStreamContext, specs: tuple[StreamSpec, ...] = ALL, replicas: int = 1) -> None:
    """Create each stream, or update it to the spec if it exists. Safe to run from every replica.

    An existing stream keeps a higher replica count than `replicas` (a cluster set up with R3 streams is never
    scaled down by a service starting with the default).
    """
    for spec in specs:
        try:
            existing = await js.stream_info(spec.name)
            num_replicas = max(replicas, existing.config.num_replicas or 1)
        except nats.js.errors.NotFoundError:
            num_replicas = replicas
        config = js_api.StreamConfig(
            name=spec.name,
            subjects=list(spec.subjects),
            retention=js_api.RetentionPolicy.LIMITS,
            storage=js_api.StorageType.FILE,
            max_age=spec.max_age_s or None,
            max_bytes=spec.max_bytes,
            max_msgs_per_subject=spec.max_msgs_per_subject,
            duplicate_window=spec.duplicate_window_s,
            num_replicas=num_replicas,
            discard=js_api.DiscardPolicy.OLD,
        )
        try:
            await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            # Exists with another config (err 10058): bring it to ours.
            await js.update_stream(config)
