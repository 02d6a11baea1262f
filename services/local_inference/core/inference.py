"""The service's logic without transport: validate a chat, build the prompt, schedule it, score labels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from services.local_inference.core.chat_template import ChatTurn
from services.local_inference.core.confidence import confidence
from services.local_inference.core.constraints import (
    ChoiceConstraint,
    Constraint,
    ConstraintCache,
    SpanConstraint,
)
from services.local_inference.core.decoding import DecodeParams, Finish, Generation
from services.local_inference.core.engine import LocalModel
from services.local_inference.core.json_schema_regex import flat_object_regex, parse_schema, schema_regex
from services.local_inference.core.scheduler import GenerationStream, Scheduler
from shared.errors import FieldViolation, InvalidRequest, Reason


@dataclass(frozen=True, slots=True)
class Limits:
    default_max_tokens: int = 256
    max_tokens_limit: int = 1024
    max_labels: int = 64
    # Small instruct models answer best under the system prompt they were trained with, so a caller's system
    # message is moved into the first user turn (measured: a custom system prompt made SmolLM2 worse).
    fold_system_prompt: bool = True


@dataclass(frozen=True, slots=True)
class Sampling:
    """What the caller asked for; None means the service default."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    logprob: float
    probability: float


@dataclass(frozen=True, slots=True)
class Guidance:
    """What the answer must look like (GenerateRequest.output_pattern, copy_from_input, chat.response_format)."""

    pattern: str = ""
    copy_from_input: bool = False
    json_schema: str = ""  # JSON Schema text; "" for none
    json_object: bool = False  # any flat JSON object

    @property
    def empty(self) -> bool:
        return not (self.pattern or self.copy_from_input or self.json_schema or self.json_object)


@dataclass(frozen=True, slots=True)
class Answer:
    generation: Generation
    method: str  # "free" | "guided" | "exact_match"
    confidence: float  # 0 to 1; 0 for free answers (not measured)


class ContextLengthExceeded(InvalidRequest):
    """Prompt plus max_tokens do not fit the model's context window (a larger model may succeed)."""

    default_reason = Reason.CONTEXT_LENGTH_EXCEEDED


class LocalInference:
    def __init__(self, model: LocalModel, scheduler: Scheduler, limits: Limits) -> None:
        self._model = model
        self._scheduler = scheduler
        self._limits = limits
        self._constraints = ConstraintCache()

    @property
    def model_name(self) -> str:
        return self._model.name

    async def generate(self, turns: Sequence[ChatTurn], sampling: Sampling, deadline: float | None) -> Generation:
        prompt, params = self._prepare(turns, sampling)
        return await self._scheduler.generate(prompt, params, sampling.stop, deadline)

    async def answer(
        self, turns: Sequence[ChatTurn], sampling: Sampling, guidance: Guidance, deadline: float | None
    ) -> Answer:
        """Free generation without guidance; else an exact match from the input, or greedy guided decoding."""
        if guidance.empty:
            return Answer(await self.generate(turns, sampling, deadline), "free", 0.0)
        prompt, params = self._prepare(turns, sampling)
        source = next((turn.content for turn in reversed(turns) if turn.role == "user"), "")
        constraint = self._constraint(guidance, source)
        if isinstance(constraint, str):
            exact = Generation(constraint, 0, 0, Finish.STOP, queue_s=0.0, compute_s=0.0)
            return Answer(exact, "exact_match", 1.0)
        generation = await self._scheduler.generate_guided(prompt, constraint, params.max_tokens, deadline)
        if isinstance(constraint, SpanConstraint):
            generation = replace(generation, text=generation.text.strip())
        # The measures calibrated best on the tune split (bench.local_eval): for spans and matches copied from the
        # input, the model's own token probabilities; for answers it writes, those renormalised by the constraint.
        measure = "mean_model" if guidance.copy_from_input else "mean_guided"
        return Answer(generation, "guided", confidence(generation, measure))

    def _constraint(self, guidance: Guidance, source: str) -> Constraint | str:
        """The constraint to decode under, or the answer itself when the input holds exactly one match."""
        if guidance.pattern:
            regex = self._constraints.regex(guidance.pattern, "output_pattern")
            if not guidance.copy_from_input:
                return regex
            matches: list[str] = sorted({str(m.group(0)) for m in regex.compiled.finditer(source) if m.group(0)})
            if len(matches) == 1:
                return matches[0]
            return ChoiceConstraint(matches) if matches else regex
        if guidance.copy_from_input:
            return SpanConstraint(source)
        if guidance.json_schema:
            return self._constraints.regex(schema_regex(parse_schema(guidance.json_schema)), _SCHEMA_FIELD)
        return self._constraints.regex(flat_object_regex(), _SCHEMA_FIELD)

    def generate_stream(
        self, turns: Sequence[ChatTurn], sampling: Sampling, deadline: float | None
    ) -> GenerationStream:
        prompt, params = self._prepare(turns, sampling)
        return self._scheduler.generate_stream(prompt, params, sampling.stop, deadline)

    async def score(self, turns: Sequence[ChatTurn], labels: Sequence[str], deadline: float | None) -> list[LabelScore]:
        _check_labels(labels, self._limits.max_labels)
        prompt = self._model.prompt_ids(self._turns(turns))
        answers = [self._model.answer_ids(label) for label in labels]
        longest = max(len(answer) for answer in answers)
        self._check_fits(len(prompt), longest, field="labels")
        logprobs = await self._scheduler.score(
            [prompt + answer for answer in answers], [len(answer) for answer in answers], deadline
        )
        top = max(logprobs)
        weights = [math.exp(lp - top) for lp in logprobs]
        total = math.fsum(weights)
        scores = [
            LabelScore(label=label, logprob=lp, probability=weight / total)
            for label, lp, weight in zip(labels, logprobs, weights, strict=True)
        ]
        return sorted(scores, key=lambda score: score.logprob, reverse=True)

    def _prepare(self, turns: Sequence[ChatTurn], sampling: Sampling) -> tuple[list[int], DecodeParams]:
        params = self._params(sampling)
        prompt = self._model.prompt_ids(self._turns(turns))
        self._check_fits(len(prompt), params.max_tokens, field="sampling.max_tokens")
        return prompt, params

    def _turns(self, turns: Sequence[ChatTurn]) -> list[ChatTurn]:
        if not turns:
            raise InvalidRequest("at least one message is required", violations=[_violation("messages", "empty")])
        if not self._limits.fold_system_prompt:
            return list(turns)
        system = "\n\n".join(turn.content for turn in turns if turn.role == "system")
        rest = [turn for turn in turns if turn.role != "system"]
        if not system:
            return rest
        for index, turn in enumerate(rest):
            if turn.role == "user":
                rest[index] = ChatTurn(role="user", content=f"{system}\n\n{turn.content}")
                return rest
        return [ChatTurn(role="user", content=system), *rest]

    def _params(self, sampling: Sampling) -> DecodeParams:
        violations = []
        max_tokens = self._limits.default_max_tokens if sampling.max_tokens is None else sampling.max_tokens
        if not 1 <= max_tokens <= self._limits.max_tokens_limit:
            violations.append(_violation("sampling.max_tokens", f"must be 1..{self._limits.max_tokens_limit}"))
        temperature = 0.0 if sampling.temperature is None else sampling.temperature
        if not 0.0 <= temperature <= 2.0:
            violations.append(_violation("sampling.temperature", "must be between 0 and 2"))
        top_p = 1.0 if sampling.top_p is None else sampling.top_p
        if not 0.0 < top_p <= 1.0:
            violations.append(_violation("sampling.top_p", "must be greater than 0 and at most 1"))
        if len(sampling.stop) > 4:
            violations.append(_violation("sampling.stop", "at most 4 stop sequences"))
        if violations:
            raise InvalidRequest("invalid sampling parameters", violations=violations)
        return DecodeParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p)

    def _check_fits(self, prompt_tokens: int, answer_tokens: int, *, field: str) -> None:
        window = self._model.context_length
        if prompt_tokens + answer_tokens > window:
            raise ContextLengthExceeded(
                f"prompt of {prompt_tokens} tokens plus {answer_tokens} answer tokens exceeds the "
                f"context window of {window} tokens of {self._model.name}",
                violations=[_violation(field, f"prompt + answer must fit {window} tokens")],
                metadata={"context_window": str(window), "prompt_tokens": str(prompt_tokens)},
            )


_SCHEMA_FIELD = "chat.response_format.json_schema"


def _check_labels(labels: Sequence[str], limit: int) -> None:
    violations = []
    if len(labels) < 2:
        violations.append(_violation("labels", "at least two labels are required"))
    if len(labels) > limit:
        violations.append(_violation("labels", f"at most {limit} labels"))
    if len(set(labels)) != len(labels):
        violations.append(_violation("labels", "labels must be distinct"))
    violations.extend(_violation(f"labels[{i}]", "must not be empty") for i, label in enumerate(labels) if not label)
    if violations:
        raise InvalidRequest("invalid labels", violations=violations)


def _violation(field: str, description: str) -> FieldViolation:
    path = f"chat.{field}" if field.startswith(("sampling", "messages")) else field
    return FieldViolation(field=path, description=description)
