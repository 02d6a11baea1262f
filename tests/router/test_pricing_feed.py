"""The pricing feed on a real NATS JetStream: live updates, recovery after restart, rejection, the poller, the CLI."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from nats.aio.client import Client as NATS
from prometheus_client import CollectorRegistry

from services.cli.__main__ import main as bourse_main
from services.router.core.selection.estimate import TokenEstimator
from services.router.core.selection.live_stats import LiveStats
from services.router.market import MarketFeed
from shared.errors import InvalidRequest
from shared.events import subjects
from shared.events.publisher import EventPublisher
from shared.events.schemas import AttemptRecord, PriceUpdate, TelemetryEvent
from shared.logging import get_logger
from shared.pricing.manifest import Manifest
from shared.pricing.price_table import PriceBook
from shared.pricing.prices import encode_update
from tests.router.model_entries import entry, manifest
from tests.support.eventually import eventually


def _unique_manifest(provider: str = "acme") -> tuple[Manifest, str]:
    model = f"m-{uuid.uuid4().hex[:10]}"
    return manifest(
        entry(provider, model, prices={"input_per_mtok": 1.0, "output_per_mtok": 2.0}),
        entry(provider, f"{model}.other", prices={"input_per_mtok": 3.0, "output_per_mtok": 4.0}),
    ), model


def _feed(nc: NATS, book: PriceBook, **options: object) -> MarketFeed:
    return MarketFeed(
        nc,
        book,
        LiveStats(book),
        TokenEstimator(),
        get_logger("test"),
        telemetry_replay_s=0,
        **options,  # type: ignore[arg-type]
    )


async def _publish(nc: NATS, update: PriceUpdate) -> None:
    await nc.jetstream().publish(subjects.pricing(update.provider, update.model), encode_update(update))


async def test_published_update_changes_the_price_book(nc: NATS) -> None:
    base, model = _unique_manifest()
    book = PriceBook.from_manifest(base)
    feed = _feed(nc, book)
    await feed.start()
    try:
        before = book.current
        await _publish(nc, PriceUpdate(provider="acme", model=model, input_per_mtok=0.5, as_of="2025-08-01"))
        await eventually(lambda: book.current.get("acme", model).prices.input_per_mtok == 0.5)  # type: ignore[union-attr]
        # The snapshot a request held before the swap is unchanged; the new one has every field consistent.
        assert before.get("acme", model).prices.input_per_mtok == 1.0  # type: ignore[union-attr]
        assert book.current.get("acme", model).prices.output_per_mtok == 2.0  # type: ignore[union-attr]
        assert book.current.as_of == "2025-08-01"
        assert feed.applied == 1 and feed.last_apply_delay_s >= 0.0
    finally:
        await feed.close()


async def test_restarted_router_recovers_every_price_before_ready(nc: NATS) -> None:
    base, model = _unique_manifest()
    first = _feed(nc, PriceBook.from_manifest(base))
    await first.start()
    await first.close()
    # Two partial updates of one model and one of another, published while no router runs.
    await _publish(nc, PriceUpdate(provider="acme", model=model, input_per_mtok=0.8))
    await _publish(nc, PriceUpdate(provider="acme", model=model, output_per_mtok=1.5))
    await _publish(nc, PriceUpdate(provider="acme", model=f"{model}.other", input_per_mtok=2.5, as_of="2025-09-01"))
    book = PriceBook.from_manifest(base)
    restarted = _feed(nc, book)
    await restarted.start()  # returns only after recovery: no waiting needed
    try:
        prices = book.current.get("acme", model).prices  # type: ignore[union-attr]
        assert (prices.input_per_mtok, prices.output_per_mtok) == (0.8, 1.5)
        assert book.current.get("acme", f"{model}.other").prices.input_per_mtok == 2.5  # type: ignore[union-attr]
        other = book.current.get("acme", f"{model}.other")
        assert other is not None and other.prices_as_of == "2025-09-01"
        # Undated live prices count from the time JetStream stored them: newer than any dated one here.
        assert "T" in book.current.as_of and book.current.as_of > "2025-09-01"
    finally:
        await restarted.close()


async def test_malformed_and_implausible_updates_are_rejected_logged_and_counted(nc: NATS) -> None:
    base, model = _unique_manifest()
    book = PriceBook.from_manifest(base)
    registry = CollectorRegistry()
    feed = _feed(nc, book, registry=registry)
    await feed.start()
    js = nc.jetstream()
    subject = subjects.pricing("acme", model)
    bad_payloads = [
        b"{not json",
        json.dumps({"provider": "acme", "model": model, "input_per_mtok": "cheap"}).encode(),  # wrong type
        json.dumps({"provider": "acme", "model": model, "input_per_mtok": 1.0, "discount": 5}).encode(),  # unknown
        json.dumps({"provider": "acme", "model": model, "input_per_mtok": -0.1}).encode(),  # negative
        json.dumps({"provider": "acme", "model": model, "output_per_mtok": 400.0}).encode(),  # 200x jump
        json.dumps({"provider": "acme", "model": f"{model}.other", "input_per_mtok": 2.0}).encode(),  # wrong subject
    ]
    try:
        rejected_before = feed.rejected
        for payload in bad_payloads:
            await js.publish(subject, payload)
        await _publish(nc, PriceUpdate(provider="acme", model=model, input_per_mtok=1.1))
        await eventually(lambda: book.current.get("acme", model).prices.input_per_mtok == 1.1)  # type: ignore[union-attr]
        assert feed.rejected - rejected_before == len(bad_payloads)
        prices = book.current.get("acme", model).prices  # type: ignore[union-attr]
        assert prices.output_per_mtok == 2.0  # the implausible jump never applied
        assert book.current.get("acme", f"{model}.other").prices.input_per_mtok == 3.0  # type: ignore[union-attr]
        for reason, count in [
            ("PRICE_UPDATE_MALFORMED", 3),
            ("PRICE_UPDATE_IMPLAUSIBLE", 2),
            ("PRICE_UPDATE_WRONG_SUBJECT", 1),
        ]:
            value = registry.get_sample_value("bourse_router_price_updates_rejected_total", {"reason": reason})
            assert value == count, reason
        # The flag lets the same jump through.
        await _publish(nc, PriceUpdate(provider="acme", model=model, output_per_mtok=400.0, allow_large_change=True))
        await eventually(lambda: book.current.get("acme", model).prices.output_per_mtok == 400.0)  # type: ignore[union-attr]
    finally:
        await feed.close()


def _event(model: str, latency_ms: float, ts_ms: int, **fields: object) -> TelemetryEvent:
    base: dict[str, object] = {
        "request_id": uuid.uuid4().hex,
        "ts_ms": ts_ms,
        "tenant": "t",
        "task_kind": "chat",
        "provider": "acme",
        "model": model,
        "region": "us-east",
        "served_from": "remote",
        "prompt_tokens": 120,
        "estimated_prompt_tokens": 100,
        "completion_tokens": 40,
        "latency_ms": latency_ms,
        "upstream_ms": latency_ms,
        "attempts": [
            AttemptRecord(provider="acme", model=model, served_from="remote", outcome="success", latency_ms=latency_ms)
        ],
    }
    base.update(fields)
    return msgspec.convert(base, TelemetryEvent, from_attributes=True)


async def test_replicas_converge_on_the_same_telemetry(nc: NATS) -> None:
    base, model = _unique_manifest()
    replicas = [_feed(nc, PriceBook.from_manifest(base)) for _ in range(2)]
    for replica in replicas:
        await replica.start()
    publisher = EventPublisher(nc=nc, logger=get_logger("test"))
    publisher.start()
    try:
        for index in range(40):
            event = _event(model, 100.0 + 10 * index, 1_700_000_000_000 + index * 1000)
            publisher.publish(subjects.telemetry("acme", model), event, msg_id=event.request_id)
        # Garbage on the telemetry subject is counted, not fatal.
        await nc.jetstream().publish(subjects.telemetry("acme", model), b"\x00garbage")
        assert await publisher.flush(10)
        await eventually(lambda: all(r.telemetry_events >= 40 and r.telemetry_rejected >= 1 for r in replicas))
        figures = [r._stats.snapshot("acme", model, "us-east") for r in replicas]
        assert figures[0] == figures[1]
        assert figures[0].live and 250 < figures[0].p50_ms < 350 and figures[0].p95_ms > figures[0].p50_ms
        assert replicas[0]._estimator.prompt_error().samples == 40
    finally:
        await publisher.close()
        for replica in replicas:
            await replica.close()


async def test_a_new_replica_replays_recent_telemetry(nc: NATS) -> None:
    base, model = _unique_manifest()
    publisher = EventPublisher(nc=nc, logger=get_logger("test"))
    publisher.start()
    for index in range(10):
        event = _event(model, 400.0, 1_700_000_000_000 + index)
        publisher.publish(subjects.telemetry("acme", model), event, msg_id=event.request_id)
    assert await publisher.flush(10)
    await publisher.close()
    book = PriceBook.from_manifest(base)
    stats = LiveStats(book)
    late = MarketFeed(nc, book, stats, TokenEstimator(), get_logger("test"), telemetry_replay_s=600)
    await late.start()
    try:
        await eventually(lambda: stats.snapshot("acme", model).samples >= 10)
        assert stats.latency_ms("acme", model, "us-east")[0] == pytest.approx(400.0, rel=0.03)
    finally:
        await late.close()


class _ModelsHandler(http.server.BaseHTTPRequestHandler):
    body: bytes = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def models_server() -> Iterator[tuple[str, type[_ModelsHandler]]]:
    handler = type("Handler", (_ModelsHandler,), {"body": b""})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v1/models", handler
    server.shutdown()
    server.server_close()


async def test_models_poller_publishes_price_changes(nc: NATS, models_server: tuple[str, type[_ModelsHandler]]) -> None:
    url, handler = models_server
    model = f"vendor/m-{uuid.uuid4().hex[:8]}"
    base = manifest(entry("openrouter", model, prices={"input_per_mtok": 1.0, "output_per_mtok": 2.0}))
    handler.body = json.dumps(
        {
            "data": [
                {"id": model, "pricing": {"prompt": "0.0000007", "completion": "0.0000021"}},
                {"id": "not/in-the-manifest", "pricing": {"prompt": "0.000001", "completion": "0.000001"}},
            ]
        }
    ).encode()
    book = PriceBook.from_manifest(base)
    feed = _feed(nc, book, poll_url=url, poll_interval_s=3600)
    await feed.start()
    try:
        await eventually(lambda: book.current.get("openrouter", model).prices.input_per_mtok == 0.7)  # type: ignore[union-attr]
        assert book.current.get("openrouter", model).prices.output_per_mtok == 2.1  # type: ignore[union-attr]
        # Unchanged prices are not published again.
        assert await feed.poll_once(nc.jetstream()) == 0
        handler.body = b"<html>oops</html>"
        assert await feed.poll_once(nc.jetstream()) == 0
        assert feed.poll_errors == 1
    finally:
        await feed.close()


async def test_poller_reports_an_unreachable_endpoint(nc: NATS) -> None:
    base, _ = _unique_manifest()
    feed = _feed(nc, PriceBook.from_manifest(base), poll_url="ftp://127.0.0.1/models")
    assert await feed.poll_once(nc.jetstream()) == 0
    assert feed.poll_errors == 1


async def test_cli_publishes_only_the_changes_of_a_manifest(nc: NATS, nats_url: str, tmp_path: Path) -> None:
    base, model = _unique_manifest()
    base_path = tmp_path / "base.json"
    base_path.write_bytes(msgspec.json.encode(base))
    book = PriceBook.from_manifest(base)
    feed = _feed(nc, book)
    await feed.start()
    try:
        changed = msgspec.structs.replace(
            base,
            prices_as_of="2025-10-01",
            models=(
                msgspec.structs.replace(
                    base.models[0], prices=msgspec.structs.replace(base.models[0].prices, input_per_mtok=0.9)
                ),
                base.models[1],
            ),
        )
        new_path = tmp_path / "new.json"
        new_path.write_bytes(msgspec.json.encode(changed))
        argv = ["pricing", "publish", str(new_path), "--nats-url", nats_url, "--manifest", str(base_path)]
        code = await asyncio.to_thread(bourse_main, argv)
        assert code == 0
        await eventually(lambda: book.current.get("acme", model).prices.input_per_mtok == 0.9)  # type: ignore[union-attr]
        applied = feed.applied
        assert applied == 1  # the unchanged model was not published
        # Publishing the same file again finds nothing to change.
        assert await asyncio.to_thread(bourse_main, argv) == 0
        bad = tmp_path / "bad.json"
        bad.write_text('{"models": [{"provider": "acme"}], "prices_as_of": "2025-01-01"}')
        assert await asyncio.to_thread(bourse_main, ["pricing", "publish", str(bad), "--nats-url", nats_url]) == 1
        assert feed.applied == applied
    finally:
        await feed.close()


def test_price_files_in_every_accepted_shape(tmp_path: Path) -> None:
    from shared.pricing.prices import message_id, parse_price_file

    listed = [{"provider": "acme", "model": "m", "input_per_mtok": 1.5}]
    assert parse_price_file(json.dumps(listed).encode())[0].input_per_mtok == 1.5
    wrapped = parse_price_file(json.dumps({"updates": listed}).encode())
    assert wrapped[0].model == "m"
    assert message_id(wrapped[0]) == message_id(parse_price_file(json.dumps(listed).encode())[0])
    for raw, match in [
        (b"{oops", "not valid JSON"),
        (json.dumps([{"provider": "acme", "model": "m", "input_per_mtok": "x"}]).encode(), "invalid price update"),
        (json.dumps({"something": "else"}).encode(), "must be a manifest"),
        (b"42", "must be a manifest"),
    ]:
        with pytest.raises(InvalidRequest, match=match):
            parse_price_file(raw)


def test_changes_keep_unknown_models_and_skip_equal_prices() -> None:
    from shared.pricing.prices import changes_against

    base, model = _unique_manifest()
    table = PriceBook.from_manifest(base).current
    same = PriceUpdate(provider="acme", model=model, input_per_mtok=1.0, output_per_mtok=2.0)
    cached_default = PriceUpdate(provider="acme", model=model, cached_input_per_mtok=1.0)  # unset -> input price
    unknown = PriceUpdate(provider="acme", model="other", input_per_mtok=1.0)
    changed = PriceUpdate(provider="acme", model=model, output_per_mtok=2.5)
    assert changes_against([same, cached_default, unknown, changed], table) == [unknown, changed]


def test_openrouter_payload_edge_cases() -> None:
    from shared.pricing.prices import updates_from_openrouter

    table = PriceBook.from_manifest(manifest(entry("openrouter", "a/b"), entry("openrouter", "c/d"))).current
    payload = {
        "data": [
            {"id": "a/b", "pricing": {"prompt": "-1", "completion": "0.000001"}},  # variable price: skipped
            {"id": "c/d", "pricing": {"prompt": "0.000001", "completion": "0.000002", "input_cache_read": "bad"}},
            "not an object",
            {"id": 7},
        ]
    }
    updates = updates_from_openrouter(json.dumps(payload).encode(), table, provider="openrouter", as_of="t")
    assert [(u.model, u.input_per_mtok, u.output_per_mtok, u.cached_input_per_mtok) for u in updates] == [
        ("c/d", 1.0, 2.0, None)
    ]
    with pytest.raises(InvalidRequest, match="no data list"):
        updates_from_openrouter(b'{"models": []}', table, provider="openrouter", as_of="t")
    with pytest.raises(InvalidRequest, match="not valid JSON"):
        updates_from_openrouter(b"<html>", table, provider="openrouter", as_of="t")


async def test_feed_on_a_closed_connection_fails_to_start(nats_url: str) -> None:
    from services.router.market import MarketError
    from shared.events.connect import connect

    closed = await connect([nats_url], get_logger("test"), name="closed")
    await closed.close()
    base, _ = _unique_manifest()
    with pytest.raises(MarketError, match="cannot follow"):
        await _feed(closed, PriceBook.from_manifest(base)).start()


def test_cli_reports_unreachable_nats_and_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shared.processes import free_port

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps([{"provider": "openai", "model": "gpt-4o-mini", "input_per_mtok": 0.1}]))
    url = f"nats://127.0.0.1:{free_port()}"
    assert bourse_main(["pricing", "publish", str(prices), "--nats-url", url]) == 1
    assert "bourse pricing publish:" in capsys.readouterr().err
    assert bourse_main(["pricing", "publish", str(tmp_path / "missing.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


async def test_cli_dry_run_publishes_nothing(
    nc: NATS, nats_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, model = _unique_manifest()
    base_path = tmp_path / "base.json"
    base_path.write_bytes(msgspec.json.encode(base))
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            [
                {"provider": "acme", "model": model, "input_per_mtok": 0.7},
                {"provider": "acme", "model": "typo", "input_per_mtok": 0.7},
            ]
        )
    )
    argv = ["pricing", "publish", str(prices), "--nats-url", nats_url, "--manifest", str(base_path), "--dry-run"]
    assert await asyncio.to_thread(bourse_main, argv) == 0
    captured = capsys.readouterr()
    assert "would publish 1 price update(s)" in captured.out
    assert "skipped 1 update(s) for models not in the manifest: acme/typo" in captured.err
    info = await nc.jetstream().stream_info("BOURSE_PRICING", subjects_filter=subjects.pricing("acme", model))
    assert not (info.state.subjects or {})
