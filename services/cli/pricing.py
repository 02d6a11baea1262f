"""`bourse pricing publish FILE`: publish the price changes of a manifest, price list or LiteLLM map on NATS.

The command rebuilds the price table every router holds (the base manifest plus the retained feed), publishes
only the updates that change it (or every one with --all), and waits for JetStream to store each one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import msgspec
import nats
import nats.errors

from services.cli import pricing_refresh
from services.router.api import (
    MarketError,
    PriceBook,
    changes_against,
    decode_update,
    default_manifest_path,
    encode_update,
    load_manifest,
    message_id,
    parse_price_file,
    read_price_history,
)
from shared.errors import BourseError, InvalidRequest
from shared.events import streams, subjects
from shared.events.schemas import PriceUpdate

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pricing", help="Refresh the manifest from a price map, or publish prices on the NATS pricing feed."
    )
    commands = parser.add_subparsers(dest="pricing_command", required=True, metavar="ACTION")
    publish = commands.add_parser(
        "publish", help="Publish the price changes of a manifest, a list of price updates, or a LiteLLM price map."
    )
    publish.add_argument("file", type=Path, help="manifest, price-update list, or LiteLLM price map (JSON)")
    publish.add_argument(
        "--nats-url", default=os.environ.get("BOURSE_NATS_URL", DEFAULT_NATS_URL), help="NATS server URL"
    )
    publish.add_argument("--manifest", default="", help="the routers' base manifest (default: the packaged manifest)")
    publish.add_argument("--all", action="store_true", help="publish every price, changed or not")
    publish.add_argument(
        "--allow-large-change", action="store_true", help="mark updates that move a price by more than 100x as intended"
    )
    publish.add_argument("--source", default="", help="who publishes (recorded in each update)")
    publish.add_argument("--dry-run", action="store_true", help="print what would be published, publish nothing")
    publish.set_defaults(func=run_publish)
    pricing_refresh.register(commands)


def run_publish(args: argparse.Namespace) -> int:
    try:
        updates = read_updates(args.file, source=args.source, allow_large_change=args.allow_large_change)
        published = asyncio.run(publish_updates(args, updates))
    except (BourseError, MarketError, OSError, nats.errors.Error) as error:
        message = error.message if isinstance(error, BourseError) else str(error) or repr(error)
        print(f"bourse pricing publish: {message}", file=sys.stderr)
        return 1
    verb = "would publish" if args.dry_run else "published"
    print(f"{verb} {len(published)} price update(s)")
    for update in published:
        print(f"  {update.provider}/{update.model}: in {update.input_per_mtok} out {update.output_per_mtok} USD/Mtok")
    return 0


def read_updates(path: Path, *, source: str = "", allow_large_change: bool = False) -> list[PriceUpdate]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InvalidRequest(f"cannot read {path}: {error}") from error
    updates = parse_price_file(raw, source=source or f"bourse pricing publish {path.name}")
    if allow_large_change:
        updates = [msgspec.structs.replace(update, allow_large_change=True) for update in updates]
    return updates


async def publish_updates(args: argparse.Namespace, updates: list[PriceUpdate]) -> list[PriceUpdate]:
    """Publish the updates that change the routers' table (all of them with --all); returns those."""
    book = PriceBook.from_manifest(load_manifest(args.manifest or default_manifest_path()))
    # A one-shot command: fail fast instead of reconnecting forever like the services do.
    nc = await nats.connect(
        servers=[args.nats_url],
        name="bourse-pricing",
        connect_timeout=3,
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.1,
        error_cb=_quiet,
    )
    try:
        js = nc.jetstream()
        await streams.ensure_streams(js, (streams.PRICING,))
        history, _ = await read_price_history(js)
        retained: list[PriceUpdate] = []
        for msg in history:
            try:
                retained.append(decode_update(msg.data))
            except InvalidRequest:
                continue  # routers reject it as well
        book.apply_many(retained)
        table = book.current
        # Routers reject prices of models missing from their manifest: say so here instead of publishing them.
        unknown = [f"{u.provider}/{u.model}" for u in updates if table.get(u.provider, u.model) is None]
        if unknown:
            shown = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            print(f"skipped {len(unknown)} update(s) for models not in the manifest: {shown}", file=sys.stderr)
        known = [u for u in updates if table.get(u.provider, u.model) is not None]
        chosen = known if args.all else changes_against(known, table)
        if not args.dry_run:
            for update in chosen:
                await js.publish(
                    subjects.pricing(update.provider, update.model),
                    encode_update(update),
                    headers={"Nats-Msg-Id": message_id(update)},
                )
    finally:
        await nc.drain()
    return chosen


async def _quiet(error: Exception) -> None:
    """The command reports connection failures itself (once, on stderr)."""
