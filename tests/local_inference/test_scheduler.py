"""Batching, back-pressure, deadlines and abandoned work, on the tiny model (real CTranslate2)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from services.local_inference.core.chat_template import ChatTurn
from services.local_inference.core.decoding import DecodeParams, Finish
from services.local_inference.core.engine import LocalModel
from services.local_inference.core.inference import Limits, LocalInference, Sampling
from services.local_inference.core.scheduler import Scheduler, SchedulerOptions
from shared.errors import DeadlineExceeded, InvalidRequest, Overloaded
from tests.support.eventually import eventually

GREEDY = DecodeParams(max_tokens=12)


@pytest.fixture
async def scheduler(tiny_model: LocalModel) -> AsyncIterator[Scheduler]:
    sched = Scheduler(tiny_model, SchedulerOptions(max_batch_size=4, max_wait_s=0.2, max_queue=8, workers=1))
    sched.start()
    yield sched
    await sched.stop()


def prompt(model: LocalModel, text: str) -> list[int]:
    return model.prompt_ids([ChatTurn("user", text)])


async def test_concurrent_requests_share_a_batch_and_match_single_runs(
    scheduler: Scheduler, tiny_model: LocalModel
) -> None:
    texts = ["one", "a longer second prompt", "3", "four four"]
    batched = await asyncio.gather(*[scheduler.generate(prompt(tiny_model, t), GREEDY, (), None) for t in texts])
    assert scheduler.stats.batches == 1 and scheduler.stats.largest_batch == 4
    singles = [await scheduler.generate(prompt(tiny_model, t), GREEDY, (), None) for t in texts]
    assert [g.text for g in batched] == [g.text for g in singles]
    for generation, text in zip(batched, texts, strict=True):
        assert generation.prompt_tokens == len(prompt(tiny_model, text))
        assert 0 < generation.completion_tokens <= GREEDY.max_tokens
        assert generation.compute_s > 0 and generation.queue_s >= 0


async def test_different_sampling_never_shares_a_batch(scheduler: Scheduler, tiny_model: LocalModel) -> None:
    p = prompt(tiny_model, "hello")
    short, long = await asyncio.gather(
        scheduler.generate(p, DecodeParams(max_tokens=2), (), None),
        scheduler.generate(p, DecodeParams(max_tokens=10), (), None),
    )
    assert scheduler.stats.batches == 2
    assert short.completion_tokens <= 2 and long.completion_tokens <= 10


async def test_full_queue_is_overloaded_with_retry_delay(tiny_model: LocalModel) -> None:
    sched = Scheduler(tiny_model, SchedulerOptions(max_batch_size=1, max_wait_s=0.0, max_queue=2, workers=1))
    try:
        p = prompt(tiny_model, "x")
        accepted = [asyncio.ensure_future(sched.generate(p, GREEDY, (), None)) for _ in range(2)]
        await eventually(lambda: sched.queued == 2)  # the dispatcher is not started yet: both wait
        with pytest.raises(Overloaded) as caught:
            await sched.generate(p, GREEDY, (), None)
        assert caught.value.retry_after_s is not None and caught.value.retry_after_s > 0
        assert caught.value.retryable
        sched.start()
        assert all(g.completion_tokens > 0 for g in await asyncio.gather(*accepted))
    finally:
        await sched.stop()


async def test_expired_deadline_is_dropped_before_running(scheduler: Scheduler, tiny_model: LocalModel) -> None:
    with pytest.raises(DeadlineExceeded):
        await scheduler.generate(prompt(tiny_model, "late"), GREEDY, (), time.monotonic() - 1)
    assert scheduler.stats.dropped == 1
    assert scheduler.stats.batches == 0


async def test_cancelled_caller_stops_decoding(scheduler: Scheduler, tiny_model: LocalModel) -> None:
    stream = scheduler.generate_stream(prompt(tiny_model, "go"), DecodeParams(max_tokens=1000), (), None)

    async def read_one() -> None:
        async for _delta in stream.deltas():
            await asyncio.sleep(3600)  # the caller hangs after the first delta, then goes away

    reader = asyncio.ensure_future(read_one())
    await eventually(lambda: scheduler.stats.batches == 1)
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    await eventually(lambda: scheduler.idle)
    assert scheduler.stats.stopped_early == 1
    # the service is still fine afterwards
    generation = await scheduler.generate(prompt(tiny_model, "go"), GREEDY, (), None)
    assert generation.completion_tokens > 0


async def test_cancelled_before_dispatch_is_dropped(tiny_model: LocalModel) -> None:
    sched = Scheduler(tiny_model, SchedulerOptions(max_batch_size=1, max_wait_s=0.0, max_queue=4, workers=1))
    sched.start()
    try:
        p = prompt(tiny_model, "x")
        first = asyncio.ensure_future(sched.generate(p, DecodeParams(max_tokens=200), (), None))
        second = asyncio.ensure_future(sched.generate(p, GREEDY, (), None))
        await asyncio.sleep(0)
        second.cancel()
        await first
        await eventually(lambda: sched.idle)
        assert sched.stats.dropped + sched.stats.stopped_early == 1
    finally:
        await sched.stop()


async def test_stream_deltas_add_up_to_the_text(scheduler: Scheduler, tiny_model: LocalModel) -> None:
    p = prompt(tiny_model, "stream me")
    stream = scheduler.generate_stream(p, GREEDY, (), None)
    deltas = [delta async for delta in stream.deltas()]
    generation = await stream.result()
    whole = await scheduler.generate(p, GREEDY, (), None)
    assert "".join(deltas) == generation.text == whole.text
    assert generation.finish == whole.finish


async def test_stop_sequence_cuts_generation(scheduler: Scheduler, tiny_model: LocalModel) -> None:
    p = prompt(tiny_model, "hello")
    full = await scheduler.generate(p, DecodeParams(max_tokens=30), (), None)
    visible = full.text.replace("\ufffd", "")
    assert len(visible) >= 4
    stop = visible[len(visible) // 2 : len(visible) // 2 + 2]
    cut = await scheduler.generate(p, DecodeParams(max_tokens=30), (stop,), None)
    assert cut.finish is Finish.STOP
    assert stop not in cut.text
    assert full.text.startswith(cut.text)


async def test_score_ranks_labels_and_normalises(scheduler: Scheduler, tiny_model: LocalModel) -> None:
    inference = LocalInference(tiny_model, scheduler, Limits())
    turns = [ChatTurn("user", "pick one")]
    scores = await inference.score(turns, ["alpha", "beta", "gamma delta"], None)
    assert [s.logprob for s in scores] == sorted((s.logprob for s in scores), reverse=True)
    assert sum(s.probability for s in scores) == pytest.approx(1.0)
    assert all(s.logprob < 0 for s in scores)
    # the same labels scored one by one (no batching) give the same log-probabilities
    prompt_ids = tiny_model.prompt_ids(turns)
    for score in scores:
        answer = tiny_model.answer_ids(score.label)
        (alone,) = tiny_model.score([prompt_ids + answer], [len(answer)])
        assert alone == pytest.approx(score.logprob, abs=1e-3)


@pytest.mark.parametrize(
    ("labels", "field"),
    [(["only"], "labels"), (["a", "a"], "labels"), (["a", ""], "labels[1]"), ([str(i) for i in range(65)], "labels")],
)
async def test_bad_labels_are_invalid(
    scheduler: Scheduler, tiny_model: LocalModel, labels: list[str], field: str
) -> None:
    inference = LocalInference(tiny_model, scheduler, Limits())
    with pytest.raises(InvalidRequest) as caught:
        await inference.score([ChatTurn("user", "x")], labels, None)
    assert field in [v.field for v in caught.value.violations]


async def test_system_prompt_is_folded_into_the_first_user_turn(scheduler: Scheduler, tiny_model: LocalModel) -> None:
    folded = LocalInference(tiny_model, scheduler, Limits(fold_system_prompt=True))
    kept = LocalInference(tiny_model, scheduler, Limits(fold_system_prompt=False))
    turns = [ChatTurn("system", "Be brief."), ChatTurn("user", "hi")]
    assert folded._turns(turns) == [ChatTurn("user", "Be brief.\n\nhi")]
    assert kept._turns(turns) == turns
    assert folded._turns([ChatTurn("system", "only")]) == [ChatTurn("user", "only")]


async def test_context_window_is_enforced(scheduler: Scheduler, tiny_model: LocalModel) -> None:
    inference = LocalInference(tiny_model, scheduler, Limits(max_tokens_limit=1024))
    with pytest.raises(InvalidRequest) as caught:
        await inference.generate([ChatTurn("user", "x " * 300)], Sampling(max_tokens=10), None)
    assert caught.value.reason == "CONTEXT_LENGTH_EXCEEDED"
    assert caught.value.metadata["context_window"] == "512"
