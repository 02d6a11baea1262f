"""The one error taxonomy for provider responses: HTTP status + headers + the provider's body -> UpstreamError.

Each dialect extracts (message, code) from its own error body; the classification and Retry-After parsing
are shared here so that every provider maps the same way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from shared.errors import Reason, UpstreamError

# Phrases in error bodies that mean "the prompt does not fit the model's context window", by provider.
_CONTEXT_PATTERNS = re.compile(
    r"context[_ ]length|maximum context|context window|prompt is too long|input token count"
    r"|exceeds the maximum number of tokens|too many (input )?tokens|reduce the length of the messages",
    re.IGNORECASE,
)
_CONTENT_FILTER_CODES = frozenset(
    {"content_filter", "content_policy_violation", "content_filtered", "safety", "prohibited_content"}
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

Clock = Callable[[], float]


def wall_clock() -> float:
    """Now, as Unix time; absolute reset times (HTTP dates, epochs) are measured from it."""
    return time.time()


def parse_duration(text: str) -> float | None:
    """OpenAI/Groq reset durations ("1s", "6m0s", "20ms", "1h2m3.5s") and Google's "26s" / "0.5s"."""
    text = text.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    pos = 0
    total = 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return total if pos == len(text) and pos > 0 else None


def _parse_moment(text: str, now: float) -> float | None:
    """An absolute time (HTTP date, RFC 3339, or epoch seconds/milliseconds) as seconds from now."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if number > 1e11:  # epoch milliseconds (OpenRouter's X-RateLimit-Reset)
        return max(0.0, number / 1000 - now)
    if number > 1e9:
        return max(0.0, number - now)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return max(0.0, moment.timestamp() - now)
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def retry_after_seconds(
    headers: Mapping[str, str], body_delay: str | None = None, clock: Clock | None = None
) -> float | None:
    """When the provider said to retry, in seconds; None when it did not say.

    Precedence: retry-after-ms, Retry-After (seconds or HTTP date), a delay in the body (Google RetryInfo),
    then reset headers (x-ratelimit-reset-requests/-tokens durations, anthropic-ratelimit-*-reset RFC 3339,
    x-ratelimit-reset epoch), taking the latest reset since any exhausted limit blocks the call.
    """
    clock = clock or wall_clock
    lower = {k.lower(): v for k, v in headers.items()}
    value = lower.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value:
        seconds = parse_duration(value)
        if seconds is None:
            seconds = _parse_moment(value, clock())
        if seconds is not None:
            return seconds
    if body_delay:
        seconds = parse_duration(body_delay)
        if seconds is not None:
            return seconds
    resets = _reset_delays(lower, clock())
    return max(resets) if resets else None


_DURATION_RESETS = ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
_MOMENT_RESETS = (
    "anthropic-ratelimit-requests-reset",
    "anthropic-ratelimit-tokens-reset",
    "anthropic-ratelimit-input-tokens-reset",
    "anthropic-ratelimit-output-tokens-reset",
    "x-ratelimit-reset",
)


def _reset_delays(lower: Mapping[str, str], now: float) -> list[float]:
    delays = [parse_duration(lower[name]) for name in _DURATION_RESETS if name in lower]
    delays += [_parse_moment(lower[name], now) for name in _MOMENT_RESETS if name in lower]
    return [delay for delay in delays if delay is not None]


@dataclass(frozen=True, slots=True)
class _Rule:
    """HTTP statuses or provider codes that mean one reason; `retry` rules carry the provider's retry delay."""

    reason: Reason
    label: str
    statuses: frozenset[int] = frozenset()
    codes: frozenset[str] = frozenset()
    retry: bool = False


# First match wins; the context-length and content-filter checks need the message and come between.
_HEAD_RULES = (
    _Rule(
        Reason.RATE_LIMITED,
        "rate limited",
        frozenset({429}),
        frozenset({"rate_limit_error", "rate_limit_exceeded", "resource_exhausted"}),
        retry=True,
    ),
    _Rule(
        Reason.OVERLOADED,
        "overloaded",
        frozenset({503, 529}),
        frozenset({"overloaded_error", "unavailable", "overloaded"}),
        retry=True,
    ),
    _Rule(
        Reason.AUTHENTICATION,
        "authentication failed",
        frozenset({401}),
        frozenset({"authentication_error", "invalid_api_key", "unauthenticated", "api_key_invalid"}),
    ),
    _Rule(
        Reason.PERMISSION, "permission denied", frozenset({403}), frozenset({"permission_error", "permission_denied"})
    ),
    # 402: the account behind our key has no credit left (relays such as OpenRouter, TokenMix); others may work.
    _Rule(
        Reason.PERMISSION,
        "payment required",
        frozenset({402}),
        frozenset({"insufficient_quota", "insufficient_balance"}),
    ),
    _Rule(Reason.CONTENT_FILTERED, "content filtered", codes=_CONTENT_FILTER_CODES),
)
_TAIL_RULES = (
    _Rule(Reason.READ_TIMEOUT, "provider timed out", frozenset({408})),
    # The model or endpoint does not exist at this provider; another provider may still serve the request.
    _Rule(Reason.UPSTREAM_ERROR, "not found", frozenset({404})),
    _Rule(Reason.INVALID_REQUEST, "invalid request", frozenset(range(400, 500))),
    _Rule(Reason.UPSTREAM_5XX, "provider error", frozenset(range(500, 600))),
)


def classify(
    status: int,
    headers: Mapping[str, str],
    *,
    message: str,
    code: str,
    body_delay: str | None = None,
    clock: Clock | None = None,
) -> UpstreamError:
    """Map a failed HTTP response to the taxonomy. `code` is the provider's error code or type.

    `status` is 0 for an error event received inside a stream (the HTTP status was already 200).
    """
    code = code.lower()
    detail = f"HTTP {status}: {message}" if message else f"HTTP {status}"
    meta = {"http_status": str(status)}
    if code:
        meta["provider_code"] = code
    rule = _match(_HEAD_RULES, status, code)
    context = code == "context_length_exceeded" or bool(_CONTEXT_PATTERNS.search(message))
    if rule is None and status in (0, 400, 413, 422) and context:
        rule = _Rule(Reason.CONTEXT_LENGTH_EXCEEDED, "context length exceeded")
    rule = rule or _match(_TAIL_RULES, status, code)
    if rule is None:
        reason = Reason.UPSTREAM_ERROR if status == 0 else Reason.BAD_RESPONSE
        return UpstreamError(f"provider error ({detail}, {code or 'no code'})", reason=reason, metadata=meta)
    delay = retry_after_seconds(headers, body_delay, clock) if rule.retry else None
    return UpstreamError(f"{rule.label} ({detail})", reason=rule.reason, retry_after_s=delay, metadata=meta)


def _match(rules: tuple[_Rule, ...], status: int, code: str) -> _Rule | None:
    return next((rule for rule in rules if status in rule.statuses or code in rule.codes), None)
