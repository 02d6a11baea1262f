"""Loading the documented provider examples in tests/fixtures/providers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "providers"


def fixture(dialect: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / dialect / name).read_text())
    return data


def body_bytes(dialect: str, name: str) -> bytes:
    return json.dumps(fixture(dialect, name)["body"]).encode()


def sse_bytes(dialect: str, name: str) -> bytes:
    return (FIXTURES / dialect / name).read_bytes()


def error_fixtures() -> list[tuple[str, str]]:
    return sorted((p.parent.name, p.name) for p in FIXTURES.glob("*/error_*.json"))
