"""`bourse up` over a table of stand-in services (tests/deploy/fake_service.py), as a module tests can run.

`python -m tests.deploy.fake_up RECORD STACK [up options...]`, STACK like "BOURSE_FAKEA:grpc,BOURSE_FAKEB:http".
"""

from __future__ import annotations

import sys
from pathlib import Path

from services.cli.__main__ import build_parser
from services.cli.stack import ServiceSpec
from services.cli.up import up


def fake_specs(record: Path, stack: str, trigger: Path | None = None) -> list[ServiceSpec]:
    specs = []
    for item in stack.split(","):
        prefix, mode = item.split(":")
        env = {"FAKE_PREFIX": prefix, "FAKE_MODE": mode, "FAKE_RECORD": str(record)}
        if trigger is not None:
            env["FAKE_TRIGGER"] = str(trigger)
        name = prefix.lower()
        specs.append(
            ServiceSpec(
                name=name,
                module="tests.deploy.fake_service",
                env_prefix=prefix,
                listen="127.0.0.1:0",
                grpc_health="" if mode == "http" else "fake.v1.FakeService",
                peers={"upstream_target": specs[-1].name} if specs else {},
                env=env,
            )
        )
    return specs


def main(argv: list[str]) -> int:
    record, stack, *rest = argv
    args = build_parser().parse_args(["up", *rest])
    return up(args, services=fake_specs(Path(record), stack))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
