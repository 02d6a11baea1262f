"""The request-time path of the difficulty predictor: prompt text -> (embedding) -> features -> Prediction.

`bourse routing evaluate` and the router call the same `PromptScorer.predict`, so an evaluated score is the
score a request gets. The embedding uses the process's one sentence encoder, on the first
`embedding_max_tokens` tokens of the prompt (the weights say how many: training used the same cut), which keeps
the encoder's cost bounded whatever the prompt's length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt
from bourse.common.v1 import chat_pb2

from services.router.core.quality.predictor import DifficultyPredictor, Prediction

# The predictor reads at most this many characters: text_features is linear in the length, and the embedding
# only sees the first tokens anyway (the length features saturate long before).
MAX_PROMPT_CHARS = 16_384


class TokenEncoder(Protocol):
    """What the scorer needs of shared.embedding.encoder.SentenceEncoder."""

    name: str
    dimensions: int

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]: ...

    def embed_ids(self, ids: list[list[int]]) -> npt.NDArray[np.float32]: ...


class PromptScorer:
    def __init__(self, predictor: DifficultyPredictor, encoder: TokenEncoder | None) -> None:
        info = predictor.info
        if info.embedding_dimensions:
            if encoder is None:
                raise ValueError(f"the predictor needs the {info.encoder} sentence encoder")
            if encoder.dimensions != info.embedding_dimensions or not encoder.name.startswith(info.encoder):
                raise ValueError(
                    f"the predictor was trained on {info.encoder} ({info.embedding_dimensions} dimensions),"
                    f" not {encoder.name} ({encoder.dimensions})"
                )
        self.predictor = predictor
        self._encoder = encoder if info.embedding_dimensions else None
        self._max_tokens = info.embedding_max_tokens

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32] | None:
        """Embeddings of the prompts as the predictor wants them (None when it uses none)."""
        if self._encoder is None:
            return None
        ids = [
            cut_tokens(row, self._max_tokens) for row in self._encoder.token_ids([t[:MAX_PROMPT_CHARS] for t in texts])
        ]
        return self._encoder.embed_ids(ids)

    def predict(self, text: str) -> Prediction:
        text = text[:MAX_PROMPT_CHARS]
        embedded = self.embed([text])
        return self.predictor.predict(text, None if embedded is None else embedded[0])


def cut_tokens(ids: list[int], max_tokens: int) -> list[int]:
    if max_tokens <= 0 or len(ids) <= max_tokens:
        return ids
    return [*ids[: max_tokens - 1], ids[-1]]  # keep the closing [SEP]


def prompt_text(chat: chat_pb2.ChatRequest) -> str:
    """The text the predictor reads: the last user message's text parts (what the cache embeds too)."""
    for message in reversed(chat.messages):
        if message.role == chat_pb2.ROLE_USER:
            return "\n".join(part.text for part in message.content if part.WhichOneof("part") == "text")
    return ""
