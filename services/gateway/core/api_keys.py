"""Virtual API keys: the key format, hashing and verification. No storage here (see key_store.py).

A key reads `bsk_<key id>_<secret>`: the key id (16 hex digits) is public and names the stored record, so a
lookup is one get by id, never a scan. Only the SHA-256 of the whole key is stored; the secret has 256 bits of
entropy, so an unsalted fast hash is enough (there is nothing to brute-force). Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

import msgspec

from shared.errors import Reason, Unauthenticated

PREFIX = "bsk_"
KEY_ID_HEX = 16
_KEY_ID_RE = re.compile(r"[0-9a-f]{16}")
_KEY_RE = re.compile(r"bsk_([0-9a-f]{16})_[A-Za-z0-9_\-]*")
_TENANT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")


class KeyRecord(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the key store holds for one key (never the key itself)."""

    key_id: str
    tenant_id: str
    key_sha256: str
    name: str = ""
    created_ms: int = 0
    revoked_ms: int = 0

    @property
    def revoked(self) -> bool:
        return self.revoked_ms > 0


class IssuedKey(msgspec.Struct, kw_only=True):
    """A freshly created key: the secret is shown once and never stored."""

    key: str
    record: KeyRecord


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def valid_tenant(tenant_id: str) -> bool:
    return _TENANT_RE.fullmatch(tenant_id) is not None


def issue_key(tenant_id: str, name: str = "", now_ms: int | None = None) -> IssuedKey:
    """Make a new random key for `tenant_id` and the record to store for it."""
    key_id = secrets.token_hex(KEY_ID_HEX // 2)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    record = KeyRecord(
        key_id=key_id,
        tenant_id=tenant_id,
        key_sha256=hash_key(key),
        name=name,
        created_ms=int(time.time() * 1000) if now_ms is None else now_ms,
    )
    return IssuedKey(key=key, record=record)


def key_id_of(key: str) -> str:
    """The key id inside a presented key; Unauthenticated when the key is not of Bourse's form."""
    key_id = key[len(PREFIX) : len(PREFIX) + KEY_ID_HEX]
    if (
        not key.startswith(PREFIX)
        or len(key) <= len(PREFIX) + KEY_ID_HEX + 1
        or key[len(PREFIX) + KEY_ID_HEX] != "_"
        or _KEY_ID_RE.fullmatch(key_id) is None
    ):
        raise Unauthenticated("invalid API key", reason=Reason.INVALID_API_KEY)
    return key_id


def verify(key: str, record: KeyRecord | None) -> KeyRecord:
    """The record if `key` matches it and is not revoked; Unauthenticated otherwise (same message for all)."""
    if record is None or not hmac.compare_digest(hash_key(key), record.key_sha256) or record.revoked:
        raise Unauthenticated("invalid API key", reason=Reason.INVALID_API_KEY)
    return record


def redact(text: str) -> str:
    """`text` with the secret part of every Bourse key in it replaced (the key id stays, for tracing)."""
    return _KEY_RE.sub(r"bsk_\1_[redacted]", text)


def bearer_token(authorization: str | None) -> str:
    """The key from an `Authorization: Bearer <key>` header; Unauthenticated when absent or malformed."""
    if not authorization:
        raise Unauthenticated(
            "missing API key: send it as 'Authorization: Bearer <key>'", reason=Reason.MISSING_API_KEY
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or not token.isascii():
        raise Unauthenticated("malformed Authorization header: expected 'Bearer <key>'", reason=Reason.INVALID_API_KEY)
    return token
