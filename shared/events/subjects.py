"""The NATS subject scheme. One scheme for every event: `bourse.<kind>.<key tokens>`.

Provider, model and tenant names become subject tokens with a reversible escape ("." and the NATS wildcards are
not allowed inside a token): `%` -> `%25`, `.` -> `%2E`, `*` -> `%2A`, `>` -> `%3E`, whitespace -> `%20`...
The event payload always carries the exact names; subjects are for filtering.
"""

from __future__ import annotations

TELEMETRY_PREFIX = "bourse.telemetry"
PRICING_PREFIX = "bourse.pricing"
COST_PREFIX = "bourse.cost"
BUDGET_ALERT_PREFIX = "bourse.alerts.budget"
FEEDBACK_PREFIX = "bourse.feedback"
CIRCUIT_PREFIX = "bourse.circuit"
CACHE_PREFIX = "bourse.cache"
DEAD_LETTER_PREFIX = "bourse.deadletter"

_ESCAPES = {"%": "%25", ".": "%2E", "*": "%2A", ">": "%3E", " ": "%20", "\t": "%09", "\n": "%0A", "\r": "%0D"}
_REVERSE = {v: k for k, v in _ESCAPES.items()} | {"%5F": "_"}


def token(name: str) -> str:
    """Escape a name into one subject token (reversible with `untoken`). "" becomes "_", and "_" "%5F"."""
    if not name:
        return "_"
    if name == "_":
        return "%5F"
    if not any(ch in _ESCAPES for ch in name):
        return name
    return "".join(_ESCAPES.get(ch, ch) for ch in name)


def untoken(tok: str) -> str:
    if tok == "_":
        return ""
    if "%" not in tok:
        return tok
    out: list[str] = []
    i = 0
    while i < len(tok):
        chunk = tok[i : i + 3]
        if chunk in _REVERSE:
            out.append(_REVERSE[chunk])
            i += 3
        else:
            out.append(tok[i])
            i += 1
    return "".join(out)


def telemetry(provider: str, model: str) -> str:
    return f"{TELEMETRY_PREFIX}.{token(provider)}.{token(model)}"


def pricing(provider: str, model: str) -> str:
    return f"{PRICING_PREFIX}.{token(provider)}.{token(model)}"


def cost(tenant: str) -> str:
    return f"{COST_PREFIX}.{token(tenant)}"


def budget_alert(tenant: str) -> str:
    return f"{BUDGET_ALERT_PREFIX}.{token(tenant)}"


def feedback(tenant: str) -> str:
    return f"{FEEDBACK_PREFIX}.{token(tenant)}"


def circuit(provider: str, model: str) -> str:
    return f"{CIRCUIT_PREFIX}.{token(provider)}.{token(model)}"


def dead_letter(source: str) -> str:
    """Where an event that came from (or was meant for) `source` subjects ("telemetry", "cost"...) is parked."""
    return f"{DEAD_LETTER_PREFIX}.{token(source)}"
