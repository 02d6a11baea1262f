"""The guards veto look-alikes with another meaning and let paraphrases through."""

from __future__ import annotations

import pytest

from services.cache.core.rerank import Veto, combined_score, features, trigram_cosine, veto


@pytest.mark.parametrize(
    ("query", "stored", "why"),
    [
        ("How do I convert Celsius to Fahrenheit?", "How do I convert Fahrenheit to Celsius?", Veto.DIRECTION),
        ("How many km are in 10 miles?", "How many km are in 15 miles?", Veto.NUMBERS),
        ("How do I sort a list in Python?", "How do I sort a list in Java?", Veto.SUBSTITUTION),
        ("Is the Pro plan refundable?", "Is the Pro plan not refundable?", Veto.NEGATION),
        ("Who is the CEO of Apple?", "Who is the CEO of Microsoft?", Veto.SUBSTITUTION),
        ("Reverse a string in JS", "Reverse a string in Go", Veto.SUBSTITUTION),
    ],
)
def test_look_alikes_are_vetoed(query: str, stored: str, why: Veto) -> None:
    assert veto(features(query), features(stored)) is why


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("how can I convert celsius into fahrenheit", "How do I convert Celsius to Fahrenheit?"),
        ("What's the way to sort a python list?", "How do I sort a list in Python?"),
        ("Sort a list in JavaScript", "How to sort a list in JS"),  # alias
        ("How to reset my password", "I forgot my password, how do I reset it?"),
        ("What is in version 2.10.0?", "What's new in version 2.10.0"),
    ],
)
def test_paraphrases_pass(query: str, stored: str) -> None:
    assert veto(features(query), features(stored)) is None


def test_lexical_score_prefers_the_closer_wording() -> None:
    query = features("The to_batches method converts a Table to a list of RecordBatch objects")
    near = features("The to_batches method converts a Table into a list of RecordBatch objects")
    far = features("A Table can be turned into several record batches with a method")
    assert trigram_cosine(query, near) > trigram_cosine(query, far)
    assert combined_score(0.9, query, near, 1.0) > combined_score(0.9, query, far, 1.0)
    assert trigram_cosine(query, query) == pytest.approx(1.0)
