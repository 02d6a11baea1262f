"""Surface features of a prompt, computed once per request: length, digits and mathematical notation, structure.

They name no subject and no word of any benchmark: only how the text is built, so they carry over to prompts
unlike the training data. Each is squashed (log or fraction) so a 100 kB prompt cannot dominate a linear model.
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[^\W\d_]+")
_MATH = frozenset("=+*/^<>%|√∑∫π≤≥≠±×÷∞∈∀∃")
_CODE = re.compile(r"[{};]|\b(?:def|return|class|function|import|int|void|for|while)\b")
_LATEX = re.compile(r"\\[a-zA-Z]+|\$")

FEATURE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "log_lines",
    "digit_fraction",
    "math_fraction",
    "log_numbers",
    "number_share_of_tokens",
    "upper_fraction",
    "punctuation_fraction",
    "mean_word_length",
    "long_word_share",
    "log_longest_line",
    "question_marks",
    "code_marks",
    "latex_marks",
    "non_ascii_fraction",
)


def text_features(text: str) -> npt.NDArray[np.float32]:
    """The FEATURE_NAMES of `text`, as float32 (all finite; an empty text gives zeros and log(1) terms)."""
    chars = len(text)
    denominator = max(chars, 1)
    words = _WORD.findall(text)
    numbers = _NUMBER.findall(text)
    lines = text.splitlines() or [""]
    digits = sum(c.isdigit() for c in text)
    maths = sum(c in _MATH for c in text)
    upper = sum(c.isupper() for c in text)
    punctuation = sum((not c.isalnum()) and (not c.isspace()) for c in text)
    non_ascii = sum(ord(c) > 127 for c in text)
    word_lengths = [len(w) for w in words]
    mean_word = sum(word_lengths) / len(words) if words else 0.0
    long_words = sum(length >= 9 for length in word_lengths) / len(words) if words else 0.0
    tokens = len(words) + len(numbers)
    values = (
        math.log1p(chars),
        math.log1p(len(words)),
        math.log1p(len(lines)),
        digits / denominator,
        maths / denominator,
        math.log1p(len(numbers)),
        len(numbers) / tokens if tokens else 0.0,
        upper / denominator,
        punctuation / denominator,
        mean_word / 10.0,
        long_words,
        math.log1p(max(len(line) for line in lines)),
        math.log1p(text.count("?")),
        math.log1p(len(_CODE.findall(text))),
        math.log1p(len(_LATEX.findall(text))),
        non_ascii / denominator,
    )
    return np.asarray(values, dtype=np.float32)
