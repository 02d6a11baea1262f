"""Quality evidence over NATS: feedback in, evidence shared by every replica, recovered on restart.

- `bourse.feedback.<tenant>` (stream BOURSE_FEEDBACK): each replica resolves a feedback message against the
  requests it knows (its own answers and every replica's telemetry). A known id with a score in 0..1 becomes a
  QualityEvidence; an unknown id or a bad score is refused and counted, and nothing is applied.
- `bourse.quality.<tenant>` (stream BOURSE_QUALITY): the evidence itself. Replicas publish with Nats-Msg-Id set
  from the feedback's stream sequence (or the request id), so the copies several replicas publish for one
  feedback are stored once. Every replica applies every stored evidence message, in any order (forward decay
  makes the result order-free), so their posteriors agree. On start the stream is replayed before serving.
- A malformed or oversized evidence message is dropped, logged and counted; serving goes on.

The Route path only enqueues (a bounded queue; one task publishes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import msgspec
import nats.errors
import nats.js.api as js_api
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry, Counter

from services.router.core.execution.route_types import RouteOutcome
from services.router.core.quality.evidence_event import (
    EvidenceRejected,
    QualityEvidence,
    decode_evidence,
    encode_evidence,
)
from services.router.core.quality.routing import QualityRouting
from shared.events import streams, subjects
from shared.events.schemas import Feedback, TelemetryEvent
from shared.pricing.price_table import PriceBook

QUALITY_PREFIX = "bourse.quality"
BAD_HIT_SUBJECTS = f"{subjects.CACHE_PREFIX}.bad_hit.>"
QUALITY_STREAM_NAME = "BOURSE_QUALITY"
MAX_FEEDBACK_BYTES = 8192
QUEUE_LIMIT = 4096


def quality_stream(retention_s: float) -> streams.StreamSpec:
    return streams.StreamSpec(
        QUALITY_STREAM_NAME, (f"{QUALITY_PREFIX}.>",), max_age_s=retention_s, max_bytes=256 * 1024**2
    )


def evidence_subject(tenant: str) -> str:
    return f"{QUALITY_PREFIX}.{subjects.token(tenant)}"


class BadHitReport(msgspec.Struct, kw_only=True):
    """The fields the router needs of the cache's bad-hit event (bourse.cache.bad_hit.<tenant>); others ignored."""

    tenant: str
    request_id: str = ""


class QualityMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.feedback = Counter(
            "bourse_router_quality_feedback", "Feedback messages by outcome", ["outcome"], registry=registry
        )
        self.evidence = Counter(
            "bourse_router_quality_evidence",
            "Evidence messages by direction and outcome",
            ["direction", "outcome"],
            registry=registry,
        )


class QualityEvents:
    def __init__(
        self,
        nc: NATS,
        quality: QualityRouting,
        book: PriceBook,
        logger: structlog.typing.FilteringBoundLogger,
        *,
        registry: CollectorRegistry,
        retention_s: float,
        recovery_timeout_s: float = 10.0,
    ) -> None:
        self._nc = nc
        self._quality = quality
        self._book = book
        self._logger = logger
        self._registry = registry
        self._metrics = QualityMetrics(registry)
        self._spec = quality_stream(retention_s)
        self._recovery_timeout_s = recovery_timeout_s
        self._queue: asyncio.Queue[tuple[QualityEvidence, str]] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._feedback_decoder = msgspec.json.Decoder(Feedback)
        self._bad_hit_decoder = msgspec.json.Decoder(BadHitReport)
        self._subscriptions: list[JetStreamContext.PushSubscription] = []
        self._sender: asyncio.Task[None] | None = None
        self._bad_hits: Subscription | None = None
        self._caught_up = asyncio.Event()
        self._recover_to = 0
        # The last stream sequences handled: a replacement client resumes after them, so nothing is applied twice.
        self._evidence_seq = 0
        self._feedback_seq = 0

    # ---- life cycle ---------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Replay the evidence stream, then follow it and the feedback stream. Returns once replayed."""
        js = self._nc.jetstream()
        await streams.ensure_streams(js, (self._spec, streams.FEEDBACK))
        info = await js.stream_info(QUALITY_STREAM_NAME)
        self._recover_to = info.state.last_seq
        if self._recover_to == 0:
            self._caught_up.set()
        self._subscriptions.append(
            await js.subscribe(
                f"{QUALITY_PREFIX}.>",
                cb=self._on_evidence,
                ordered_consumer=True,
                config=js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.ALL),
            )
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._caught_up.wait(), self._recovery_timeout_s)
        # Feedback from before this replica started is already in the evidence stream: follow from here on.
        self._feedback_seq = (await js.stream_info(streams.FEEDBACK.name)).state.last_seq
        await self._follow(js, feedback=_after(self._feedback_seq))

    async def rebind(self, nc: NATS) -> None:
        """Follow through a new client (shared.events.healing replaced a closed one), resuming after the last
        evidence and feedback handled: what was published meanwhile is applied once, nothing twice."""
        await self._unsubscribe()
        self._nc = nc
        js = nc.jetstream()
        self._subscriptions.append(
            await js.subscribe(
                f"{QUALITY_PREFIX}.>",
                cb=self._on_evidence,
                ordered_consumer=True,
                config=_after(self._evidence_seq),
            )
        )
        await self._follow(js, feedback=_after(self._feedback_seq))

    async def _follow(self, js: JetStreamContext, *, feedback: js_api.ConsumerConfig) -> None:
        self._subscriptions.append(
            await js.subscribe(
                f"{subjects.FEEDBACK_PREFIX}.>", cb=self._on_feedback, ordered_consumer=True, config=feedback
            )
        )
        self._bad_hits = await self._nc.subscribe(BAD_HIT_SUBJECTS, cb=self._on_bad_hit)
        # A round trip: the server holds every subscription above before this replica reports ready, so a
        # report published right after an answer is not missed.
        await self._nc.flush()
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send_loop(), name="quality-evidence-publisher")

    async def close(self) -> None:
        await self._unsubscribe()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender

    async def _unsubscribe(self) -> None:
        for subscription in (*self._subscriptions, *([self._bad_hits] if self._bad_hits else [])):
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._subscriptions.clear()
        self._bad_hits = None

    # ---- what this replica learns -------------------------------------------------------------------------
    def observe_outcome(self, outcome: RouteOutcome) -> None:
        """Called for every routed request (Route path: only remembers and enqueues)."""
        model_key = self._answer_key(outcome)
        if model_key:
            self._quality.remember(outcome.request_id, outcome.tenant, outcome.task_kind, model_key)
        now_ms = int(time.time() * 1000)
        for index, attempt in enumerate(outcome.attempts):
            if attempt.outcome != "invalid_output" or attempt.served_from != "remote":
                continue
            evidence = QualityEvidence(
                tenant=outcome.tenant,
                task_kind=outcome.task_kind,
                model_key=f"{attempt.provider}/{attempt.model}",
                successes=0.0,
                failures=1.0,
                ts_ms=now_ms,
                source="invalid_output",
                request_id=outcome.request_id,
            )
            self._enqueue(evidence, f"invalid:{outcome.request_id}:{index}")

    def observe_telemetry(self, event: TelemetryEvent) -> None:
        """Every replica's answers, so feedback for them resolves here too."""
        if event.outcome != "ok" or event.served_from not in ("remote", "local"):
            return
        self._quality.remember(event.request_id, event.tenant, event.task_kind, f"{event.provider}/{event.model}")

    def _answer_key(self, outcome: RouteOutcome) -> str:
        if outcome.completion is None:
            return ""
        if outcome.served_from == "cache":
            # A hit names only the model that wrote the answer; credit it when the id is unambiguous.
            writers = self._book.current.matching(outcome.model)
            return writers[0].key if len(writers) == 1 else ""
        if outcome.served_from not in ("remote", "local"):
            return ""
        return f"{outcome.provider}/{outcome.model}"

    def _enqueue(self, evidence: QualityEvidence, message_id: str) -> None:
        try:
            self._queue.put_nowait((evidence, message_id))
        except asyncio.QueueFull:
            self._metrics.evidence.labels("out", "dropped").inc()

    async def _send_loop(self) -> None:
        js = self._nc.jetstream()
        while True:
            evidence, message_id = await self._queue.get()
            try:
                await js.publish(
                    evidence_subject(evidence.tenant),
                    encode_evidence(evidence),
                    headers={"Nats-Msg-Id": message_id},
                )
            except (nats.errors.Error, OSError, TimeoutError) as error:
                self._metrics.evidence.labels("out", "failed").inc()
                self._logger.warning("quality_evidence_publish_failed", error=str(error))
            else:
                self._metrics.evidence.labels("out", "published").inc()

    # ---- incoming -----------------------------------------------------------------------------------------
    async def _on_feedback(self, msg: Msg) -> None:
        if len(msg.data) > MAX_FEEDBACK_BYTES:
            self._refuse_feedback("oversized", msg.subject, f"{len(msg.data)} bytes")
            return
        try:
            feedback = self._feedback_decoder.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            self._refuse_feedback("malformed", msg.subject, str(error))
            return
        self._feedback_seq = max(self._feedback_seq, msg.metadata.sequence.stream)
        verdict = self._quality.resolve_feedback(feedback.request_id, feedback.tenant, feedback.score, feedback.ts_ms)
        if verdict.evidence is None:
            self._refuse_feedback(verdict.refused, msg.subject, f"request {feedback.request_id!r}")
            return
        self._metrics.feedback.labels("accepted").inc()
        self._enqueue(verdict.evidence, f"feedback:{msg.metadata.sequence.stream}")

    async def _on_bad_hit(self, msg: Msg) -> None:
        """A reported wrong cache hit: a failure of the model that wrote the answer (when the request is known)."""
        if len(msg.data) > MAX_FEEDBACK_BYTES:
            self._refuse_feedback("bad_hit_oversized", msg.subject, f"{len(msg.data)} bytes")
            return
        try:
            report = self._bad_hit_decoder.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as error:
            self._refuse_feedback("bad_hit_malformed", msg.subject, str(error))
            return
        verdict = self._quality.resolve_feedback(report.request_id, report.tenant, 0.0, 0)
        if verdict.evidence is None:
            self._refuse_feedback(f"bad_hit_{verdict.refused}", msg.subject, f"request {report.request_id!r}")
            return
        self._metrics.feedback.labels("bad_hit_accepted").inc()
        evidence = msgspec.structs.replace(verdict.evidence, source="cache_bad_hit")
        self._enqueue(evidence, f"bad_hit:{report.request_id}")

    def _refuse_feedback(self, reason: str, subject: str, detail: str) -> None:
        self._metrics.feedback.labels(reason).inc()
        self._logger.warning("quality_feedback_refused", reason=reason, subject=subject, detail=detail)

    async def _on_evidence(self, msg: Msg) -> None:
        sequence = msg.metadata.sequence.stream
        if sequence <= self._evidence_seq:
            return  # already applied (a redelivery after a consumer reset)
        self._evidence_seq = sequence
        try:
            evidence = decode_evidence(msg.data)
        except EvidenceRejected as error:
            self._metrics.evidence.labels("in", error.reason).inc()
            self._logger.warning("quality_evidence_rejected", reason=error.reason, error=str(error))
        else:
            self._quality.apply(evidence)
            self._metrics.evidence.labels("in", "applied").inc()
        if not self._caught_up.is_set() and sequence >= self._recover_to:
            self._caught_up.set()

    def count(self, name: str, labels: dict[str, str]) -> float:
        """A counter's value (tests and ops read it)."""
        return self._registry.get_sample_value(f"bourse_router_quality_{name}_total", labels) or 0.0


def _after(sequence: int) -> js_api.ConsumerConfig:
    """Deliver from the message after `sequence` (everything when the stream was empty)."""
    if sequence == 0:
        return js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.ALL)
    return js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=sequence + 1)
