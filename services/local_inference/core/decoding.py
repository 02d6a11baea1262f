"""Plain data of one decoding job, and the incremental detokenizer that applies stop sequences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from tokenizers import Tokenizer


class Finish(Enum):
    STOP = "stop"  # end-of-turn token or a stop sequence
    LENGTH = "length"  # max_tokens reached


@dataclass(frozen=True, slots=True)
class DecodeParams:
    """Sampling settings; jobs with equal params can share one CTranslate2 batch."""

    max_tokens: int
    temperature: float = 0.0  # 0 means greedy
    top_p: float = 1.0


@dataclass(frozen=True, slots=True)
class Generation:
    """A finished generation with exact token counts and where its time went."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish: Finish
    queue_s: float
    compute_s: float
    # Guided decoding only: per answer token, the model's own log-probability and the one renormalised over
    # the tokens the constraint allowed; how many of the model's tokens the constraint refused.
    logprobs: tuple[float, ...] = ()
    guided_logprobs: tuple[float, ...] = ()
    corrections: int = 0


class TextAccumulator:
    """Turns generated token ids into text deltas; stops at end tokens, stop sequences or max_tokens.

    Deltas never split a UTF-8 character or emit text that a stop sequence might still swallow.
    """

    def __init__(self, tokenizer: Tokenizer, *, end_ids: frozenset[int], stop: Sequence[str], max_tokens: int) -> None:
        self._tokenizer = tokenizer
        self._end_ids = end_ids
        self._stop = tuple(s for s in stop if s)
        self._max_tokens = max_tokens
        self._ids: list[int] = []
        self._text = ""
        self._emitted = 0
        self.finish: Finish | None = None

    @property
    def completion_tokens(self) -> int:
        return len(self._ids)

    @property
    def text(self) -> str:
        return self._text

    def push(self, token_id: int) -> str:
        """Add one token; returns the text that became final. Sets `finish` when decoding must stop."""
        if self.finish is not None:
            return ""
        if token_id in self._end_ids:
            self.finish = Finish.STOP
            return self._flush()
        self._ids.append(token_id)
        self._text = self._tokenizer.decode(self._ids, skip_special_tokens=True)
        for stop in self._stop:
            index = self._text.find(stop)
            if index >= 0:
                self._text = self._text[:index]
                self.finish = Finish.STOP
                return self._flush()
        if len(self._ids) >= self._max_tokens:
            self.finish = Finish.LENGTH
            return self._flush()
        return self._release()

    def close(self) -> str:
        """Decoding ended without a reason seen here (the engine hit its own limit): treat as length."""
        if self.finish is None:
            self.finish = Finish.LENGTH
        return self._flush()

    def _release(self) -> str:
        safe = len(self._text)
        if self._text.endswith("\ufffd"):  # an incomplete UTF-8 sequence: wait for its next byte
            safe = self._text.rfind("\ufffd")
            while safe > 0 and self._text[safe - 1] == "\ufffd":
                safe -= 1
        for stop in self._stop:
            for size in range(min(len(stop) - 1, len(self._text)), 0, -1):
                if self._text.endswith(stop[:size]):
                    safe = min(safe, len(self._text) - size)
                    break
        if safe <= self._emitted:
            return ""
        delta = self._text[self._emitted : safe]
        self._emitted = safe
        return delta

    def _flush(self) -> str:
        delta = self._text[self._emitted :]
        self._emitted = len(self._text)
        return delta
