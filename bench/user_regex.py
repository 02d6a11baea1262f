"""User regexes: RE2 (what the router runs) against Python's backtracking `re` on nested quantifiers.

    python -m bench.user_regex

`(a+)+$` on "a" * n + "!": `re` doubles its time with each character (measured up to n = 24 only), RE2 stays
linear (measured up to 50,000 characters). Then what the router does with such input, in process: refusing a
pattern RE2 cannot run, and judging a 50,000-character answer against `(a+)+$` and a uniqueItems schema.
Results in docs/nats-permissions.md ("Regexes").
"""

from __future__ import annotations

import json
import re
import statistics
import time

from bourse.common.v1 import chat_pb2
from bourse.router.v1 import router_service_pb2 as pb

from services.router.api import OutputRules, OutputValidator, PatternCompiler, validate_request
from shared.errors import InvalidRequest

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


def _refuse(chat: chat_pb2.ChatRequest, constraints: pb.RoutingConstraints) -> None:
    try:
        validate_request(chat, constraints, pb.RequestContext(), has_chat=True, knows_model=lambda _: True)
    except InvalidRequest:
        return
    raise AssertionError("not refused")


def router_paths() -> None:
    user = chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text="x")])
    chat = chat_pb2.ChatRequest(messages=[user])
    backref = pb.RoutingConstraints(output_pattern=r"(a)\1")
    print(f"refuse output_pattern (a)\\1 at the door      {_ms(lambda: _refuse(chat, backref), 50):8.3f} ms")
    validator = OutputValidator()
    answer = chat_pb2.ChatCompletion(content="a" * 50_000 + "!")
    nested = OutputRules(pattern=PATTERN)
    print(f"judge a 50k answer against (a+)+$              {_ms(lambda: validator.check(nested, answer), 50):8.3f} ms")
    unique = OutputRules(
        format_type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_SCHEMA, json_schema=json.dumps({"uniqueItems": True})
    )
    items = chat_pb2.ChatCompletion(content=json.dumps([{"n": i} for i in range(50_000)]))
    print(f"judge 50k objects against uniqueItems          {_ms(lambda: validator.check(unique, items), 5):8.1f} ms")


if __name__ == "__main__":
    main()
    router_paths()
