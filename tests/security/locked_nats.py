"""A nats-server running the production permission matrix (no anonymous user), and clients connected as any
of its users, recording what the server refuses them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client as NATS

from shared.events.accounts import Accounts, write_accounts
from shared.events.credentials import connect_options
from shared.processes import NatsServer
from tests.support.eventually import eventually

TENANTS = ("acme", "globex", "*", ">")


@dataclass
class LockedNats:
    url: str
    accounts: Accounts


@dataclass
class Client:
    """A connection as one user; `errors` collects what the server sent back (permission violations)."""

    user: str
    nc: NATS
    errors: list[str] = field(default_factory=list)

    async def refused(self, operation: str, subject: str) -> None:
        """Wait until the server has refused `operation` ("publish" or "subscription") on `subject`."""
        wanted = f'permissions violation for {operation} to "{subject}"'.lower()  # nats-py lowercases it
        await self.nc.flush()
        await eventually(
            lambda: any(wanted in error.lower() for error in self.errors),
            timeout_s=5,
            what=lambda: f"{self.user}: {wanted!r} among {self.errors}",
        )

    def refusals(self) -> list[str]:
        return [error for error in self.errors if "permissions violation" in error.lower()]


@contextmanager
def locked_nats(directory: Path) -> Iterator[LockedNats]:
    accounts = write_accounts(directory / "accounts", tenants=TENANTS)
    server = NatsServer(data_dir=directory / "data", config_file=accounts.server_config)
    server.start()
    try:
        yield LockedNats(server.url, accounts)
    finally:
        server.stop()


async def connect_as(locked: LockedNats, user: str) -> Client:
    client = Client(user, NATS())
    errors = client.errors

    async def on_error(error: Exception) -> None:
        errors.append(str(error))

    client.nc = await nats.connect(
        servers=[locked.url],
        name=f"test-{user}",
        allow_reconnect=False,
        error_cb=on_error,
        **connect_options(locked.accounts.auth(user)),
    )
    return client
