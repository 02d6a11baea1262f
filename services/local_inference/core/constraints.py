"""Constraints that guided decoding walks token by token: a regular language, a fixed set of strings, or spans
copied from the input.

Each constraint is immutable and shared; the decoding state is a small value passed back in. `advance(state,
text)` returns the state after `text` or None when no allowed answer starts that way; `accepts(state)` says
whether the answer may end there; `complete(state)` that it must (nothing may follow).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Protocol

import interegular
import re2
from interegular.fsm import FSM

from shared.errors import BourseError, FieldViolation, InvalidRequest, Reason


class GuidanceUnsupported(BourseError):
    """A valid constraint beyond what guided decoding supports: the caller should use a larger model."""

    default_reason = Reason.GUIDANCE_UNSUPPORTED


class Constraint(Protocol):
    def start(self) -> Any: ...

    def advance(self, state: Any, text: str) -> Any | None: ...

    def accepts(self, state: Any) -> bool: ...

    def complete(self, state: Any) -> bool: ...


def compile_pattern(pattern: str, field: str) -> Any:
    """The pattern compiled by RE2 (linear time); InvalidRequest naming `field` when RE2 refuses it."""
    options = re2.Options()
    options.log_errors = False
    try:
        return re2.compile(pattern, options=options)
    except re2.error as error:
        message = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        raise InvalidRequest(
            f"{field} is not a regular expression the linear-time engine accepts: {message}",
            violations=[FieldViolation(field, f"RE2 cannot compile it: {message}")],
        ) from None


class RegexConstraint:
    """The whole answer must match a regular expression (a finite automaton walked character by character)."""

    def __init__(self, pattern: str, *, field: str = "output_pattern") -> None:
        self.compiled = compile_pattern(pattern, field)  # the linear-time engine judges what is a valid pattern
        try:
            fsm: FSM = interegular.parse_pattern(pattern).to_fsm()
        except (interegular.patterns.Unsupported, interegular.patterns.InvalidSyntax) as error:
            raise GuidanceUnsupported(f"{field}: guided decoding cannot follow this pattern ({error})") from None
        self._map: dict[Any, dict[Any, Any]] = fsm.map
        self._alphabet = fsm.alphabet
        self._finals = frozenset(fsm.finals)
        self._live = _live_states(fsm)
        if fsm.initial not in self._live:
            raise InvalidRequest(
                f"{field} matches no string at all", violations=[FieldViolation(field, "matches nothing")]
            )
        self._initial: int = int(fsm.initial)

    def start(self) -> int:
        return self._initial

    def advance(self, state: int, text: str) -> int | None:
        for char in text:
            try:
                symbol = self._alphabet[char]  # characters the pattern never names map to `anything_else`
            except KeyError:
                return None
            nxt = self._map.get(state, {}).get(symbol)
            if nxt is None or nxt not in self._live:
                return None
            state = nxt
        return state

    def accepts(self, state: int) -> bool:
        return state in self._finals

    def complete(self, state: int) -> bool:
        return state in self._finals and not any(nxt in self._live for nxt in self._map.get(state, {}).values())


def _live_states(fsm: FSM) -> frozenset[Any]:
    """States from which a final state can still be reached."""
    reverse: dict[Any, set[Any]] = {}
    for src, moves in fsm.map.items():
        for dst in moves.values():
            reverse.setdefault(dst, set()).add(src)
    live: set[Any] = set(fsm.finals)
    todo: list[Any] = list(live)
    while todo:
        for src in reverse.get(todo.pop(), ()):
            if src not in live:
                live.add(src)
                todo.append(src)
    return frozenset(live)


class ChoiceConstraint:
    """The answer is exactly one of a set of strings (labels, or the pattern's matches in the input)."""

    def __init__(self, choices: Sequence[str]) -> None:
        self._choices = sorted(set(choices))
        self._set = frozenset(self._choices)

    def start(self) -> str:
        return ""

    def advance(self, state: str, text: str) -> str | None:
        prefix = state + text
        index = bisect.bisect_left(self._choices, prefix)
        return prefix if index < len(self._choices) and self._choices[index].startswith(prefix) else None

    def accepts(self, state: str) -> bool:
        return state in self._set

    def complete(self, state: str) -> bool:
        index = bisect.bisect_right(self._choices, state)
        longer = index < len(self._choices) and self._choices[index].startswith(state)
        return state in self._set and not longer


class SpanConstraint:
    """The answer is a span of the source text that starts and ends at word boundaries."""

    def __init__(self, source: str) -> None:
        self._source = source

    def start(self) -> str:
        return ""

    def advance(self, state: str, text: str) -> str | None:
        span = (state + text).lstrip() if not state else state + text
        if not span:
            return ""  # leading spaces before the span are free
        return span if self._find(span, must_end=False) else None

    def accepts(self, state: str) -> bool:
        return bool(state.strip()) and state == state.rstrip() and self._find(state, must_end=True)

    def complete(self, state: str) -> bool:
        return False

    def _find(self, span: str, *, must_end: bool) -> bool:
        source = self._source
        index = source.find(span)
        while index >= 0:
            starts = index == 0 or not source[index - 1].isalnum()
            end = index + len(span)
            ends = end == len(source) or not source[end].isalnum() or not span[-1].isalnum()
            if starts and (ends or not must_end):
                return True
            index = source.find(span, index + 1)
        return False


class ConstraintCache:
    """Compiled regular-expression constraints by pattern, bounded (LRU): repeated requests compile nothing."""

    def __init__(self, max_entries: int = 256) -> None:
        self._max = max_entries
        self._entries: OrderedDict[tuple[str, str], RegexConstraint] = OrderedDict()

    def regex(self, pattern: str, field: str) -> RegexConstraint:
        key = (pattern, field)
        constraint = self._entries.get(key)
        if constraint is None:
            constraint = RegexConstraint(pattern, field=field)
            self._entries[key] = constraint
            if len(self._entries) > self._max:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return constraint
