"""`n > 1` on chat completions: n routed requests, answered as one completion with n choices.

The router's contract is one completion per Route call (the cache, the ledger and budgets all count per
completion), so every provider gets n calls, none gets OpenAI's `n`: a choice may come from a different model
than another if the router's choice changed between calls, and the prompt is paid n times. Each call has its own
request id (`<id>`, `<id>-1`, ...), skips the cache lookup (n copies of one cached answer are not n samples) and,
when a seed is given, gets seed + i so that seeded calls still differ.
"""

from __future__ import annotations

from typing import Any, TypeVar

from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.chat_translation import micro_to_usd, route_headers, route_summary, to_completion, usage
from shared.input_bounds import BOUNDS

R = TypeVar("R", router_pb2.RouteRequest, router_pb2.RouteStreamRequest)


def choice_requests(route: R, n: int) -> list[R]:
    """The n Route (or RouteStream) requests of one `n > 1` request."""
    requests = []
    for i in range(n):
        copy = type(route)()
        copy.CopyFrom(route)
        copy.constraints.cache.no_cache = True
        if i:
            suffixed = f"{route.context.request_id}-{i}"  # correlation only: the router gives each its own id
            if len(suffixed) <= BOUNDS.request_id_max_chars:
                copy.context.request_id = suffixed
            if copy.chat.sampling.HasField("seed"):
                copy.chat.sampling.seed += i
        requests.append(copy)
    return requests


def _summed(responses: list[router_pb2.RouteResponse]) -> tuple[int, int, int]:
    cost = sum(r.cost_micro_usd for r in responses)
    saved = sum(r.saved_micro_usd for r in responses)
    attempts = sum(len(r.attempts) for r in responses)
    return cost, saved, attempts


def combined_completion(responses: list[router_pb2.RouteResponse], created: int) -> dict[str, Any]:
    """One chat.completion whose choice i is answer i; usage, cost and attempts are summed over the answers."""
    completions = [to_completion(response, created) for response in responses]
    out = completions[0]
    out["choices"] = [{**c["choices"][0], "index": i} for i, c in enumerate(completions)]
    out["usage"] = summed_usage(responses)
    cost, saved, attempts = _summed(responses)
    out["bourse"].update(
        cost_usd=micro_to_usd(cost),
        saved_usd=micro_to_usd(saved),
        attempts=attempts,
        choices=[route_summary(response) for response in responses],
    )
    return out


def summed_usage(responses: list[router_pb2.RouteResponse]) -> dict[str, Any]:
    """OpenAI's usage object over all the answers."""
    each = [usage(response.completion) for response in responses]
    total = each[0]
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        total[name] = sum(u[name] for u in each)
    total["prompt_tokens_details"]["cached_tokens"] = sum(u["prompt_tokens_details"]["cached_tokens"] for u in each)
    total["completion_tokens_details"]["reasoning_tokens"] = sum(
        u["completion_tokens_details"]["reasoning_tokens"] for u in each
    )
    return total


def combined_headers(responses: list[router_pb2.RouteResponse]) -> dict[str, str]:
    """The first answer's headers, with the cost and attempts of all of them."""
    headers = route_headers(responses[0])
    cost, _, attempts = _summed(responses)
    headers["x-bourse-cost-usd"] = micro_to_usd(cost)
    headers["x-bourse-attempts"] = str(attempts)
    return headers
