"""Write the JSON Schema of every event payload (shared/events/schemas.py) to schemas/events/<kind>.json.

Subscribers in any language validate events against these files. `--check` compares instead of writing and
exits 1 when a committed schema is stale (CI and tests/events/test_event_schemas.py run it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from shared.events.schemas import EVENT_TYPES

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "schemas" / "events"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def render(kind: str, struct: type[msgspec.Struct]) -> str:
    schema: dict[str, Any] = msgspec.json.schema(struct)
    document = {
        "$schema": DIALECT,
        "$id": f"https://bourse.dev/schemas/events/{kind}.json",
        "title": struct.__name__,
        **schema,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def expected() -> dict[str, str]:
    return {f"{kind}.json": render(kind, struct) for kind, struct in EVENT_TYPES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the files differ instead of writing them")
    parser.add_argument("--out", type=Path, default=OUT, help="directory of the schema files")
    args = parser.parse_args(argv)
    files = expected()
    if args.check:
        stale = [name for name, text in files.items() if _read(args.out / name) != text]
        extra = sorted(p.name for p in args.out.glob("*.json") if p.name not in files) if args.out.exists() else []
        for name in stale:
            print(f"stale: {args.out / name}", file=sys.stderr)
        for name in extra:
            print(f"no such event type: {args.out / name}", file=sys.stderr)
        if stale or extra:
            print("run: python scripts/gen_event_schemas.py", file=sys.stderr)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    return 0


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main())
