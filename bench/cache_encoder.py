"""Encoder latency per compute type and CTranslate2 CPU backend (the backend is fixed when ctranslate2 is first
imported, so each variant runs in its own interpreter).

    python -m bench.cache_encoder                 # every variant
    python -m bench.cache_encoder int8 0          # one: compute type, CT2_USE_MKL
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np

VARIANTS = [("int8", "0"), ("float32", "0"), ("int16", "1"), ("int8", "1"), ("float32", "1")]
QUERIES = [
    "How do I reset my password?",
    "What is the refund policy for annual plans?",
    "How do I convert Celsius to Fahrenheit in Python quickly?",
    "Which regions does the service run in, and how do I pick one?",
]


def measure(compute_type: str) -> str:
    from shared.embedding.convert import ensure_minilm
    from shared.embedding.encoder import SentenceEncoder

    encoder = SentenceEncoder(ensure_minilm(), compute_type=compute_type, intra_threads=2)
    for _ in range(10):
        encoder.embed(QUERIES[:1])
    samples = []
    for i in range(200):
        start = time.perf_counter()
        encoder.embed([QUERIES[i % len(QUERIES)]])
        samples.append(time.perf_counter() - start)
    ms = np.array(samples) * 1000
    return f"p50 {np.percentile(ms, 50):.2f} ms, p99 {np.percentile(ms, 99):.2f} ms"


def main() -> None:
    if len(sys.argv) == 3:
        print(measure(sys.argv[1]))
        return
    for compute_type, mkl in VARIANTS:
        env = {**os.environ, "CT2_USE_MKL": mkl}
        result = subprocess.run(
            [sys.executable, "-m", "bench.cache_encoder", compute_type, mkl],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        backend = "MKL" if mkl == "1" else "default (oneDNN)"
        outcome = result.stdout.strip() or result.stderr.strip().splitlines()[-1]
        print(f"embed one query, {compute_type}, backend {backend}: {outcome}")


if __name__ == "__main__":
    main()
