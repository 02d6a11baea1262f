"""SentenceEncoder: all-MiniLM-L6-v2 on a CTranslate2 Encoder, mean pooling over last_hidden_state, L2-normalised.

`pooler_output` is BERT's tanh pooler over [CLS], not the sentence embedding sentence-transformers defines; the
embedding is the mean of the token states over the real (unpadded) tokens. Batches go to CTranslate2 as ragged
lists of ids, so no padding is computed; the outputs come back padded to the longest input and are masked here.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from shared.embedding.convert import INFO_FILE, TOKENIZER_FILE

# The shipped tokenizer truncates at 256 tokens (the length MiniLM was trained on): longer texts are embedded by
# their first 256 tokens, [CLS] and [SEP] included.
MAX_POSITIONS = 256
DEFAULT_INTRA_THREADS = min(4, os.cpu_count() or 1)


def _prefer_mkl_backend() -> None:
    """CTranslate2 picks its CPU backend when it is first imported and uses MKL (the only one with int16 GEMM)
    only on Intel CPUs unless CT2_USE_MKL=1; on AMD it offers no int16 otherwise. An explicit setting wins.
    (On AMD, MKL is slower than the default oneDNN backend for int8 and float32: see docs/cache.md.)"""
    if "ctranslate2" not in sys.modules:
        os.environ.setdefault("CT2_USE_MKL", "1")


@dataclass(frozen=True, slots=True)
class TokenStates:
    """One text's contextual token vectors (last hidden state), with each token's word index and character span."""

    states: npt.NDArray[np.float32]  # (tokens, dimensions)
    ids: list[int]
    word_ids: list[int | None]
    offsets: list[tuple[int, int]]


class SentenceEncoder:
    """Embeds texts into unit vectors. Thread-safe for concurrent `embed` calls (CTranslate2 queues them)."""

    def __init__(
        self,
        model_dir: Path,
        *,
        compute_type: str = "int16",
        intra_threads: int = DEFAULT_INTRA_THREADS,
    ) -> None:
        info_path = model_dir / INFO_FILE
        if not info_path.is_file():
            raise FileNotFoundError(f"{model_dir} is not a converted sentence encoder (no {INFO_FILE})")
        if compute_type == "int16":
            _prefer_mkl_backend()
        import ctranslate2
        from tokenizers import Tokenizer

        supported = ctranslate2.get_supported_compute_types("cpu")
        if compute_type not in supported and compute_type not in ("default", "auto"):
            raise ValueError(
                f"compute type {compute_type!r} is not available on this CPU backend (available: {sorted(supported)});"
                " int16 needs the MKL backend: set CT2_USE_MKL=1 before ctranslate2 is first imported"
            )

        info = json.loads(info_path.read_text(encoding="utf-8"))
        self.dimensions: int = int(info["dimensions"])
        self.name: str = model_dir.name
        self.compute_type = compute_type
        self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self._encoder = ctranslate2.Encoder(
            str(model_dir), device="cpu", compute_type=compute_type, intra_threads=intra_threads
        )

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Return float32 unit vectors of shape (len(texts), dimensions)."""
        return self.encode(texts)[0]

    def embed_ids(self, ids: list[list[int]]) -> npt.NDArray[np.float32]:
        """`embed` for texts already tokenised (a caller may shorten them first, keeping the final [SEP])."""
        if not ids:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        output = self._encoder.forward_batch(ids)
        hidden = np.asarray(output.last_hidden_state, dtype=np.float32)  # (n, longest, dimensions)
        return self._pool(hidden, np.array([len(row) for row in ids], dtype=np.int64))

    def encode(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.float32], list[TokenStates]]:
        """The sentence vectors and, from the same forward pass, each text's contextual token states (the
        [CLS] and [SEP] states left out)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32), []
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = [encoding.ids for encoding in encodings]
        output = self._encoder.forward_batch(ids)
        hidden = np.asarray(output.last_hidden_state, dtype=np.float32)  # (n, longest, dimensions)
        lengths = np.array([len(row) for row in ids], dtype=np.int64)
        tokens = [
            TokenStates(
                states=hidden[row, 1 : lengths[row] - 1],
                ids=list(encoding.ids[1:-1]),
                word_ids=list(encoding.word_ids[1:-1]),
                offsets=list(encoding.offsets[1:-1]),
            )
            for row, encoding in enumerate(encodings)
        ]
        return self._pool(hidden, lengths), tokens

    def _pool(self, hidden: npt.NDArray[np.float32], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        mask = (np.arange(hidden.shape[1])[None, :] < lengths[:, None]).astype(np.float32)
        summed = np.einsum("nt,ntd->nd", mask, hidden)
        pooled = summed / np.maximum(lengths, 1)[:, None].astype(np.float32)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: npt.NDArray[np.float32] = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return result
