"""Sealing replicated cache entries: AES-256-GCM with a key every cache replica reads from the same file.

A store message carries a prompt and its answer. Sealed, NATS (and anyone who can read the BOURSE_CACHE stream)
sees only ciphertext; the subject is authenticated as associated data, so a sealed entry cannot be replayed
under another tenant's subject. The key file holds 32 random bytes as 64 hex digits (`bourse up` writes one;
`python -c "import secrets; print(secrets.token_hex(32))"` makes one).
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.config import ConfigError

VERSION = b"\x01"
NONCE_BYTES = 12  # random per message: 2^32 messages per key keep the collision chance negligible


class SealError(ValueError):
    """A message that is not sealed with this key, or was altered."""


class ReplicationSeal:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ConfigError("the cache replication key must be 32 bytes (64 hex digits)")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: str) -> ReplicationSeal:
        try:
            text = Path(path).read_text(encoding="ascii").strip()
            key = bytes.fromhex(text)
        except (OSError, ValueError) as error:
            raise ConfigError(f"cannot read the cache replication key from {path}: {error}") from error
        return cls(key)

    def seal(self, plaintext: bytes, subject: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + nonce + self._aead.encrypt(nonce, plaintext, subject.encode())

    def open(self, sealed: bytes, subject: str) -> bytes:
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
            raise SealError("not a sealed cache entry")
        nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, subject.encode())
        except InvalidTag as error:
            raise SealError("sealed with another key, or altered") from error


def write_key(path: Path) -> Path:
    """Create a new random key file (owner-only), unless one exists."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(os.urandom(32).hex() + "\n")
    return path
