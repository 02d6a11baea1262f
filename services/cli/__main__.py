"""The `bourse` command. Each subcommand lives in its own module with a `register(subparsers)` function."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Subcommand modules, in help order. A module registers its parser and sets `func(args) -> int`.
SUBCOMMANDS: Sequence[str] = (
    "services.cli.up",
    "services.cli.route",
    "services.cli.pricing",
    "services.cli.models",
    "services.cli.keys",
    "services.cli.nats_accounts",
    "services.cli.report",
    "services.cli.routing",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bourse", description="Cost-aware router for LLM requests.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
