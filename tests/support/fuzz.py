"""How many examples each property test runs: its default in `make test`, times BOURSE_FUZZ_SCALE for the long
run (`python -m bench.input_fuzz`)."""

from __future__ import annotations

import os


def fuzz_examples(default: int) -> int:
    return default * max(1, int(os.environ.get("BOURSE_FUZZ_SCALE", "1")))
