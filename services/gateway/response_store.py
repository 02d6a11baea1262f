"""Stored Responses API conversations in a NATS KV bucket with a TTL, so that `previous_response_id` works.

Off unless `responses_ttl_s` is set. A record is the conversation as a ChatRequest (its messages, the answer last),
keyed by a SHA-256 of tenant and response id: one tenant can never read another's, and ids chosen by clients
(the request id) need no escaping. Saving is best effort: the answer has been given, a failed save is logged and
a later `previous_response_id` naming it is a 404.
"""

from __future__ import annotations

import hashlib

import nats.errors
import nats.js.errors
import structlog
from bourse.common.v1 import chat_pb2
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from shared.errors import BourseError, FieldViolation, NotFound, Reason


async def open_response_bucket(js: JetStreamContext, bucket: str, ttl_s: float) -> KeyValue:
    """The conversation bucket, created on first use with its TTL (every record expires ttl_s after its write)."""
    try:
        return await js.key_value(bucket)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(KeyValueConfig(bucket=bucket, history=1, ttl=ttl_s, storage=StorageType.FILE))


def _key(tenant_id: str, response_id: str) -> str:
    return hashlib.sha256(f"{tenant_id}\x00{response_id}".encode()).hexdigest()


class ResponseStore:
    def __init__(self, kv: KeyValue, logger: structlog.typing.FilteringBoundLogger) -> None:
        self._kv = kv
        self._log = logger

    async def save(self, tenant_id: str, response_id: str, conversation: chat_pb2.ChatRequest) -> bool:
        """Store a conversation; False (logged) when it could not be stored."""
        try:
            await self._kv.put(_key(tenant_id, response_id), conversation.SerializeToString())
        except (nats.errors.Error, TimeoutError) as error:
            self._log.warning("response_not_stored", response_id=response_id, error=type(error).__name__)
            return False
        return True

    async def load(self, tenant_id: str, response_id: str) -> chat_pb2.ChatRequest:
        """The stored conversation; 404 when unknown, expired or another tenant's, 503 when NATS is away."""
        try:
            entry = await self._kv.get(_key(tenant_id, response_id))
        except nats.js.errors.KeyNotFoundError:
            entry = None
        except (nats.errors.Error, TimeoutError) as error:
            raise BourseError(
                f"the response store is unreachable: {type(error).__name__}",
                reason=Reason.RESPONSE_STORE_UNAVAILABLE,
            ) from None
        if entry is None or not entry.value:
            raise NotFound(
                f"previous response {response_id!r} not found (unknown, expired or never stored)",
                reason=Reason.PREVIOUS_RESPONSE_NOT_FOUND,
                violations=[FieldViolation("previous_response_id", "not found")],
            )
        return chat_pb2.ChatRequest.FromString(entry.value)
