"""What must match exactly between a query and a stored question: numbers (digits, number words and ordinals, with
the unit that follows them), quoted values, e-mail addresses, code identifiers and capitalised names; plus
negation, which a paraphrase keeps and a look-alike flips.

These are closed classes of English (numerals, negators) and shapes of text (an e-mail, a snake_case name), not
vocabularies of a domain: they carry over to words never seen while tuning.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_QUOTED = re.compile(r"[\"“«]([^\"”»]{1,200})[\"”»]|(?<!\w)'([^']{2,200})'(?!\w)")
# snake_case, camelCase, dotted.names, CODE-123, calls(): shapes that name one thing exactly.
_IDENTIFIER = re.compile(
    r"\b(?:[A-Za-z]+_[A-Za-z0-9_]+|[a-z]+[A-Z][A-Za-z0-9]*|[A-Za-z]+(?:\.[A-Za-z]+)+\(?\)?|[A-Z]+-\d+|\w+\(\))"
)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(?:\s*(%|[A-Za-z]+))?")
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"'(]\s*)([A-Za-z])")

_UNITS = [
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
]
NUMBER_WORDS = {w: str(i + 1) for i, w in enumerate(_UNITS)} | {w: str(20 + 10 * i) for i, w in enumerate(_TENS)}
NUMBER_WORDS |= {"zero": "0", "hundred": "100", "thousand": "1000", "million": "1000000", "dozen": "12"}
ORDINAL_WORDS = {w: f"#{i + 1}" for i, w in enumerate(_ORDINALS)}
# Negators (a closed class); "n't" is folded to "not" before counting.
NEGATORS = frozenset(["not", "no", "never", "nobody", "nothing", "neither", "nor", "none", "without", "cannot"])


@dataclass(frozen=True, slots=True)
class ExactTerms:
    numbers: Counter[str]
    number_order: tuple[str, ...]  # the numbers in the order they are written (operands: "15% of 80")
    name_order: tuple[str, ...]
    quoted: frozenset[str]
    emails: frozenset[str]
    identifiers: frozenset[str]
    names: frozenset[str]  # lower-cased capitalised words that do not start a sentence
    negations: int
    words: frozenset[str]  # every lower-cased word, to look names up on the other side


def _number(value: str) -> str:
    return value.replace(",", "")


def exact_terms(text: str) -> ExactTerms:
    text = text.replace("\u2019", "'")
    lowered_text = text.lower()
    numbers: Counter[str] = Counter()
    order: list[str] = []
    for match in _NUMBER.finditer(text):
        unit = (match.group(2) or "").lower()
        value = _number(match.group(1)) + ("%" if unit in ("%", "percent") else "")
        numbers[value] += 1
        order.append(value)
    words = _WORD.findall(text)
    lowered = [w.lower() for w in words]
    for word in lowered:
        if word in NUMBER_WORDS:
            numbers[NUMBER_WORDS[word]] += 1
        elif word in ORDINAL_WORDS:
            numbers[ORDINAL_WORDS[word]] += 1
    negations = sum(w in NEGATORS for w in lowered) + lowered_text.count("n't")
    starts = {m.start(1) for m in _SENTENCE_START.finditer(text)}
    letters = sum(c.isalpha() for c in text)
    shouting = letters > 0 and sum(c.isupper() for c in text) > 0.6 * letters
    names: dict[str, None] = {}
    if not shouting:  # in an all-capitals text capitals mark nothing
        for match in re.finditer(r"[A-Za-z][A-Za-z0-9]*", text):
            word = match.group(0)
            if word[0].isupper() and match.start() not in starts and word.lower() not in ("i",):
                names[word.lower()] = None
    quoted = {(a or b).strip().lower() for a, b in _QUOTED.findall(text)}
    return ExactTerms(
        numbers=numbers,
        number_order=tuple(order),
        name_order=tuple(names),
        quoted=frozenset(quoted),
        emails=frozenset(e.lower() for e in _EMAIL.findall(text)),
        identifiers=frozenset(i.lower().rstrip("()") for i in _IDENTIFIER.findall(text)),
        names=frozenset(names),
        negations=negations,
        words=frozenset(re.findall(r"[a-z0-9]+", lowered_text)),
    )


def mismatch(query: ExactTerms, stored: ExactTerms) -> str:
    """The first class of exact terms that differs ("" when none does)."""
    shared = [n for n in query.name_order if n in stored.name_order]
    checks = (
        ("numbers", query.numbers != stored.numbers),
        ("emails", query.emails != stored.emails),
        ("identifiers", query.identifiers != stored.identifiers),
        ("negation", query.negations % 2 != stored.negations % 2),
        # A name on one side must appear on the other, capitalised or not (a lower-cased query keeps its names),
        # allowing one slip of the keyboard in a long name.
        (
            "names",
            any(not _found(n, stored.words) for n in query.names)
            or any(not _found(n, query.words) for n in stored.names),
        ),
        ("quoted", bool(query.quoted and stored.quoted and query.quoted != stored.quoted)),
        # The same operands in another order ("15% of 80" / "80% of 15", "from Paris to London" / the reverse).
        ("operand_order", len(set(query.number_order)) > 1 and query.number_order != stored.number_order),
        ("name_order", len(shared) > 1 and shared != [n for n in stored.name_order if n in query.name_order]),
    )
    return next((name for name, differs in checks if differs), "")


def _found(name: str, words: frozenset[str]) -> bool:
    return name in words or (len(name) >= 6 and any(one_edit(name, w) for w in words if abs(len(w) - len(name)) <= 1))


def one_edit(a: str, b: str) -> bool:
    """a and b differ by one insertion, deletion, substitution or swap of neighbours."""
    if a == b:
        return True
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
        )
    if abs(len(a) - len(b)) != 1:
        return False
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]
