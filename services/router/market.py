"""The router's market data edge on NATS: the pricing feed and the telemetry that feeds live statistics.

On start: ensure the pricing and telemetry streams, replay the retained price history (the last updates of
every model, in order) into the PriceBook in one swap, then follow new price updates from the next sequence
on (no gap, no double). Telemetry from every replica goes into LiveStats and the TokenEstimator, starting a
few minutes back so a restarted replica converges at once. Optionally polls an OpenRouter-style `/models`
endpoint and publishes the price changes it finds on the feed, so every replica applies them.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import msgspec
import nats.errors
import nats.js.api as js_api
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry, Counter, Histogram

from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from shared.errors import InvalidRequest, Reason
from shared.events import streams, subjects
from shared.events.schemas import PriceUpdate, TelemetryEvent
from shared.pricing.price_table import PriceBook
from shared.pricing.prices import (
    changes_against,
    decode_update,
    encode_update,
    message_id,
    updates_from_openrouter,
)

PRICING_FILTER = f"{subjects.PRICING_PREFIX}.>"
TELEMETRY_FILTER = f"{subjects.TELEMETRY_PREFIX}.>"
_telemetry_decoder = msgspec.json.Decoder(TelemetryEvent)


class MarketError(RuntimeError):
    """The feed could not start (JetStream unavailable, recovery did not finish in time)."""


@dataclass
class MarketMetrics:
    applied: Counter
    rejected: Counter
    apply_delay: Histogram
    telemetry: Counter
    telemetry_rejected: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> MarketMetrics:
        return cls(
            applied=Counter("bourse_router_price_updates_applied", "Price updates applied", registry=registry),
            rejected=Counter(
                "bourse_router_price_updates_rejected",
                "Malformed or implausible price updates",
                ["reason"],
                registry=registry,
            ),
            apply_delay=Histogram(
                "bourse_router_price_apply_delay_seconds",
                "From storage of a price update in JetStream to its application",
                buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
                registry=registry,
            ),
            telemetry=Counter("bourse_router_telemetry_events", "Telemetry events absorbed", registry=registry),
            telemetry_rejected=Counter(
                "bourse_router_telemetry_rejected", "Telemetry events that could not be decoded", registry=registry
            ),
        )


class MarketFeed:
    def __init__(
        self,
        nc: NATS,
        book: PriceBook,
        stats: LiveStats,
        estimator: TokenEstimator,
        logger: structlog.typing.FilteringBoundLogger,
        *,
        registry: CollectorRegistry | None = None,
        poll_url: str = "",
        poll_interval_s: float = 300.0,
        poll_provider: str = "openrouter",
        telemetry_replay_s: float = 600.0,
        recovery_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        telemetry_observers: Sequence[Callable[[TelemetryEvent], None]] = (),
    ) -> None:
        self._telemetry_observers = tuple(telemetry_observers)
        self._nc = nc
        self._book = book
        self._stats = stats
        self._estimator = estimator
        self._logger = logger
        self._metrics = MarketMetrics.create(registry or CollectorRegistry())
        self._poll_url = poll_url
        self._poll_interval_s = poll_interval_s
        self._poll_provider = poll_provider
        self._telemetry_replay_s = telemetry_replay_s
        self._recovery_timeout_s = recovery_timeout_s
        self._clock = clock
        self._subscriptions: list[JetStreamContext.PushSubscription] = []
        self._poll_task: asyncio.Task[None] | None = None
        self.rejected = 0
        self.applied = 0
        self.recovered = 0
        self.telemetry_events = 0
        self.telemetry_rejected = 0
        self.polls = 0
        self.poll_errors = 0
        self.last_apply_delay_s = 0.0

    async def start(self) -> None:
        """Recover prices, then follow both feeds. Returns once the PriceBook holds the recovered prices."""
        js = self._nc.jetstream()
        try:
            await streams.ensure_streams(js, (streams.PRICING, streams.TELEMETRY))
            last_seq = await self._recover_prices(js)
            self._subscriptions.append(
                await js.subscribe(
                    PRICING_FILTER,
                    cb=self._on_price,
                    ordered_consumer=True,
                    config=js_api.ConsumerConfig(
                        deliver_policy=js_api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=last_seq + 1
                    ),
                )
            )
            self._subscriptions.append(await self._subscribe_telemetry(js))
        except (nats.errors.Error, OSError) as error:
            raise MarketError(f"cannot follow the market feeds: {error!r}") from error
        if self._poll_url:
            self._poll_task = asyncio.get_running_loop().create_task(self._poll_loop(js), name="price-poller")
        self._logger.info("market_feed_ready", recovered=self.recovered, prices_as_of=self._book.current.as_of)

    async def rebind(self, nc: NATS) -> None:
        """Follow the feeds through a new client (shared.events.healing replaced a closed one): the retained price
        history is read again, so an update published while the old client was dead is not missed."""
        await self.close()
        self._nc = nc
        await self.start()

    async def close(self) -> None:
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
        for subscription in self._subscriptions:
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()
        self._subscriptions.clear()

    async def _recover_prices(self, js: JetStreamContext) -> int:
        """Apply the retained price history in one swap; returns the last stream sequence read."""
        messages, last_seq = await read_price_history(js, self._recovery_timeout_s)
        updates = [update for update in map(self._decode, messages) if update is not None]
        for rejection in self._book.apply_many(updates):
            self._count_rejection(rejection, recovering=True)
        self.recovered = len(updates)
        return last_seq

    def _decode(self, msg: Msg) -> PriceUpdate | None:
        try:
            update = decode_update(msg.data)
        except InvalidRequest as error:
            self._count_rejection(error)
            return None
        expected = subjects.pricing(update.provider, update.model)
        if msg.subject != expected:
            self._count_rejection(
                InvalidRequest(
                    f"price update for {update.provider}/{update.model} published on {msg.subject}",
                    reason=Reason.PRICE_UPDATE_WRONG_SUBJECT,
                )
            )
            return None
        if not update.as_of:  # a live price without its own date is as fresh as its message
            stored = msg.metadata.timestamp.astimezone(datetime.UTC).isoformat(timespec="seconds")
            update = msgspec.structs.replace(update, as_of=stored)
        return update

    async def _on_price(self, msg: Msg) -> None:
        update = self._decode(msg)
        if update is None:
            return
        try:
            self._book.apply(update)
        except InvalidRequest as error:
            self._count_rejection(error)
            return
        self.applied += 1
        self._metrics.applied.inc()
        stored = msg.metadata.timestamp.timestamp()
        self.last_apply_delay_s = max(self._clock() - stored, 0.0)
        self._metrics.apply_delay.observe(self.last_apply_delay_s)
        self._logger.info(
            "price_applied",
            provider=update.provider,
            model=update.model,
            as_of=update.as_of,
            source=update.source,
            delay_ms=round(self.last_apply_delay_s * 1000, 3),
        )

    def _count_rejection(self, error: InvalidRequest, *, recovering: bool = False) -> None:
        self.rejected += 1
        self._metrics.rejected.labels(reason=error.reason).inc()
        self._logger.warning("price_update_rejected", reason=error.reason, error=error.message, recovering=recovering)

    async def _subscribe_telemetry(self, js: JetStreamContext) -> JetStreamContext.PushSubscription:
        if self._telemetry_replay_s > 0:
            start = datetime.datetime.fromtimestamp(self._clock() - self._telemetry_replay_s, datetime.UTC)
            config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.BY_START_TIME, opt_start_time=start)
        else:
            config = js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.NEW)
        return await js.subscribe(TELEMETRY_FILTER, cb=self._on_telemetry, ordered_consumer=True, config=config)

    async def _on_telemetry(self, msg: Msg) -> None:
        self.absorb_telemetry(msg.data)

    def absorb_telemetry(self, data: bytes) -> None:
        """Decode one telemetry payload into the live statistics and the token estimator."""
        try:
            event = _telemetry_decoder.decode(data)
        except (msgspec.ValidationError, msgspec.DecodeError):
            self.telemetry_rejected += 1
            self._metrics.telemetry_rejected.inc()
            return
        self.telemetry_events += 1
        self._metrics.telemetry.inc()
        self._stats.observe(event)
        self._estimator.observe(event)
        for observe in self._telemetry_observers:
            observe(event)

    async def _poll_loop(self, js: JetStreamContext) -> None:
        while True:
            await self.poll_once(js)
            await asyncio.sleep(self._poll_interval_s)

    async def poll_once(self, js: JetStreamContext) -> int:
        """Fetch the /models endpoint once and publish the price changes; returns how many were published."""
        self.polls += 1
        try:
            raw = await asyncio.to_thread(_http_get, self._poll_url)
            as_of = datetime.datetime.fromtimestamp(self._clock(), datetime.UTC).isoformat(timespec="seconds")
            table = self._book.current
            updates = changes_against(
                updates_from_openrouter(raw, table, provider=self._poll_provider, as_of=as_of), table
            )
            for update in updates:
                await js.publish(
                    subjects.pricing(update.provider, update.model),
                    encode_update(update),
                    headers={"Nats-Msg-Id": message_id(update)},
                )
        except (OSError, InvalidRequest, nats.errors.Error) as error:
            self.poll_errors += 1
            self._logger.warning("price_poll_failed", url=self._poll_url, error=repr(error))
            return 0
        if updates:
            self._logger.info("price_poll_published", url=self._poll_url, updates=len(updates))
        return len(updates)


async def read_price_history(js: JetStreamContext, timeout_s: float = 10.0) -> tuple[list[Msg], int]:
    """Every retained price message, oldest first, and the last stream sequence (0 when the stream is empty)."""
    info = await js.stream_info(streams.PRICING.name)
    if info.state.messages == 0:
        return [], int(info.state.last_seq)
    subscription = await js.subscribe(PRICING_FILTER, ordered_consumer=True, deliver_policy=js_api.DeliverPolicy.ALL)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    messages: list[Msg] = []
    try:
        while True:
            remaining = max(deadline - loop.time(), 0.001)
            try:
                msg = await subscription.next_msg(timeout=remaining)
            except TimeoutError as error:
                raise MarketError(f"price recovery did not finish within {timeout_s} s") from error
            messages.append(msg)
            if msg.metadata.num_pending == 0:
                return messages, int(msg.metadata.sequence.stream)
    finally:
        await subscription.unsubscribe()


def _http_get(url: str, timeout_s: float = 10.0) -> bytes:
    if not url.startswith(("http://", "https://")):
        raise OSError(f"unsupported URL scheme: {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 -- scheme checked above
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 -- scheme checked above
        body: bytes = response.read()
        return body
