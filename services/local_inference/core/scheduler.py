"""Batching of concurrent requests onto the model, with a bounded queue and deadlines.

Requests wait in one queue (at most `max_queue`; beyond that `Overloaded` with a retry delay). A dispatcher takes
a free worker slot (one per CTranslate2 `inter_threads`), then gathers up to `max_batch_size` compatible jobs,
waiting at most `max_wait_s` after the first for company. Jobs whose caller gave up or whose deadline passed are
dropped before they run, and stopped at their next token while they run.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from services.local_inference.core.constraints import Constraint
from services.local_inference.core.decoding import DecodeParams, Generation, TextAccumulator
from services.local_inference.core.engine import LocalModel
from services.local_inference.core.guided import GuidedDecoder, GuidedTask
from shared.errors import BourseError, DeadlineExceeded, Overloaded


@dataclass(frozen=True, slots=True)
class SchedulerOptions:
    max_batch_size: int = 8
    max_wait_s: float = 0.005
    max_queue: int = 64
    workers: int = 1  # batches decoded at once; equals the engine's inter_threads


@dataclass
class SchedulerStats:
    """Counters for logs, metrics and tests."""

    batches: int = 0
    largest_batch: int = 0
    dropped: int = 0  # dead before they ran (caller gone or deadline passed)
    stopped_early: int = 0  # decoding stopped because the caller went away mid-generation


@dataclass(eq=False)
class _Job:
    key: tuple[Any, ...]
    deadline: float | None
    future: asyncio.Future[Any]
    enqueued: float = field(default_factory=time.monotonic)
    abandoned: bool = False

    def dead(self, now: float) -> bool:
        return self.abandoned or self.future.done() or (self.deadline is not None and now >= self.deadline)


@dataclass(eq=False)
class _GenerateJob(_Job):
    prompt: Sequence[int] = ()
    params: DecodeParams = field(default_factory=lambda: DecodeParams(max_tokens=1))
    accumulator: TextAccumulator | None = None
    deltas: asyncio.Queue[str | None] | None = None


@dataclass(eq=False)
class _GuidedJob(_Job):
    prompt: Sequence[int] = ()
    constraint: Constraint | None = None
    max_tokens: int = 1


@dataclass(eq=False)
class _ScoreJob(_Job):
    sequences: Sequence[Sequence[int]] = ()
    tails: Sequence[int] = ()


class GenerationStream:
    """Text deltas of one generation as they are decoded, then the finished Generation.

    Leaving `deltas()` early (break, cancellation, a client that hung up) gives the generation up: decoding
    stops at its next token.
    """

    def __init__(self, job: _GenerateJob, deltas: asyncio.Queue[str | None]) -> None:
        self._job = job
        self._deltas = deltas

    async def deltas(self) -> AsyncIterator[str]:
        try:
            while (delta := await self._deltas.get()) is not None:
                yield delta
        except BaseException:
            self._job.abandoned = True
            raise

    async def result(self) -> Generation:
        generation: Generation = await _await_job(self._job)
        return generation


async def _await_job(job: _Job) -> Any:
    try:
        return await asyncio.shield(job.future)
    except asyncio.CancelledError:
        job.abandoned = True  # the worker sees this at the next token and stops decoding for this job
        raise


class Scheduler:
    """Owns the queue, the dispatcher task and the worker threads. Start once, stop once."""

    def __init__(self, model: LocalModel, options: SchedulerOptions) -> None:
        self._model = model
        self._options = options
        self._pending: deque[_Job] = deque()
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(options.workers)
        self._executor = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="ct2-batch")
        self._dispatcher: asyncio.Task[None] | None = None
        self._batch_s = 0.1  # moving average of a batch's duration, for the retry delay under overload
        self._running: set[asyncio.Future[None]] = set()
        self._guided = GuidedDecoder(model)
        self.stats = SchedulerStats()

    @property
    def queued(self) -> int:
        return len(self._pending)

    @property
    def idle(self) -> bool:
        return not self._pending and not self._running

    def start(self) -> None:
        self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch(), name="local-inference-dispatch")

    async def stop(self) -> None:
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dispatcher
        for job in self._pending:
            if not job.future.done():
                job.future.set_exception(Overloaded("the local model is shutting down", retry_after_s=1.0))
        self._pending.clear()
        if self._running:
            await asyncio.wait(self._running)
        self._executor.shutdown(wait=True)

    async def generate(
        self, prompt: Sequence[int], params: DecodeParams, stop: Sequence[str], deadline: float | None
    ) -> Generation:
        job = self._generate_job(prompt, params, stop, deadline, stream=False)
        generation: Generation = await _await_job(job)
        return generation

    def generate_stream(
        self, prompt: Sequence[int], params: DecodeParams, stop: Sequence[str], deadline: float | None
    ) -> GenerationStream:
        job = self._generate_job(prompt, params, stop, deadline, stream=True)
        assert job.deltas is not None
        return GenerationStream(job, job.deltas)

    async def score(
        self, sequences: Sequence[Sequence[int]], tails: Sequence[int], deadline: float | None
    ) -> list[float]:
        future: asyncio.Future[list[float]] = asyncio.get_running_loop().create_future()
        job = _ScoreJob(key=("score",), deadline=deadline, future=future, sequences=sequences, tails=tails)
        self._enqueue(job)
        scores: list[float] = await _await_job(job)
        return scores

    async def generate_guided(
        self, prompt: Sequence[int], constraint: Constraint, max_tokens: int, deadline: float | None
    ) -> Generation:
        """Greedy decoding under `constraint` (see guided.py); guided jobs are batched with each other."""
        future: asyncio.Future[Generation] = asyncio.get_running_loop().create_future()
        job = _GuidedJob(
            key=("guided",),
            deadline=deadline,
            future=future,
            prompt=prompt,
            constraint=constraint,
            max_tokens=max_tokens,
        )
        self._enqueue(job)
        generation: Generation = await _await_job(job)
        return generation

    def _generate_job(
        self, prompt: Sequence[int], params: DecodeParams, stop: Sequence[str], deadline: float | None, *, stream: bool
    ) -> _GenerateJob:
        future: asyncio.Future[Generation] = asyncio.get_running_loop().create_future()
        accumulator = TextAccumulator(
            self._model.tokenizer, end_ids=self._model.end_ids, stop=stop, max_tokens=params.max_tokens
        )
        job = _GenerateJob(
            key=("generate", params),
            deadline=deadline,
            future=future,
            prompt=prompt,
            params=params,
            accumulator=accumulator,
            deltas=asyncio.Queue() if stream else None,
        )
        self._enqueue(job)
        return job

    def _enqueue(self, job: _Job) -> None:
        if len(self._pending) >= self._options.max_queue:
            batches_ahead = len(self._pending) / (self._options.max_batch_size * self._options.workers)
            raise Overloaded(
                f"local model queue is full ({self._options.max_queue} waiting)",
                retry_after_s=round(max(0.05, batches_ahead * self._batch_s), 3),
            )
        self._pending.append(job)
        self._wakeup.set()

    async def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._slots.acquire()
            batch = await self._gather()
            started = time.monotonic()
            work = loop.run_in_executor(self._executor, self._run, batch, started, loop)
            self._running.add(work)
            work.add_done_callback(self._finished)

    def _finished(self, work: asyncio.Future[None]) -> None:
        self._running.discard(work)
        self._slots.release()

    async def _gather(self) -> list[_Job]:
        """Wait for live work, linger up to max_wait_s for more, return one batch of compatible jobs."""
        while True:
            while not self._pending:
                self._wakeup.clear()
                await self._wakeup.wait()
            linger_until = time.monotonic() + self._options.max_wait_s
            while len(self._pending) < self._options.max_batch_size:
                remaining = linger_until - time.monotonic()
                if remaining <= 0:
                    break
                self._wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), remaining)
            batch = self._take_batch()
            if batch:
                return batch

    def _take_batch(self) -> list[_Job]:
        now = time.monotonic()
        batch: list[_Job] = []
        kept: deque[_Job] = deque()
        while self._pending:
            job = self._pending.popleft()
            if job.dead(now):
                self.stats.dropped += 1
                _drop(job)
            elif len(batch) < self._options.max_batch_size and (not batch or job.key == batch[0].key):
                batch.append(job)
            else:
                kept.append(job)
        self._pending = kept
        if batch:
            self.stats.batches += 1
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
        return batch

    def _run(self, batch: list[_Job], started: float, loop: asyncio.AbstractEventLoop) -> None:
        """Worker thread: decode or score one batch, then resolve every job on the event loop."""
        try:
            kind = batch[0].key[0]
            outcomes: list[Any] = (
                self._score(batch)
                if kind == "score"
                else self._decode_guided(batch)
                if kind == "guided"
                else self._decode(batch, loop)
            )
        except Exception as error:  # noqa: BLE001 -- the model failed: every caller of this batch must hear about it
            outcomes = [error] * len(batch)
        finished = time.monotonic()
        self._batch_s = 0.8 * self._batch_s + 0.2 * (finished - started)
        for job, outcome in zip(batch, outcomes, strict=True):
            loop.call_soon_threadsafe(_resolve, job, outcome, started - job.enqueued, finished - started)

    def _decode(self, batch: list[_Job], loop: asyncio.AbstractEventLoop) -> list[Any]:
        jobs = [job for job in batch if isinstance(job, _GenerateJob)]

        def on_token(index: int, token_id: int) -> bool:
            job = jobs[index]
            if job.dead(time.monotonic()):
                if job.accumulator is not None and job.accumulator.finish is None:
                    job.accumulator.close()
                    self.stats.stopped_early += 1
                return True
            assert job.accumulator is not None
            delta = job.accumulator.push(token_id)
            if delta and job.deltas is not None:
                loop.call_soon_threadsafe(job.deltas.put_nowait, delta)
            return job.accumulator.finish is not None

        self._model.generate([job.prompt for job in jobs], jobs[0].params, on_token)
        outcomes: list[Any] = []
        for job in jobs:
            assert job.accumulator is not None
            tail = job.accumulator.close()
            if tail and job.deltas is not None:
                loop.call_soon_threadsafe(job.deltas.put_nowait, tail)
            outcomes.append(job.accumulator)
        return outcomes

    def _decode_guided(self, batch: list[_Job]) -> list[Any]:
        tasks = []
        for job in batch:
            assert isinstance(job, _GuidedJob) and job.constraint is not None
            tasks.append(GuidedTask(job.prompt, job.constraint, job.max_tokens, alive=_alive(job)))
        self._guided.run(tasks)
        return [_GuidedResult(task, self._guided.text(task)) for task in tasks]

    def _score(self, batch: list[_Job]) -> list[Any]:
        jobs = [job for job in batch if isinstance(job, _ScoreJob)]
        sequences = [sequence for job in jobs for sequence in job.sequences]
        tails = [tail for job in jobs for tail in job.tails]
        flat = self._model.score(sequences, tails)
        outcomes: list[Any] = []
        for job in jobs:
            outcomes.append(flat[: len(job.sequences)])
            flat = flat[len(job.sequences) :]
        return outcomes


def _alive(job: _Job) -> Callable[[], bool]:
    def alive() -> bool:
        return not job.dead(time.monotonic())

    return alive


@dataclass(frozen=True, slots=True)
class _GuidedResult:
    task: GuidedTask
    text: str


def _drop(job: _Job) -> None:
    if job.abandoned:
        job.future.cancel()  # nobody waits for it; an exception here would only be logged as never retrieved
    elif not job.future.done():
        job.future.set_exception(DeadlineExceeded("deadline passed while queued for the local model"))
    if isinstance(job, _GenerateJob) and job.deltas is not None:
        job.deltas.put_nowait(None)


def _resolve(job: _Job, outcome: Any, queue_s: float, compute_s: float) -> None:
    if isinstance(job, _GenerateJob) and job.deltas is not None:
        job.deltas.put_nowait(None)
    if job.abandoned:
        job.future.cancel()
        return
    if job.future.done():
        return
    if isinstance(outcome, BaseException):
        error = outcome if isinstance(outcome, BourseError) else RuntimeError(f"local model failed: {outcome}")
        job.future.set_exception(error)
    elif isinstance(outcome, _GuidedResult):
        if job.deadline is not None and time.monotonic() >= job.deadline:
            job.future.set_exception(DeadlineExceeded("deadline passed while the local model was generating"))
            return
        task = outcome.task
        assert isinstance(job, _GuidedJob) and task.finish is not None
        job.future.set_result(
            Generation(
                text=outcome.text,
                prompt_tokens=len(job.prompt),
                completion_tokens=len(task.ids),
                finish=task.finish,
                queue_s=queue_s,
                compute_s=compute_s,
                logprobs=tuple(task.logprobs),
                guided_logprobs=tuple(task.guided_logprobs),
                corrections=task.corrections,
            )
        )
    elif isinstance(outcome, TextAccumulator):
        if job.deadline is not None and time.monotonic() >= job.deadline:
            job.future.set_exception(DeadlineExceeded("deadline passed while the local model was generating"))
            return
        assert isinstance(job, _GenerateJob) and outcome.finish is not None
        job.future.set_result(
            Generation(
                text=outcome.text,
                prompt_tokens=len(job.prompt),
                completion_tokens=outcome.completion_tokens,
                finish=outcome.finish,
                queue_s=queue_s,
                compute_s=compute_s,
            )
        )
    else:
        job.future.set_result(outcome)
