"""The loaded model: CTranslate2 generator, tokenizer and chat template. Synchronous; called from worker threads.

CTranslate2 runs `inter_threads` batches in parallel, each on `intra_threads` cores; one Python thread per
parallel batch drives it (see scheduler.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from services.local_inference.core.chat_template import ChatTemplate, ChatTurn
from services.local_inference.core.decoding import DecodeParams
from services.local_inference.core.model_files import TOKENIZER_FILE, ModelMetadata, read_metadata

# CTranslate2 calls this once per generated token of batch index `batch_id`; True stops that sequence.
TokenCallback = Callable[[int, int], bool]
# The same for guided decoding, with the whole step: batch_id, token_id, log_prob and the vocabulary's logits.
StepCallback = Callable[[Any], bool]


@dataclass(frozen=True, slots=True)
class EngineOptions:
    compute_type: str = "int8"
    inter_threads: int = 1
    intra_threads: int = 2


class TokenRelay:
    """The callback handed to CTranslate2: forwards steps to `on_token` until released.

    CTranslate2 keeps its copy of the callback until its worker thread destroys the finished job, which can be
    after `generate_batch` has returned. Once released, that copy holds nothing, so dropping it on the worker
    cannot free the scheduler or the model (whose destructor would then join the worker from inside itself).
    """

    __slots__ = ("_on_token",)

    def __init__(self, on_token: TokenCallback) -> None:
        self._on_token: TokenCallback | None = on_token

    def __call__(self, step: Any) -> bool:
        on_token = self._on_token
        if on_token is None:
            return True
        return on_token(step.batch_id, step.token_id)

    def release(self) -> None:
        self._on_token = None


class StepRelay:
    """Like TokenRelay, for `decode_steps`: forwards the whole step (ids, log-probability, logits)."""

    __slots__ = ("_on_step",)

    def __init__(self, on_step: StepCallback) -> None:
        self._on_step: StepCallback | None = on_step

    def __call__(self, step: Any) -> bool:
        on_step = self._on_step
        return True if on_step is None else on_step(step)

    def release(self) -> None:
        self._on_step = None


class LocalModel:
    """A CTranslate2 decoder with everything needed to turn chats into tokens and back."""

    def __init__(self, model_dir: Path, options: EngineOptions) -> None:
        import ctranslate2

        started = time.perf_counter()
        self.metadata: ModelMetadata = read_metadata(model_dir)
        self.tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self.template = ChatTemplate(
            self.metadata.chat_template, bos_token=self.metadata.bos_token, eos_token=self.metadata.eos_token
        )
        self._generator: Any = ctranslate2.Generator(
            str(model_dir),
            device="cpu",
            compute_type=options.compute_type,
            inter_threads=options.inter_threads,
            intra_threads=options.intra_threads,
        )
        end_tokens = [t for t in (self.metadata.eos_token,) if t and self.tokenizer.token_to_id(t) is not None]
        self.end_tokens: tuple[str, ...] = tuple(end_tokens)
        self.end_ids = frozenset(i for t in end_tokens if (i := self.tokenizer.token_to_id(t)) is not None)
        self.load_s = time.perf_counter() - started

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def context_length(self) -> int:
        return self.metadata.context_length

    def prompt_ids(self, turns: Sequence[ChatTurn]) -> list[int]:
        text = self.template.render(turns, add_generation_prompt=True)
        ids: list[int] = self.tokenizer.encode(text, add_special_tokens=False).ids
        return ids

    def answer_ids(self, answer: str) -> list[int]:
        """Tokens of `answer` as the whole assistant turn, end-of-turn token included."""
        ids: list[int] = self.tokenizer.encode(answer, add_special_tokens=False).ids
        return ids + sorted(self.end_ids)[:1]

    def count_tokens(self, texts: Sequence[str]) -> int:
        return sum(len(encoding.ids) for encoding in self.tokenizer.encode_batch(list(texts), add_special_tokens=False))

    def generate(self, prompts: Sequence[Sequence[int]], params: DecodeParams, on_token: TokenCallback) -> None:
        """Decode a batch; every token goes to `on_token`, which owns the text and decides when to stop."""
        sampling: dict[str, Any] = {"sampling_topk": 1}
        if params.temperature > 0:
            sampling = {"sampling_topk": 0, "sampling_temperature": params.temperature, "sampling_topp": params.top_p}
        generator = self._live()
        relay = TokenRelay(on_token)
        try:
            generator.generate_batch(
                [self._tokens(ids) for ids in prompts],
                max_length=params.max_tokens,
                include_prompt_in_result=False,
                end_token=list(self.end_tokens) or None,
                callback=relay,
                **sampling,
            )
        finally:
            relay.release()

    def decode_steps(self, prompts: Sequence[Sequence[int]], max_tokens: int, on_step: StepCallback) -> None:
        """Greedy decoding that shows `on_step` every step with the whole vocabulary's logits; no end token is
        applied here, so `on_step` sees the end-of-turn token like any other and decides when each sequence stops.
        """
        relay = StepRelay(on_step)
        try:
            self._live().generate_batch(
                [self._tokens(ids) for ids in prompts],
                max_length=max_tokens,
                include_prompt_in_result=False,
                end_token=[],
                sampling_topk=1,
                return_scores=True,
                return_logits_vocab=True,
                callback=relay,
            )
        finally:
            relay.release()

    def next_logits(self, ids: Sequence[int]) -> Any:
        """The vocabulary logits of the token after `ids` (one sequence, one step)."""
        rows: list[Any] = []

        def keep(step: Any) -> bool:
            rows.append(np.array(step.logits, dtype=np.float32).reshape(-1))
            return True

        self.decode_steps([ids], 1, keep)
        return rows[0]

    def token_texts(self) -> list[str | None]:
        """Each token id's text, None for special tokens and pieces of a UTF-8 character (never guided to)."""
        texts: list[str | None] = []
        for token_id in range(self.tokenizer.get_vocab_size()):
            text = self.tokenizer.decode([token_id], skip_special_tokens=True)
            texts.append(text if text and "\ufffd" not in text else None)
        return texts

    def close(self) -> None:
        """Free the generator and join its threads. Call from the thread that owns the model, after the last batch.

        Idempotent. Freeing it here, rather than wherever the last reference happens to drop, keeps its destructor
        off CTranslate2's own worker threads (a worker cannot join itself: the process aborts with EDEADLK).
        """
        generator, self._generator = self._generator, None
        del generator  # CTranslate2 releases the GIL while it joins its workers

    @property
    def closed(self) -> bool:
        return self._generator is None

    def score(self, sequences: Sequence[Sequence[int]], tail_lengths: Sequence[int]) -> list[float]:
        """Sum of log-probabilities of the last `tail_lengths[i]` tokens of each sequence."""
        results = self._live().score_batch([self._tokens(ids) for ids in sequences], max_input_length=0)
        sums = []
        for result, tail in zip(results, tail_lengths, strict=True):
            log_probs = list(result.log_probs)
            sums.append(math.fsum(log_probs[-tail:]))
        return sums

    def _live(self) -> Any:
        if self._generator is None:
            raise RuntimeError(f"model {self.name} is closed")
        return self._generator

    def _tokens(self, ids: Sequence[int]) -> list[str]:
        return [str(self.tokenizer.id_to_token(i)) for i in ids]
