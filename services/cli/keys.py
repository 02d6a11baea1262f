"""`bourse keys create|revoke|list`: virtual API keys of the gateway, stored hashed in NATS KV.

The secret is printed once by `create` and never stored or shown again; `list` shows key ids only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import Any

import msgspec
import nats
import nats.errors

from services.gateway.api import GatewayConfig, KeyRecord, KeyStore, issue_key, open_bucket, valid_tenant
from shared.errors import BourseError
from shared.logging import configure_logging, get_logger


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("keys", help="Create, revoke and list the gateway's virtual API keys.")
    parser.add_argument(
        "--nats-url",
        default=os.environ.get("BOURSE_NATS_URL", GatewayConfig().nats_url),
        help="NATS server holding the key bucket (env BOURSE_NATS_URL)",
    )
    parser.add_argument("--bucket", default=GatewayConfig().keys_bucket, help="NATS KV bucket of the keys")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key for a tenant and print it (shown only once)")
    create.add_argument("--tenant", required=True, help="tenant the key's spend is charged to")
    create.add_argument("--name", default="", help="a label for the key (who or what uses it)")
    create.add_argument("--json", action="store_true", help="print the key and its record as JSON")
    revoke = actions.add_parser("revoke", help="revoke a key by its id; every gateway refuses it from then on")
    revoke.add_argument("key_id", help="the key id (the 16 hex digits after 'bsk_')")
    listing = actions.add_parser("list", help="list keys (ids, tenants, state; never the secrets)")
    listing.add_argument("--tenant", default="", help="only this tenant's keys")
    listing.add_argument("--json", action="store_true", help="print JSON lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configure_logging("error", json=False, stream=sys.stderr)  # stdout carries only the command's output
    try:
        return asyncio.run(_run(args))
    except BourseError as error:
        print(f"bourse keys: {error.message}", file=sys.stderr)
        return 1
    except (OSError, nats.errors.Error) as error:
        print(f"bourse keys: cannot reach NATS at {args.nats_url}: {error or type(error).__name__}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace) -> int:
    logger = get_logger("cli")
    # A one-shot command: fail fast when NATS is not there instead of reconnecting forever like a service.
    nc = await nats.connect(
        servers=[args.nats_url],
        name="bourse-keys",
        connect_timeout=3,
        allow_reconnect=False,
        max_reconnect_attempts=1,  # 0 would mean "no limit"
        reconnect_time_wait=0.2,
        error_cb=_quiet,  # the failure is reported once, below, not as a traceback per attempt
    )
    try:
        store = KeyStore(await open_bucket(nc.jetstream(), args.bucket), logger)
        if args.action == "create":
            return await _create(store, args)
        if args.action == "revoke":
            record = await store.revoke(args.key_id, int(time.time() * 1000))
            print(f"revoked {record.key_id} (tenant {record.tenant_id})")
            return 0
        return await _list(store, args)
    finally:
        await nc.drain()


async def _quiet(_error: Exception) -> None:
    return None


async def _create(store: KeyStore, args: argparse.Namespace) -> int:
    if not valid_tenant(args.tenant):
        print(
            "bourse keys: a tenant id is 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
            file=sys.stderr,
        )
        return 2
    issued = issue_key(args.tenant, args.name)
    await store.put(issued.record)
    if args.json:
        print(msgspec.json.encode({"key": issued.key, **_public(issued.record)}).decode())
    else:
        print(issued.key)
        print(
            f"key id {issued.record.key_id}, tenant {args.tenant}: store the key now, it is not shown again",
            file=sys.stderr,
        )
    return 0


async def _list(store: KeyStore, args: argparse.Namespace) -> int:
    records = [r for r in await store.list() if not args.tenant or r.tenant_id == args.tenant]
    for record in records:
        if args.json:
            print(msgspec.json.encode(_public(record)).decode())
        else:
            state = "revoked" if record.revoked else "active"
            print(f"{record.key_id}  {record.tenant_id:<24} {state:<8} {record.name}")
    return 0


def _public(record: KeyRecord) -> dict[str, Any]:
    """A record without its hash (not secret, but of no use to anyone reading a listing)."""
    data = msgspec.structs.asdict(record)
    data.pop("key_sha256")
    data["revoked"] = record.revoked
    return data
