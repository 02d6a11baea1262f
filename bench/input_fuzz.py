"""The long run of the input property tests: gateway request decoding and router request validation, with
BOURSE_FUZZ_SCALE times the examples `make test` runs (1,300; default scale 20: about 26,000).

    python -m bench.input_fuzz [--scale 20]

A failure prints Hypothesis's shrunk example and exits non-zero; docs/nats-permissions.md ("Fuzzing") holds
the last run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

MODULES = (
    "tests/gateway/test_input_fuzz.py",
    "tests/gateway/test_api_input_fuzz.py",
    "tests/router/test_request_fuzz.py",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20, help="times the examples of `make test`")
    args = parser.parse_args()
    env = {**os.environ, "BOURSE_FUZZ_SCALE": str(args.scale)}
    worst = 0
    for module in MODULES:
        started = time.perf_counter()
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--timeout=3600", module]
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        took = time.perf_counter() - started
        summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"{module:42} scale {args.scale:3}  {took:7.1f} s  {summary}")
        if result.returncode != 0:
            print(result.stdout[-4000:])
            worst = result.returncode
    return worst


if __name__ == "__main__":
    sys.exit(main())
