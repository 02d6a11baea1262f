"""Generate Python code (messages, gRPC stubs, type stubs) from protos/ into gen/python/.

One command, deterministic output: `python scripts/gen_protos.py`. CI runs it and fails on a diff.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ROOT / "protos"
OUT = ROOT / "gen" / "python"


def main() -> int:
    shutil.rmtree(OUT / "bourse", ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    files = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTOS}",
        f"-I{include}",
        f"--python_out={OUT}",
        f"--pyi_out={OUT}",
        f"--grpc_python_out={OUT}",
        *files,
    ]
    code = protoc.main(args)
    if code != 0:
        return int(code)
    # Packages, so `import bourse.router.v1.router_service_pb2` works from the installed tree.
    for directory in sorted({p.parent for p in (OUT / "bourse").rglob("*.py")}):
        node = directory
        while node != OUT:
            (node / "__init__.py").touch()
            node = node.parent
    (OUT / "bourse" / "py.typed").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
