"""Regular expressions that requests supply (`output_pattern`, `pattern` and `patternProperties` in a JSON
Schema) run on RE2: matching takes time linear in the text, whatever the pattern, so no request can hold the
event loop with catastrophic backtracking. What RE2 cannot run in linear time (backreferences, lookaround) is
refused with the reason, never handed to Python's backtracking `re`.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol, cast

import re2

MAX_PATTERN_CHARS = 4096
MAX_PROGRAM_BYTES = 8 * 1024 * 1024  # RE2's memory budget per compiled pattern


class UserPattern(Protocol):
    def search(self, text: str) -> object | None: ...

    def fullmatch(self, text: str) -> object | None: ...


class UnsafePattern(ValueError):
    """A pattern RE2 cannot compile (syntax, backreference, lookaround, too large); the message says why."""


class PatternCompiler:
    """Compiles user patterns on RE2, keeping the last `max_cached` (a repeated pattern compiles once)."""

    def __init__(self, max_cached: int = 256) -> None:
        self._max = max_cached
        self._options = re2.Options()
        self._options.log_errors = False  # a refused pattern is reported to the caller, not to stderr
        self._options.max_mem = MAX_PROGRAM_BYTES
        self._cache: OrderedDict[str, UserPattern] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    def compile(self, text: str) -> UserPattern:
        pattern = self._cache.get(text)
        if pattern is not None:
            self._cache.move_to_end(text)
            return pattern
        if len(text) > MAX_PATTERN_CHARS:
            raise UnsafePattern(f"longer than {MAX_PATTERN_CHARS} characters")
        try:
            pattern = cast(UserPattern, re2.compile(text, self._options))
        except re2.error as error:
            reason = error.args[0] if error.args else "invalid"
            reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
            raise UnsafePattern(f"{reason} (patterns run on RE2: no backreferences or lookaround)") from error
        self._cache[text] = pattern
        if len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return pattern
