"""Lexical rerank of affirmed candidates: character-trigram cosine, which among near-duplicate entries picks the one
worded most like the query (the verifier decides whether a candidate may answer at all)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class TextFeatures:
    trigrams: Counter[str]
    trigram_norm: float


def features(text: str) -> TextFeatures:
    normalised = _SPACES.sub(" ", text.lower()).strip()
    trigrams = Counter(normalised[i : i + 3] for i in range(max(0, len(normalised) - 2)))
    return TextFeatures(trigrams, math.sqrt(sum(v * v for v in trigrams.values())) or 1.0)


def trigram_cosine(a: TextFeatures, b: TextFeatures) -> float:
    small, large = (a.trigrams, b.trigrams) if len(a.trigrams) <= len(b.trigrams) else (b.trigrams, a.trigrams)
    dot = sum(count * large[gram] for gram, count in small.items() if gram in large)
    return dot / (a.trigram_norm * b.trigram_norm)
