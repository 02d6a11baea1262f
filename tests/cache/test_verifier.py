"""The verifier over real MiniLM token vectors: exact terms, reversed relations and exchanged words are refused;
insertions, contractions, case and typing slips are affirmed. None of these sentences is in the tune split."""

from __future__ import annotations

import pytest

from services.cache.core.alignment import analyse, stem
from services.cache.core.exact_terms import exact_terms, mismatch, one_edit
from services.cache.core.verifier import Verifier, VerifierModel
from shared.embedding.encoder import SentenceEncoder

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    return Verifier(VerifierModel.load())


def judge(encoder: SentenceEncoder, verifier: Verifier, query: str, stored: str, mode: str = "strict") -> str:
    vectors, tokens = encoder.encode([query, stored])
    verdict = verifier.verify(
        analyse(query, tokens[0]), analyse(stored, tokens[1]), float(vectors[0] @ vectors[1]), mode, 0.0
    )
    return verdict.reason


@pytest.mark.parametrize(
    ("query", "stored", "reason"),
    [
        ("How many grams are in 3 ounces?", "How many grams are in 5 ounces?", "numbers"),
        ("Who was the second king of Norway?", "Who was the third king of Norway?", "numbers"),
        ("Subtract 20 from 300", "Subtract 300 from 20", "operand_order"),
        ("What is 20% of 300?", "What is 300% of 20?", "numbers"),
        ("Email a summary to ann@acme.io", "Email a summary to joe@acme.io", "emails"),
        ("Why does load_rows fail?", "Why does load_cols fail?", "identifiers"),
        ("Is the lake frozen?", "Is the lake not frozen?", "negation"),
        ("Weather in Lisbon this weekend", "Weather in Madrid this weekend", "names"),
        ("Bus times from Leeds to York", "Bus times from York to Leeds", "name_order"),
        ("how do i turn a dictionary into a list", "how do i turn a list into a dictionary", "reversed_relation"),
        ("Should I sell the shares now?", "Should I buy the shares now?", "exchanged_word"),
        ("Is copper heavier than brass?", "Is copper lighter than brass?", "exchanged_word"),
    ],
)
def test_look_alikes_are_refused(
    encoder: SentenceEncoder, verifier: Verifier, query: str, stored: str, reason: str
) -> None:
    assert judge(encoder, verifier, query, stored) == reason


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        ("how do i reset my password", "How do I reset my password?"),
        ("Hi! How do I reset my password? Thanks a lot.", "How do I reset my password?"),
        ("Why doesn't my printer connect to wifi?", "Why does not my printer connect to wifi?"),
        ("What is the boiling point of ethanol?", "What is the boiling point of ethnaol?"),
        ("WEATHER IN LISBON THIS WEEKEND", "Weather in Lisbon this weekend"),
    ],
)
def test_paraphrases_are_affirmed(encoder: SentenceEncoder, verifier: Verifier, query: str, stored: str) -> None:
    assert judge(encoder, verifier, query, stored) == "affirmed"


def test_balanced_allows_a_reworded_opening_that_strict_refuses(encoder: SentenceEncoder, verifier: Verifier) -> None:
    query, stored = "Explain the boiling point of ethanol", "Describe the boiling point of ethanol"
    assert judge(encoder, verifier, query, stored, "strict") != "affirmed"
    assert judge(encoder, verifier, query, stored, "balanced") == "affirmed"


def test_exact_term_helpers() -> None:
    assert one_edit("nevada", "neavda") and one_edit("colour", "color") and not one_edit("austin", "boston")
    assert stem("converting") == stem("converts") == "convert"
    assert mismatch(exact_terms("two apples"), exact_terms("2 apples")) == ""
    assert mismatch(exact_terms("the first step"), exact_terms("the 2nd step")) == "numbers"
    assert mismatch(exact_terms("Can't stop"), exact_terms("cannot stop")) == ""
