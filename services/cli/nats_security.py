"""The embedded nats-server of `bourse up` with users, the permission matrix and TLS, and each service's
credential for it (docs/nats-permissions.md).

Everything lives in one owner-only directory beside the JetStream data (`var/nats-accounts` by default): a
password file per NATS user, `nats.conf`, a development CA and the server's certificate under `tls/`, and the
cache's replication key. Files that exist are kept, so restarts reuse the same credentials.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from services.cache.api import write_replication_key
from shared.events.accounts import Accounts, ServerTls, write_accounts
from shared.tls.dev_ca import write_dev_pki

# Service name (services/cli/stack.py) -> its NATS user (shared/events/permissions.py).
SERVICE_USERS = {"router": "router", "gateway": "gateway", "ledger": "ledger", "cache": "cache"}


@dataclass(frozen=True)
class NatsSecurity:
    directory: Path

    @property
    def server_config(self) -> Path:
        return self.directory / "nats.conf"

    @property
    def ca_file(self) -> Path:
        return self.directory / "tls" / "ca.crt"

    @property
    def cache_key_file(self) -> Path:
        return self.directory / "cache-replication.key"

    def accounts(self) -> Accounts:
        return Accounts(self.directory, tls_ca_file=str(self.ca_file))

    def service_env(self, service: str, env_prefix: str) -> dict[str, str]:
        """`<PREFIX>_NATS_AUTH` (and the cache's replication key) for a service that uses NATS."""
        auth = self.accounts().auth(SERVICE_USERS[service])
        env = {f"{env_prefix}_NATS_AUTH": json.dumps({f: getattr(auth, f) for f in auth.__struct_fields__})}
        if service == "cache":
            env[f"{env_prefix}_REPLICATION_KEY_FILE"] = str(self.cache_key_file)
        return env

    def prepare(self) -> None:
        """Write what is missing: CA and server certificate, passwords, nats.conf, the cache key."""
        pki = write_dev_pki(self.directory / "tls", identities=("nats",))
        tls = ServerTls(cert_file=str(pki.cert("nats")), key_file=str(pki.key("nats")), ca_file=str(pki.ca_cert))
        write_accounts(self.directory, tls=tls)
        write_replication_key(self.cache_key_file)
