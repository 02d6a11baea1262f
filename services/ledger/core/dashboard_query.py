"""The dashboard's view, read from its URL query: time range, tenant, task kind, provider, comparison model.

Plain parsing and checking, shared by the JSON API and (through it) the page, so a link to a view shows the same
figures for everyone. A malformed value, an unknown parameter, or a value no request in the ledger has raises
InvalidRequest naming the parameter; the HTTP edge answers 400 with it and the page falls back to the unfiltered
view, saying why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shared.errors import FieldViolation, InvalidRequest

MIN_WINDOW_S = 60
MAX_WINDOW_S = 90 * 24 * 3600
MAX_VALUE_CHARS = 200
MAX_END_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
FILTER_FIELDS = ("tenant", "task_kind", "provider")
PARAMS = ("range", "window_s", "end_ms", "compare", *FILTER_FIELDS)
_RANGE = re.compile(r"^([1-9]\d{0,5})([mhd])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class DashboardQuery:
    """One view of the ledger. Empty strings mean no restriction; `end_ms` 0 means now."""

    window_s: int
    end_ms: int = 0
    tenant: str = ""
    task_kind: str = ""
    provider: str = ""
    compare: str = ""  # provider/model every request is repriced on ("" = the default)

    @property
    def filtered(self) -> bool:
        return any(getattr(self, name) for name in FILTER_FIELDS)


def _bad(param: str, message: str) -> InvalidRequest:
    # The shared HTTP error body names `param` from the first violation.
    return InvalidRequest(message, violations=[FieldViolation(param, message)])


def parse_range(text: str) -> int:
    """ "90m", "24h", "7d" -> seconds, between a minute and 90 days."""
    match = _RANGE.match(text)
    if not match:
        raise _bad("range", f"range {text[:40]!r} is not a number and a unit (m, h, d), e.g. 24h")
    seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if not MIN_WINDOW_S <= seconds <= MAX_WINDOW_S:
        raise _bad("range", f"range {text!r} must be between 1m and 90d")
    return seconds


def _text(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if len(value) > MAX_VALUE_CHARS or any(not ch.isprintable() for ch in value):
        raise _bad(name, f"{name} must be at most {MAX_VALUE_CHARS} printable characters")
    return value


def parse_query(params: Mapping[str, str], *, default_window_s: int) -> DashboardQuery:
    """The view a query string asks for; raises InvalidRequest for the first bad parameter."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise _bad(unknown[0], f"unknown parameter {unknown[0][:40]!r}; known: {', '.join(PARAMS)}")
    window_s = default_window_s
    if params.get("range"):
        window_s = parse_range(params["range"])
    elif "window_s" in params:
        try:
            window_s = int(params["window_s"])
        except ValueError:
            raise _bad("window_s", "window_s must be an integer number of seconds") from None
        if not MIN_WINDOW_S <= window_s <= MAX_WINDOW_S:
            raise _bad("window_s", f"window_s must be between {MIN_WINDOW_S} and {MAX_WINDOW_S}")
    end_ms = 0
    if params.get("end_ms"):
        try:
            end_ms = int(params["end_ms"])
        except ValueError:
            raise _bad("end_ms", "end_ms must be epoch milliseconds") from None
        if not 0 < end_ms <= MAX_END_MS:
            raise _bad("end_ms", "end_ms must be epoch milliseconds before the year 10000")
    values = {name: _text(params, name) for name in (*FILTER_FIELDS, "compare")}
    return DashboardQuery(window_s=window_s, end_ms=end_ms, **values)


def check_known(query: DashboardQuery, exists: Callable[[str, str], bool], compare_options: list[str]) -> None:
    """Raise when a filter names a value no request in the ledger has, or the comparison model has no price."""
    for name in FILTER_FIELDS:
        value = getattr(query, name)
        if value and not exists(name, value):
            raise _bad(name, f"no request in the ledger has {name.replace('_', ' ')} {value!r}")
    if query.compare and query.compare not in compare_options:
        raise _bad("compare", f"no price for model {query.compare!r}: pick one of the manifest's models")
