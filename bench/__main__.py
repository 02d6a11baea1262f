"""List the benchmarks (`python -m bench`) or run some (`python -m bench route_overhead cache_speed`).

Each benchmark is a module of this package, runnable on its own as `python -m bench.<name>`; its docstring says
what it measures and which docs page holds the results.
"""

from __future__ import annotations

import importlib
import pkgutil
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
NOT_BENCHMARKS = {"__main__", "ledger_fixtures", "gateway_null_router", "local_eval_templates"}


def benchmarks() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name not in NOT_BENCHMARKS)


def main(argv: list[str]) -> int:
    names = benchmarks()
    if not argv:
        for name in names:
            doc = (importlib.import_module(f"bench.{name}").__doc__ or "").strip().splitlines()
            print(f"{name:24} {doc[0] if doc else ''}")
        print("\nrun one: python -m bench.<name>   (or: python -m bench <name> [<name> ...])")
        return 0
    unknown = [name for name in argv if name not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in argv:
        sys.argv = [f"bench.{name}"]
        runpy.run_module(f"bench.{name}", run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
