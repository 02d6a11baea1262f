"""Embed: the shared MiniLM sentence encoder (the same vectors as the cache's), run off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shared.embedding.encoder import SentenceEncoder
from shared.errors import FieldViolation, InvalidRequest

MAX_TEXTS = 256


@dataclass(frozen=True, slots=True)
class Embeddings:
    vectors: npt.NDArray[np.float32]
    prompt_tokens: int


class Embedder:
    def __init__(self, encoder: SentenceEncoder) -> None:
        self._encoder = encoder
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")

    @property
    def model_name(self) -> str:
        return self._encoder.name

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        if not texts:
            raise InvalidRequest("texts is empty", violations=[FieldViolation("texts", "at least one text")])
        if len(texts) > MAX_TEXTS:
            raise InvalidRequest(
                f"{len(texts)} texts given, at most {MAX_TEXTS}",
                violations=[FieldViolation("texts", f"at most {MAX_TEXTS} texts")],
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._embed, list(texts))

    def _embed(self, texts: list[str]) -> Embeddings:
        tokens = sum(len(ids) for ids in self._encoder.token_ids(texts))
        return Embeddings(vectors=self._encoder.embed(texts), prompt_tokens=tokens)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
