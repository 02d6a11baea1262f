"""Labelled prompts as training matrices: features through the request-time scorer, embeddings cached on disk.

Embedding 12,500 prompts takes minutes on a busy machine, so they are cached under `var/quality/` (not
committed), keyed by a hash of the prompts, the encoder and the token cut: any change recomputes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.router.core.quality.labels import LabelledPrompt
from services.router.core.quality.scorer import MAX_PROMPT_CHARS, TokenEncoder, cut_tokens
from services.router.core.quality.text_features import text_features

DEFAULT_CACHE_DIR = Path("var/quality")
_BATCH = 32


@dataclass(frozen=True, slots=True)
class Matrices:
    features: npt.NDArray[np.float32]  # (n, embedding dimensions + text features)
    cheap: npt.NDArray[np.float64]
    strong: npt.NDArray[np.float64]
    lengths: npt.NDArray[np.float64]  # prompt length in characters: the baseline router
    subjects: list[str]


def cached_embeddings(
    prompts: Sequence[str],
    encoder: TokenEncoder,
    *,
    max_tokens: int,
    cache_dir: Path = DEFAULT_CACHE_DIR,
) -> npt.NDArray[np.float32]:
    digest = hashlib.sha256()
    digest.update(f"{encoder.name}\0{max_tokens}\0{MAX_PROMPT_CHARS}\0".encode())
    for prompt in prompts:
        digest.update(prompt.encode())
        digest.update(b"\0")
    path = cache_dir / f"embeddings-{digest.hexdigest()[:20]}.npy"
    if path.is_file():
        cached: npt.NDArray[np.float32] = np.load(path)
        if cached.shape == (len(prompts), encoder.dimensions):
            return cached
    ids = [cut_tokens(row, max_tokens) for row in encoder.token_ids([p[:MAX_PROMPT_CHARS] for p in prompts])]
    order = np.argsort([len(row) for row in ids], kind="stable")  # similar lengths per batch: little padding
    out = np.zeros((len(prompts), encoder.dimensions), dtype=np.float32)
    for start in range(0, len(ids), _BATCH):
        batch = order[start : start + _BATCH]
        out[batch] = encoder.embed_ids([ids[i] for i in batch])
    cache_dir.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def matrices(rows: Sequence[LabelledPrompt], embeddings: npt.NDArray[np.float32] | None) -> Matrices:
    surface = np.stack([text_features(row.prompt[:MAX_PROMPT_CHARS]) for row in rows])
    features = surface if embeddings is None else np.hstack((embeddings, surface)).astype(np.float32)
    return Matrices(
        features=features,
        cheap=np.array([row.cheap_correct for row in rows], dtype=np.float64),
        strong=np.array([row.strong_correct for row in rows], dtype=np.float64),
        lengths=np.array([len(row.prompt) for row in rows], dtype=np.float64),
        subjects=[row.subject for row in rows],
    )
