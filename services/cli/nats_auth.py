"""The NATS credential of a one-shot CLI command (`bourse keys`, `bourse pricing`).

`--nats-user` and `--nats-password-file` (env BOURSE_NATS_USER, BOURSE_NATS_PASSWORD_FILE) name it directly;
otherwise, with BOURSE_NATS_ACCOUNTS set to the account directory `bourse up` wrote, the command uses the user
of its role there (`keys` for key records, `pricing` for prices). Neither: no credential (an open NATS).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from shared.events.credentials import NatsAuth


def add_arguments(parser: argparse.ArgumentParser, role: str) -> None:
    parser.add_argument(
        "--nats-user", default=os.environ.get("BOURSE_NATS_USER", ""), help="NATS user (env BOURSE_NATS_USER)"
    )
    parser.add_argument(
        "--nats-password-file",
        default=os.environ.get("BOURSE_NATS_PASSWORD_FILE", ""),
        help="file holding the NATS user's password (env BOURSE_NATS_PASSWORD_FILE)",
    )
    parser.add_argument(
        "--nats-ca-file",
        default=os.environ.get("BOURSE_NATS_CA_FILE", ""),
        help="CA certificate of a NATS server with TLS (env BOURSE_NATS_CA_FILE)",
    )
    parser.set_defaults(nats_role=role)


def auth_from_args(args: argparse.Namespace, environ: Any = None) -> NatsAuth:
    env = os.environ if environ is None else environ
    if args.nats_user:
        return NatsAuth(user=args.nats_user, password_file=args.nats_password_file, tls_ca_file=args.nats_ca_file)
    accounts = env.get("BOURSE_NATS_ACCOUNTS", "")
    if accounts:
        password_file = Path(accounts) / f"{args.nats_role}.password"
        ca_file = args.nats_ca_file or _stack_ca(Path(accounts))
        return NatsAuth(user=args.nats_role, password_file=str(password_file), tls_ca_file=ca_file)
    return NatsAuth(tls_ca_file=args.nats_ca_file)


def _stack_ca(accounts: Path) -> str:
    """The CA `bourse up` gave its nats-server, when it runs with TLS."""
    candidate = accounts / "tls" / "ca.crt"
    return str(candidate) if candidate.exists() else ""
