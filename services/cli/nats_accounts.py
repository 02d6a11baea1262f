"""`bourse nats`: the NATS permission matrix, the users of a stack, and the Helm values enforcing them.

- `bourse nats matrix` prints the matrix as Markdown (docs/nats-permissions.md holds it);
- `bourse nats users DIR [--tenant T]...` writes a password file per user and DIR/nats.conf
  (`nats-server -js -c DIR/nats.conf`), as `bourse up` does;
- `bourse nats helm-values` prints the `authorization` block of deploy/nats/values.yaml: passwords are read
  from environment variables the chart fills from a Secret (NATS_PASSWORD_<USER>).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from shared.events.accounts import write_accounts
from shared.events.permissions import ROLES, Role, allow_lists, matrix_markdown, tenant_role


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("nats", help="NATS users and permissions (docs/nats-permissions.md).")
    commands = parser.add_subparsers(dest="nats_command", required=True, metavar="ACTION")
    matrix = commands.add_parser("matrix", help="print the permission matrix (Markdown)")
    matrix.set_defaults(func=run_matrix)
    users = commands.add_parser("users", help="write a password file per user and the nats-server config")
    users.add_argument("directory", type=Path, help="where to write <user>.password and nats.conf")
    users.add_argument("--tenant", action="append", default=[], help="add a tenant's own user (repeatable)")
    users.set_defaults(func=run_users)
    helm = commands.add_parser("helm-values", help="print the authorization block of the NATS Helm values")
    helm.add_argument("--tenant", action="append", default=[], help="add a tenant's own user (repeatable)")
    helm.set_defaults(func=run_helm_values)


def run_matrix(args: argparse.Namespace) -> int:
    print(matrix_markdown(), end="")
    return 0


def run_users(args: argparse.Namespace) -> int:
    accounts = write_accounts(args.directory, tenants=args.tenant)
    print(f"users and passwords in {accounts.directory}; server: nats-server -js -c {accounts.server_config}")
    return 0


def password_variable(user: str) -> str:
    return "NATS_PASSWORD_" + "".join(ch if ch.isalnum() else "_" for ch in user).upper()


def helm_authorization(roles: list[Role]) -> dict[str, Any]:
    """`config.merge.authorization` for the nats chart; `<< $VAR >>` is the chart's unquoted variable syntax."""
    users = []
    for grant in roles:
        publish, subscribe = allow_lists(grant)
        users.append(
            {
                "user": grant.name,
                "password": f"<< ${password_variable(grant.name)} >>",
                "permissions": {"publish": {"allow": publish}, "subscribe": {"allow": subscribe}},
            }
        )
    return {"users": users}


def run_helm_values(args: argparse.Namespace) -> int:
    roles = [*ROLES, *(tenant_role(tenant) for tenant in args.tenant)]
    # JSON is YAML: paste it under config.merge (no YAML library needed at run time).
    print(json.dumps({"authorization": helm_authorization(roles)}, indent=2))
    return 0
