"""User regexes: RE2 (what the router runs) against Python's backtracking `re` on nested quantifiers.

    python -m bench.user_regex

`(a+)+$` on "a" * n + "!": `re` doubles its time with each character (measured up to n = 24 only), RE2 stays
linear (measured up to 50,000 characters). Results in docs/nats-permissions.md ("Regexes").
"""

from __future__ import annotations

import re
import statistics
import time

from services.router.api import PatternCompiler

PATTERN = r"(a+)+$"


def _ms(run: object, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    backtracking = re.compile(PATTERN)
    linear = PatternCompiler().compile(PATTERN)
    print(f"pattern {PATTERN!r} against 'a' * n + '!' (median of 5)")
    for n in (16, 20, 22, 24):
        text = "a" * n + "!"
        slow, fast = _ms(lambda t=text: backtracking.search(t), 3), _ms(lambda t=text: linear.search(t))
        print(f"  n={n:>9}  re {slow:10.2f} ms   RE2 {fast:8.4f} ms")
    for n in (1_000, 50_000, 1_000_000):
        text = "a" * n + "!"
        print(f"  n={n:>9}  re (not run: 2^n steps)   RE2 {_ms(lambda t=text: linear.search(t)):8.3f} ms")


if __name__ == "__main__":
    main()
