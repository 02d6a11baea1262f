"""The dialect-neutral heart of the simulator: what to answer, how fast, and which fault to inject.

Every (provider, model) has its own random generator seeded from the config seed, so the same sequence of
requests to a model gives the same answers, latencies and errors whatever other models receive.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.simulator.config import SimulatorConfig
from services.simulator.knobs import FAULT_KINDS, POOR_ANSWER_MARKER, ModelKnobs

# Reply vocabulary: one word per simulated token.
_WORDS = (
    "the",
    "market",
    "moves",
    "toward",
    "whichever",
    "model",
    "answers",
    "well",
    "for",
    "less",
    "so",
    "every",
    "request",
    "finds",
    "its",
    "cheapest",
    "qualified",
    "route",
    "while",
    "latency",
    "budgets",
    "shape",
    "each",
    "choice",
)
_TOKEN = re.compile(r"\w+|[^\w\s]")
# Tokens that chat templates add around each message and the reply.
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 3


def count_tokens(text: str) -> int:
    """The simulator's tokenizer: words and punctuation marks (self-consistent, not any provider's)."""
    return len(_TOKEN.findall(text))


@dataclass(slots=True)
class Prompt:
    """What the simulator needs to know about a request, extracted by each dialect."""

    texts: list[str]
    max_tokens: int | None = None
    tools: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (name, parameters schema)
    tool_mode: str = "auto"  # "auto" | "none" | "required" | "named"
    tool_name: str = ""
    json_mode: bool = False
    # The conversation ends with a tool result: the model answers in text instead of calling again.
    after_tool_result: bool = False


@dataclass(slots=True)
class Plan:
    """How to answer one request."""

    fault: str | None
    retry_after_s: float
    latency_s: float
    ttft_s: float
    gap_s: float
    pieces: list[str]
    finish: str  # "stop" | "length" | "tool_calls"
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    context_window: int
    tool_call: tuple[str, str] | None  # (name, arguments JSON)
    hang_s: float = 60.0


@dataclass(slots=True)
class Fault:
    provider: str
    model: str
    kind: str
    count: int | None
    until: float | None
    retry_after_s: float | None
    hang_s: float

    def matches(self, provider: str, model: str, now: float) -> bool:
        if self.until is not None and now >= self.until:
            return False
        if self.count is not None and self.count <= 0:
            return False
        return self.provider in ("", "*", provider) and self.model in ("", "*", model)


class Simulator:
    def __init__(self, config: SimulatorConfig) -> None:
        self._config = config
        self._rngs: dict[tuple[str, str], random.Random] = {}
        self._served: Counter[tuple[str, str]] = Counter()
        self.faults: list[Fault] = []
        self.requests: Counter[str] = Counter()
        self.peers: set[tuple[str, int]] = set()

    def knobs(self, provider: str, model: str) -> ModelKnobs:
        models = self._config.models
        return models.get(f"{provider}/{model}") or models.get(model) or self._config.default

    def _rng(self, provider: str, model: str) -> random.Random:
        key = (provider, model)
        rng = self._rngs.get(key)
        if rng is None:
            digest = hashlib.sha256(f"{self._config.seed}/{provider}/{model}".encode()).digest()
            rng = self._rngs[key] = random.Random(int.from_bytes(digest[:8], "big"))
        return rng

    def add_fault(self, fault: Fault) -> None:
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}")
        self.faults.append(fault)

    def _injected(self, provider: str, model: str) -> Fault | None:
        now = time.monotonic()
        for fault in self.faults:
            if fault.matches(provider, model, now):
                if fault.count is not None:
                    fault.count -= 1
                return fault
        return None

    def plan(self, provider: str, model: str, prompt: Prompt) -> Plan:
        self.requests[f"{provider}/{model}"] += 1
        knobs = self.knobs(provider, model)
        rng = self._rng(provider, model)
        number = self._served[(provider, model)]
        self._served[(provider, model)] += 1
        prompt_tokens = sum(count_tokens(t) + MESSAGE_OVERHEAD for t in prompt.texts) + REPLY_PRIMING
        fault: str | None = None
        retry_after = knobs.retry_after_s
        hang_s = 60.0
        injected = self._injected(provider, model)
        if injected is not None:
            fault = injected.kind
            hang_s = injected.hang_s
            if injected.retry_after_s is not None:
                retry_after = injected.retry_after_s
        for burst in knobs.bursts:
            if fault is None and number % burst.every < burst.length:
                fault = burst.kind
                retry_after = burst.retry_after_s if burst.retry_after_s is not None else retry_after
        # Draw for every kind every time, so one kind's rate does not shift another's sequence.
        draws = {kind: rng.random() for kind in sorted(knobs.error_rates)}
        for kind, draw in draws.items():
            if fault is None and draw < knobs.error_rates[kind]:
                fault = kind
        if fault is None and prompt_tokens > knobs.context_window:
            fault = "context_length"
        latency_s = knobs.latency.sample_s(rng)
        pieces, finish, tool_call = self._reply(provider, model, prompt, knobs)
        completion_tokens = len(pieces) if tool_call is None else count_tokens(tool_call[1]) + 1
        return Plan(
            fault=fault,
            retry_after_s=retry_after,
            latency_s=latency_s,
            ttft_s=knobs.ttft_ms / 1000,
            gap_s=knobs.inter_token_ms / 1000,
            pieces=pieces,
            finish=finish,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cached_tokens=int(prompt_tokens * knobs.cached_fraction),
            reasoning_tokens=int(completion_tokens * knobs.reasoning_fraction),
            context_window=knobs.context_window,
            tool_call=tool_call,
            hang_s=hang_s,
        )

    def _reply(
        self, provider: str, model: str, prompt: Prompt, knobs: ModelKnobs
    ) -> tuple[list[str], str, tuple[str, str] | None]:
        # The answer depends on the seed, the model and the prompt only (not on request order).
        digest = hashlib.sha256(f"{self._config.seed}/{provider}/{model}/{'|'.join(prompt.texts)}".encode()).digest()
        words = random.Random(int.from_bytes(digest[:8], "big"))
        tool = self._tool_to_call(prompt)
        if tool is not None:
            name, schema = tool
            return [], "tool_calls", (name, _arguments_for(schema))
        count = knobs.output_tokens
        finish = "stop"
        if prompt.max_tokens is not None and prompt.max_tokens < count:
            count, finish = prompt.max_tokens, "length"
        chosen = [words.choice(_WORDS) for _ in range(max(count, 0))]
        if any(marker in text for marker in knobs.poor_on for text in prompt.texts):
            chosen = [POOR_ANSWER_MARKER, *chosen[1:]] if chosen else [POOR_ANSWER_MARKER]
        pieces = [f" {w}" if i else w for i, w in enumerate(chosen)]
        if prompt.json_mode and finish == "stop":
            pieces = ['{"answer": "', *pieces[: max(count - 2, 1)], '"}']
        return pieces, finish, None

    @staticmethod
    def _tool_to_call(prompt: Prompt) -> tuple[str, dict[str, Any]] | None:
        if not prompt.tools or prompt.tool_mode == "none":
            return None
        if prompt.tool_mode == "named":
            return next((t for t in prompt.tools if t[0] == prompt.tool_name), prompt.tools[0])
        if prompt.tool_mode == "required":
            return prompt.tools[0]
        if prompt.after_tool_result:
            return None
        # auto: the tool the user's last message names, else the first one offered.
        last = prompt.texts[-1].lower() if prompt.texts else ""
        return next((t for t in prompt.tools if t[0].lower() in last), prompt.tools[0])


def _arguments_for(schema: dict[str, Any]) -> str:
    """Arguments JSON with a plausible value for each declared property."""
    samples = {"string": '"example"', "integer": "1", "number": "1.5", "boolean": "true", "array": "[]"}
    props = schema.get("properties") or {}
    parts = [f'"{name}":{samples.get(str(spec.get("type")), "null")}' for name, spec in props.items()]
    return "{" + ",".join(parts) + "}"
