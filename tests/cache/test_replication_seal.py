"""Replicated cache entries are sealed (AES-256-GCM): NATS readers see no prompt or answer; replicas with the
key apply them, a replica with another key refuses them."""

from __future__ import annotations

from pathlib import Path

import nats.js.api as js_api
import pytest
from bourse.cache.v1 import cache_service_pb2 as cache_pb
from nats.aio.client import Client as NATS

from services.cache.core.replication_seal import ReplicationSeal, SealError, write_key
from services.cache.events import STORE
from shared.config import ConfigError
from shared.events import subjects
from tests.cache.conftest import StartCache, answer, chat, new_tenant, scope
from tests.support.eventually import eventually

SUBJECT = "bourse.cache.store.acme"


def test_a_sealed_entry_opens_only_with_its_key_and_subject(tmp_path: Path) -> None:
    seal = ReplicationSeal.from_file(str(write_key(tmp_path / "key")))
    sealed = seal.seal(b"prompt and answer", SUBJECT)
    assert b"prompt" not in sealed
    assert seal.open(sealed, SUBJECT) == b"prompt and answer"
    with pytest.raises(SealError, match="another key"):
        seal.open(sealed, "bourse.cache.store.globex")  # replayed under another tenant's subject
    with pytest.raises(SealError, match="another key"):
        ReplicationSeal(bytes(32)).open(sealed, SUBJECT)
    with pytest.raises(SealError, match="not a sealed"):
        seal.open(b"\x82plain msgpack", SUBJECT)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(SealError):
        seal.open(bytes(tampered), SUBJECT)


def test_a_bad_key_file_is_a_config_error(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abcd\n")
    with pytest.raises(ConfigError, match="32 bytes"):
        ReplicationSeal.from_file(str(short))
    with pytest.raises(ConfigError, match="cannot read"):
        ReplicationSeal.from_file(str(tmp_path / "missing"))
    not_hex = tmp_path / "not-hex"
    not_hex.write_text("zz" * 32)
    with pytest.raises(ConfigError, match="cannot read"):
        ReplicationSeal.from_file(str(not_hex))


@pytest.mark.model
async def test_nats_carries_no_plaintext_and_replicas_with_the_key_apply_it(
    start_cache: StartCache, nc: NATS, tmp_path: Path
) -> None:
    key = str(write_key(tmp_path / "replication.key"))
    _, a = await start_cache("a", replication=True, replication_key_file=key)
    _, b = await start_cache("b", replication=True, replication_key_file=key)
    other, _ = await start_cache("c", replication=True, replication_key_file=str(write_key(tmp_path / "other.key")))
    tenant = new_tenant()
    prompt, reply = "What is the launch code for project Heron?", "Heron-7731"
    await a.Store(cache_pb.StoreRequest(chat=chat(prompt), scope=scope(tenant), answer=answer(reply)))

    async def b_has_it() -> bool:
        found = await b.Lookup(cache_pb.LookupRequest(chat=chat(prompt), scope=scope(tenant)))
        return found.match == cache_pb.MATCH_KIND_EXACT

    await eventually(b_has_it)  # the replica holding the key applied the sealed entry
    events = other.events
    assert events is not None
    await eventually(lambda: events.unreadable >= 1, what="the replica with another key refused the entry")

    # What any reader of the stream gets (this connection may read everything): ciphertext only.
    subject = f"{STORE}.{subjects.token(tenant)}"
    sub = await nc.jetstream().subscribe(
        subject, ordered_consumer=True, config=js_api.ConsumerConfig(deliver_policy=js_api.DeliverPolicy.ALL)
    )
    try:
        msg = await sub.next_msg(timeout=10)
    finally:
        await sub.unsubscribe()
    assert prompt.encode() not in msg.data and b"Heron" not in msg.data
