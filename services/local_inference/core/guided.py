"""Guided decoding on CTranslate2 without a logits-processor hook: speculate, check, correct, resume.

CTranslate2's Python API cannot change the token it picks, but its step callback sees each step's logits and
can stop a sequence. So each batch decodes greedily at full speed (KV cache, batched) while every token is
checked against the request's constraint. When the model's token is allowed, it is kept: the greedy choice
under the constraint is the model's own. When it is not, the sequence stops there, the best allowed token is
taken from that step's logits, and the sequence resumes with it appended (one prompt prefill per correction).
The result is exactly greedy decoding under the constraint. bench/local_guided_options.py measures this against
step-wise `forward_batch`, top-k alternatives per step and candidate scoring (docs/local-inference.md).

Per token two log-probabilities are kept: the model's own, and the one renormalised over the allowed tokens
among the step's most likely ones (what the constraint leaves the model to choose between); the confidence of
an answer is computed from them (see confidence.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.local_inference.core.constraints import Constraint
from services.local_inference.core.decoding import Finish
from services.local_inference.core.engine import LocalModel

TOP_K = 64  # tokens examined per step for the renormalised probability, and first for a correction
_END = object()  # the state after the end-of-turn token


class _StepLogits:
    """The logits of one decode call's steps, shared by the callbacks of a step.

    CTranslate2 hands each callback of a step the logits of every sequence still in its loop (those still
    reading their prompt included), ordered longest prompt first; only the first callback of a step can read
    them (later ones see an empty view), so they are copied once per step. A sequence's row is checked by its
    argmax, which is the token greedy decoding picked.
    """

    def __init__(self, lengths: Sequence[int]) -> None:
        self._order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        self._stopped: dict[int, int] = {}  # batch index -> the step at which its decoding was stopped
        self._step = -1
        self._rows: np.ndarray | None = None

    def row(self, step: Any) -> np.ndarray | None:
        at, index, token = int(step.step), int(step.batch_id), int(step.token_id)
        if at != self._step:
            self._step = at
            try:
                self._rows = np.array(step.logits, dtype=np.float32, copy=True)
            except (ValueError, TypeError, RuntimeError):
                self._rows = None
        rows = self._rows
        if rows is None or rows.size == 0:
            return None
        rows = rows.reshape(-1, rows.shape[-1])
        live = [i for i in self._order if self._stopped.get(i, at) >= at]
        expected = live.index(index) if index in live else -1
        if 0 <= expected < rows.shape[0] and int(rows[expected].argmax()) == token:
            found: np.ndarray = rows[expected]
            return found
        hits = np.flatnonzero(rows.argmax(axis=1) == token).tolist()
        if len(hits) != 1:
            return None
        matched: np.ndarray = rows[hits[0]]
        return matched

    def stopped(self, step: Any) -> None:
        self._stopped.setdefault(int(step.batch_id), int(step.step))


@dataclass(eq=False)
class GuidedTask:
    prompt: Sequence[int]
    constraint: Constraint
    max_tokens: int
    alive: Callable[[], bool] = lambda: True
    state: Any = None
    ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)  # the model's own, per answer token (end token included)
    guided_logprobs: list[float] = field(default_factory=list)  # renormalised over the allowed tokens
    corrections: int = 0
    refetches: int = 0  # steps decoded alone because their row of the batch's logits was not found
    finish: Finish | None = None
    _resume: bool = False
    _refetch: bool = False

    def __post_init__(self) -> None:
        self.state = self.constraint.start()


class GuidedDecoder:
    """Runs batches of GuidedTasks on one model. Built once (it decodes the vocabulary once)."""

    def __init__(self, model: LocalModel) -> None:
        self._model = model
        self._texts = model.token_texts()
        self._end_ids = model.end_ids

    def text(self, task: GuidedTask) -> str:
        ids = [i for i in task.ids if i not in self._end_ids]
        return str(self._model.tokenizer.decode(ids, skip_special_tokens=True))

    def run(self, tasks: Sequence[GuidedTask]) -> None:
        """Decode every task to its end (constraint complete, end token, max_tokens, or its caller gone)."""
        active = [task for task in tasks if task.finish is None]
        while active:
            for task in active:
                task._resume = False
            batch = active
            prompts = [list(task.prompt) + task.ids for task in batch]
            steps = _StepLogits([len(prompt) for prompt in prompts])

            def on_step(step: Any, batch: list[GuidedTask] = batch, steps: _StepLogits = steps) -> bool:
                stop = self._on_step(batch[step.batch_id], step, steps)
                if stop:
                    steps.stopped(step)
                return stop

            self._model.decode_steps(
                prompts,
                max(task.max_tokens - len(task.ids) for task in batch),
                on_step,
            )
            for task in active:
                if task._refetch and task.finish is None:
                    self._refetch(task)
                if task.finish is None and not task._resume:
                    task.finish = Finish.LENGTH  # the engine ran out of length
            active = [task for task in active if task.finish is None]

    def _on_step(self, task: GuidedTask, step: Any, steps: _StepLogits) -> bool:
        if task.finish is not None or task._resume:
            return True
        if not task.alive():
            task.finish = Finish.LENGTH
            return True
        logits = steps.row(step)
        if logits is None:  # this step's row cannot be told apart in the batch: ask for it alone
            task._refetch = True
            task._resume = True
            return True
        return self._apply(task, int(step.token_id), logits)

    def _refetch(self, task: GuidedTask) -> None:
        """The step for a task whose logits were not available in its batch, decoded on its own."""
        task._refetch = False
        task.refetches += 1
        logits = self._model.next_logits(list(task.prompt) + task.ids)
        if not self._apply(task, int(np.argmax(logits)), logits):
            task._resume = True

    def _apply(self, task: GuidedTask, token: int, logits: np.ndarray) -> bool:
        """Keep the model's token if the constraint allows it, else correct it; True when this run must stop."""
        k = min(TOP_K, logits.shape[0])
        top = np.argpartition(logits, -k)[-k:]
        top = top[np.argsort(-logits[top])]
        peak = float(logits[top[0]])
        log_z = peak + math.log(float(np.exp(logits - peak).sum()))
        state = self._advance(task, token)
        corrected = state is None
        if corrected:
            token, state = self._correct(task, logits, top)
            if state is None:  # nothing the constraint allows: the answer stays unfinished
                task.finish = Finish.LENGTH
                return True
        logprob = float(logits[token]) - log_z
        task.ids.append(token)
        task.logprobs.append(logprob)
        task.guided_logprobs.append(min(0.0, logprob - self._allowed_mass(task, logits, top, log_z, token)))
        task.corrections += corrected
        if state is _END:
            task.finish = Finish.STOP
            return True
        task.state = state
        if task.constraint.complete(state):
            task.finish = Finish.STOP
            return True
        if len(task.ids) >= task.max_tokens:
            task.finish = Finish.LENGTH
            return True
        if corrected:
            task._resume = True  # the engine's own token was refused: continue from the corrected prefix
            return True
        return False

    def _advance(self, task: GuidedTask, token: int) -> Any | None:
        if token in self._end_ids:
            return _END if task.constraint.accepts(task.state) else None
        text = self._texts[token] if token < len(self._texts) else None
        if text is None:
            return None
        return task.constraint.advance(task.state, text)

    def _correct(self, task: GuidedTask, logits: np.ndarray, top: np.ndarray) -> tuple[int, Any | None]:
        """The most likely token the constraint allows: the step's top tokens first, then the whole vocabulary."""
        for token in top:
            state = self._advance(task, int(token))
            if state is not None:
                return int(token), state
        for token in np.argsort(-logits):
            state = self._advance(task, int(token))
            if state is not None:
                return int(token), state
        return -1, None

    def _allowed_mass(self, task: GuidedTask, logits: np.ndarray, top: np.ndarray, log_z: float, chosen: int) -> float:
        """Log of the probability the constraint leaves among the step's top tokens (the chosen one included).

        Called before `task.state` moves on, so every candidate is checked from the state the step started in.
        """
        masses = [float(logits[chosen]) - log_z]
        for token in top:
            token_id = int(token)
            if token_id != chosen and self._advance(task, token_id) is not None:
                masses.append(float(logits[token_id]) - log_z)
        peak = max(masses)
        return peak + math.log(sum(math.exp(m - peak) for m in masses))
