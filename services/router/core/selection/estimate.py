"""Token estimates before the call, calibrated against the usage providers report afterwards.

The prompt estimate is a character heuristic (about 4 characters per token for English, plus per-message
framing) multiplied by a correction factor learned from telemetry: each event carries the router's estimate
and the provider's real prompt count, and the factor moves towards their ratio. The estimate's error is
tracked and reported (`prompt_error`).

Completion lengths come from the request's max_tokens and from the lengths actually observed per model and task
kind (a time-independent exponentially weighted mean), with per-task defaults until traffic is seen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bourse.common.v1 import chat_pb2

from shared.events.schemas import TelemetryEvent

CHARS_PER_TOKEN = 4.0
MESSAGE_OVERHEAD_TOKENS = 4  # role and framing tokens per message
REQUEST_OVERHEAD_TOKENS = 3  # the assistant priming of chat templates
TOOL_OVERHEAD_TOKENS = 8  # per tool definition, besides its schema text
IMAGE_TOKENS = 765  # a 1024x1024 image at "auto" detail in OpenAI's accounting; others are close
# Expected completion tokens per task kind before any traffic was seen.
DEFAULT_COMPLETION_TOKENS: dict[str, int] = {
    "classification": 8,
    "extraction": 96,
    "formatting": 192,
    "summarization": 256,
    "translation": 384,
    "chat": 384,
    "code": 768,
    "reasoning": 1536,
}
FALLBACK_COMPLETION_TOKENS = 384


@dataclass
class _Mean:
    """Exponentially weighted mean of observed values (weight `alpha` on each new value)."""

    value: float
    count: int = 0

    def add(self, sample: float, alpha: float) -> None:
        self.count += 1
        # The first samples are averaged plainly so one outlier does not decide the estimate.
        weight = max(alpha, 1.0 / self.count)
        self.value += weight * (sample - self.value)


@dataclass
class EstimateError:
    """Error of the prompt estimate against real usage: mean absolute percentage error and mean signed bias."""

    samples: int
    mean_abs_pct_error: float
    mean_pct_bias: float
    recent_abs_pct_error: float  # exponentially weighted, so it shows the error after calibration settled
    correction_factor: float


class TokenEstimator:
    """Prompt and completion token estimates; `observe` calibrates them from telemetry."""

    def __init__(self, *, alpha: float = 0.05, min_factor: float = 0.25, max_factor: float = 4.0) -> None:
        self._alpha = alpha
        self._min_factor = min_factor
        self._max_factor = max_factor
        self._log_factor = 0.0
        self._completion: dict[tuple[str, str, str], _Mean] = {}
        self._completion_by_task: dict[str, _Mean] = {}
        # Per task kind, a lower bound of every model's expected completion (lets selection stop early).
        self._completion_floor: dict[str, float] = {}
        self._observed_completions = 0
        self._samples = 0
        self._abs_pct_error = 0.0  # of the estimate each event carries (the router's calibrated estimate)
        self._pct_bias = 0.0
        self._recent_abs_pct_error = 0.0

    @property
    def correction_factor(self) -> float:
        return math.exp(self._log_factor)

    def raw_prompt_tokens(self, chat: chat_pb2.ChatRequest) -> int:
        chars = 0
        images = 0
        for message in chat.messages:
            chars += len(message.name) + len(message.tool_call_id)
            for part in message.content:
                if part.WhichOneof("part") == "text":
                    chars += len(part.text)
                else:
                    images += 1
            for call in message.tool_calls:
                chars += len(call.name) + len(call.arguments_json) + len(call.id)
        tool_tokens = 0
        for tool in chat.tools:
            chars += len(tool.name) + len(tool.description) + len(tool.parameters_json_schema)
            tool_tokens += TOOL_OVERHEAD_TOKENS
        if chat.HasField("response_format"):
            chars += len(chat.response_format.json_schema)
        return (
            math.ceil(chars / CHARS_PER_TOKEN)
            + MESSAGE_OVERHEAD_TOKENS * len(chat.messages)
            + REQUEST_OVERHEAD_TOKENS
            + tool_tokens
            + IMAGE_TOKENS * images
        )

    def prompt_tokens(self, chat: chat_pb2.ChatRequest) -> int:
        return max(1, round(self.raw_prompt_tokens(chat) * math.exp(self._log_factor)))

    def expected_completion_tokens(self, provider: str, model: str, task_kind: str, max_tokens: int | None) -> int:
        mean = self._completion.get((provider, model, task_kind)) or self._completion_by_task.get(task_kind)
        expected = (
            math.ceil(mean.value)
            if mean is not None
            else DEFAULT_COMPLETION_TOKENS.get(task_kind, FALLBACK_COMPLETION_TOKENS)
        )
        if max_tokens:
            expected = min(expected, max_tokens)
        return max(expected, 1)

    def completion_floor(self, task_kind: str, max_tokens: int | None) -> int:
        """A lower bound of expected_completion_tokens over every model for this task kind."""
        floor = self._completion_floor.get(task_kind)
        value = (
            DEFAULT_COMPLETION_TOKENS.get(task_kind, FALLBACK_COMPLETION_TOKENS) if floor is None else math.floor(floor)
        )
        if max_tokens:
            value = min(value, max_tokens)
        return max(value, 1)

    def observe(self, event: TelemetryEvent) -> None:
        """Learn from one finished request: the prompt estimate's error and the completion length."""
        if event.outcome != "ok" or event.usage_estimated or event.served_from != "remote":
            return
        if event.completion_tokens > 0:
            key = (event.provider, event.model, event.task_kind)
            mean = self._completion.get(key)
            if mean is None:
                mean = self._completion[key] = _Mean(float(event.completion_tokens))
            mean.add(float(event.completion_tokens), self._alpha)
            by_task = self._completion_by_task.get(event.task_kind)
            if by_task is None:
                by_task = self._completion_by_task[event.task_kind] = _Mean(float(event.completion_tokens))
            by_task.add(float(event.completion_tokens), self._alpha)
            self._lower_floor(event.task_kind, min(mean.value, by_task.value))
        estimate, actual = event.estimated_prompt_tokens, event.prompt_tokens
        if estimate <= 0 or actual <= 0:
            return
        self._samples += 1
        error = (estimate - actual) / actual
        n = self._samples
        self._abs_pct_error += (abs(error) - self._abs_pct_error) / n
        self._pct_bias += (error - self._pct_bias) / n
        self._recent_abs_pct_error += max(self._alpha, 1.0 / n) * (abs(error) - self._recent_abs_pct_error)
        # Move the factor towards the observed ratio; every replica runs this on the same events.
        step = self._alpha * math.log(actual / estimate)
        bound_low, bound_high = math.log(self._min_factor), math.log(self._max_factor)
        self._log_factor = min(max(self._log_factor + step, bound_low), bound_high)

    def _lower_floor(self, task_kind: str, value: float) -> None:
        self._observed_completions += 1
        if self._observed_completions % 1024 == 0:
            self._recompute_floors()  # a model whose mean went up may have held the floor down
            return
        self._completion_floor[task_kind] = min(self._completion_floor.get(task_kind, math.inf), value)

    def _recompute_floors(self) -> None:
        floors = {task: mean.value for task, mean in self._completion_by_task.items()}
        for (_, _, task), mean in self._completion.items():
            floors[task] = min(floors[task], mean.value)
        self._completion_floor = floors

    def prompt_error(self) -> EstimateError:
        return EstimateError(
            samples=self._samples,
            mean_abs_pct_error=self._abs_pct_error,
            mean_pct_bias=self._pct_bias,
            recent_abs_pct_error=self._recent_abs_pct_error,
            correction_factor=self.correction_factor,
        )
