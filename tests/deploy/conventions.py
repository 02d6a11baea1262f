"""What docs/conventions.md fixes for every service (prefix, address, health name), parsed from its table, and the
config Struct each service reads, so deploy files and `bourse up` can be checked against both."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parents[2]
GLOBAL_ENV = {"BOURSE_NATS_URL", "BOURSE_MODELS_DIR"}


@dataclass(frozen=True)
class Convention:
    name: str  # "provider_adapter"
    env_prefix: str  # "BOURSE_ADAPTER"
    port: int
    health: str  # gRPC health service name, or "" for HTTP /healthz

    @property
    def dashed(self) -> str:
        return self.name.replace("_", "-")


def conventions() -> dict[str, Convention]:
    rows: dict[str, Convention] = {}
    text = (REPO / "docs" / "conventions.md").read_text()
    for line in text.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[1].startswith("BOURSE_"):
            continue
        name = cells[0].split()[0]
        if not re.fullmatch(r"[a-z_]+", name):
            continue  # the NATS row: not a service of ours
        port = re.search(r":(\d+)", cells[2])
        if port is None:
            continue
        health = "" if "HTTP" in cells[3] else cells[3].strip("`")
        rows[name] = Convention(name=name, env_prefix=cells[1], port=int(port.group(1)), health=health)
    return rows


def config_fields(service: str) -> set[str]:
    """Field names of the config Struct in services/<service>/config.py (the Struct that has a `listen` field)."""
    module = importlib.import_module(f"services.{service}.config")
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, msgspec.Struct):
            names = {field.encode_name for field in msgspec.structs.fields(value)}
            if "listen" in names:
                return names
    raise AssertionError(f"services.{service}.config has no config Struct with a listen field")


def env_problems(service: str, env_names: set[str]) -> list[str]:
    """Env names of `service` that no config field reads (a typo would be silently ignored at start-up)."""
    convention = conventions()[service]
    fields = config_fields(service)
    problems = []
    for name in sorted(env_names):
        if name in GLOBAL_ENV or not name.startswith("BOURSE_"):
            continue
        if not name.startswith(convention.env_prefix + "_"):
            problems.append(f"{service}: {name} does not use the prefix {convention.env_prefix}")
            continue
        field = name.removeprefix(convention.env_prefix + "_").lower()
        if field not in fields:
            problems.append(f"{service}: {name} names no field of its config ({sorted(fields)})")
    return problems
