"""Rebuild a Hugging Face `tokenizer.json` from the tokenizer a GGUF file carries in its metadata.

Only byte-level BPE vocabularies (`tokenizer.ggml.model == "gpt2"`) are supported. The pre-tokenizer follows
llama.cpp's name for it (`tokenizer.ggml.pre`): SmolLM splits every digit on its own before the byte-level
split; without that step the rebuilt tokenizer differs from the original on text such as "in 2024".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

# llama.cpp token types (gguf.TokenType): CONTROL and USER_DEFINED tokens are never split.
_CONTROL = 3
_USER_DEFINED = 4

# Pre-tokenizer names (tokenizer.ggml.pre) whose original tokenizer isolates each digit first.
_INDIVIDUAL_DIGITS = frozenset({"smollm"})
# Names whose split is the plain GPT-2 byte-level regex.
_BYTE_LEVEL_ONLY = frozenset({"default", "gpt-2", "gpt2"})


class UnsupportedTokenizer(ValueError):
    """The GGUF tokenizer is of a kind this builder cannot reproduce exactly."""


@dataclass(frozen=True, slots=True)
class GgufVocabulary:
    """The tokenizer fields of a GGUF file."""

    model: str
    pre: str
    tokens: Sequence[str]
    token_types: Sequence[int]
    merges: Sequence[str]


def build_tokenizer(vocab: GgufVocabulary) -> Tokenizer:
    """A `tokenizers.Tokenizer` equivalent to the one the GGUF was converted from."""
    if vocab.model != "gpt2":
        raise UnsupportedTokenizer(f"tokenizer model {vocab.model!r} is not byte-level BPE")
    if vocab.pre in _INDIVIDUAL_DIGITS:
        digits: list[pre_tokenizers.PreTokenizer] = [pre_tokenizers.Digits(individual_digits=True)]
    elif vocab.pre in _BYTE_LEVEL_ONLY:
        digits = []
    else:
        raise UnsupportedTokenizer(f"pre-tokenizer {vocab.pre!r} is not supported")
    ids = {token: index for index, token in enumerate(vocab.tokens)}
    merges = [_merge_pair(merge) for merge in vocab.merges]
    tokenizer = Tokenizer(models.BPE(vocab=ids, merges=merges, fuse_unk=False, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [*digits, pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    special = [
        AddedToken(token, special=True, normalized=False)
        for token, kind in zip(vocab.tokens, vocab.token_types, strict=True)
        if kind in (_CONTROL, _USER_DEFINED)
    ]
    tokenizer.add_special_tokens(special)
    return tokenizer


def write_tokenizer(vocab: GgufVocabulary, path: Path) -> None:
    build_tokenizer(vocab).save(str(path))


def _merge_pair(merge: str) -> tuple[str, str]:
    left, sep, right = merge.partition(" ")
    if not sep:
        raise UnsupportedTokenizer(f"malformed BPE merge {merge!r}")
    return left, right
