"""NATS users on disk for a stack: one password file per user, and the nats-server configuration enforcing
the permission matrix (shared/events/permissions.py).

`bourse up` and the tests call `write_accounts`; Helm renders the same configuration (deploy/helm), with the
passwords read from a Secret through nats-server's environment variable references.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.events.credentials import NatsAuth
from shared.events.permissions import ROLES, Role, allow_lists, tenant_role


@dataclass(frozen=True)
class ServerTls:
    """TLS of the NATS client port; `verify` also asks clients for a certificate signed by `ca_file`."""

    cert_file: str
    key_file: str
    ca_file: str
    verify: bool = False


@dataclass(frozen=True)
class Accounts:
    """Where a stack's NATS users live: `<dir>/<user>.password`, and `<dir>/nats.conf` for the server."""

    directory: Path
    tls_ca_file: str = ""

    @property
    def server_config(self) -> Path:
        return self.directory / "nats.conf"

    def password_file(self, user: str) -> Path:
        return self.directory / f"{user}.password"

    def auth(self, user: str) -> NatsAuth:
        """The credential a process acting as `user` connects with."""
        return NatsAuth(user=user, password_file=str(self.password_file(user)), tls_ca_file=self.tls_ca_file)


def _quoted(values: Iterable[str]) -> str:
    return "[" + ", ".join(json.dumps(value) for value in values) + "]"


def user_block(grant: Role, password: str) -> str:
    """One `users` entry; `password` is already in config syntax (a quoted string, or a `$VARIABLE`)."""
    publish, subscribe = allow_lists(grant)
    return (
        f"    {{user: {json.dumps(grant.name)}, password: {password}, permissions: {{\n"
        f"      publish: {{allow: {_quoted(publish)}}}\n"
        f"      subscribe: {{allow: {_quoted(subscribe)}}}\n"
        f"    }}}}"
    )


def server_config(
    passwords: Mapping[str, str],
    roles: Sequence[Role],
    *,
    tls: ServerTls | None = None,
    no_auth_user: str = "",
) -> str:
    """The `authorization` (and `tls`) part of a nats-server configuration.

    `passwords` maps each user to its password in config syntax. `no_auth_user` maps clients that send no
    credential to that user (tests only: production leaves it empty, so such clients are refused).
    """
    blocks = ",\n".join(user_block(grant, passwords[grant.name]) for grant in roles)
    text = f"authorization {{\n  users = [\n{blocks}\n  ]\n}}\n"
    if no_auth_user:
        text += f"no_auth_user: {json.dumps(no_auth_user)}\n"
    if tls is not None:
        text += (
            f"tls {{\n  cert_file: {json.dumps(tls.cert_file)}\n  key_file: {json.dumps(tls.key_file)}\n"
            f"  ca_file: {json.dumps(tls.ca_file)}\n  verify: {str(tls.verify).lower()}\n  timeout: 2\n}}\n"
        )
    return text


def stack_roles(tenants: Iterable[str] = (), extra: Sequence[Role] = ()) -> list[Role]:
    return [*ROLES, *(tenant_role(tenant) for tenant in tenants), *extra]


def write_accounts(
    directory: Path,
    *,
    tenants: Iterable[str] = (),
    extra: Sequence[Role] = (),
    tls: ServerTls | None = None,
    no_auth_user: str = "",
) -> Accounts:
    """Create (or keep) a password per user, then write nats.conf; files are readable by their owner only."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    accounts = Accounts(directory, tls_ca_file=tls.ca_file if tls else "")
    roles = stack_roles(tenants, extra)
    passwords: dict[str, str] = {}
    for grant in roles:
        path = accounts.password_file(grant.name)
        if not path.exists():
            _write_private(path, secrets.token_urlsafe(32) + "\n")
        passwords[grant.name] = json.dumps(path.read_text(encoding="utf-8").strip())
    _write_private(accounts.server_config, server_config(passwords, roles, tls=tls, no_auth_user=no_auth_user))
    return accounts


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
