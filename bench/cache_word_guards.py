"""The word-list guards the cache used before the verifier (kept as a baseline for bench.cache_verifier only).

Second look at semantic candidates: guards that veto a look-alike with another meaning, and a lexical score.

Sentence embeddings put "convert Celsius to Fahrenheit" and "convert Fahrenheit to Celsius" at cosine 0.99, and
"sort a list in Python" next to "... in Java". A candidate above the similarity threshold is vetoed when:
- the numbers differ (other quantities, versions, years),
- one side is negated and the other is not,
- a direction is reversed ("A to B" against "B to A"),
- each side names a key term (a name, an acronym, a language or product) the other lacks: a substitution.
Surviving candidates are ranked by cosine plus a weighted character-trigram cosine, which separates near-duplicate
entries better than the embedding alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from enum import Enum

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9+#]*(?:[.-][A-Za-z0-9+#]+)*|\d+(?:[.,:/]\d+)*")
_NUMBER = re.compile(r"\d+(?:[.,:/]\d+)*")
_DIRECTION_WORDS = frozenset(["to", "into", "->", "→"])
_DETERMINERS = frozenset(["a", "an", "the", "my", "your", "our", "their", "his", "her", "its", "this", "that", "some"])
_SPACES = re.compile(r"\s+")

NEGATIONS = frozenset(["not", "never", "none", "nothing", "neither", "nor", "cannot"])
# Names written more than one way; compared by their canonical form.
ALIASES = {"js": "javascript", "ts": "typescript", "golang": "go", "postgres": "postgresql", "k8s": "kubernetes"}
# Queries are short; in longer texts (documents, answers) capitalisation marks headings and lists, not identity.
NAME_WORDS_MAX = 16
# Lower-case names whose swap changes the answer although they are not capitalised in queries.
KEY_TERMS = frozenset(
    [
        "python",
        "java",
        "javascript",
        "typescript",
        "rust",
        "go",
        "golang",
        "c",
        "c++",
        "c#",
        "ruby",
        "php",
        "kotlin",
        "swift",
        "scala",
        "haskell",
        "perl",
        "lua",
        "r",
        "julia",
        "bash",
        "powershell",
        "sql",
        "mysql",
        "postgres",
        "postgresql",
        "sqlite",
        "mongodb",
        "redis",
        "linux",
        "windows",
        "macos",
        "ios",
        "android",
        "docker",
        "kubernetes",
        "aws",
        "azure",
        "gcp",
        "react",
        "vue",
        "angular",
        "django",
        "flask",
        "rails",
        "spring",
        "numpy",
        "pandas",
        "pytorch",
        "tensorflow",
        "jax",
        "celsius",
        "fahrenheit",
        "kelvin",
        "km",
        "kilometers",
        "kilometres",
        "miles",
        "meters",
        "metres",
        "feet",
        "inches",
        "cm",
        "mm",
        "kg",
        "kilograms",
        "pounds",
        "lbs",
        "grams",
        "ounces",
        "liters",
        "litres",
        "gallons",
        "usd",
        "eur",
        "euros",
        "dollars",
        "gbp",
        "yen",
        "jpy",
        "bitcoin",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)
NUMBER_WORDS = frozenset(
    [
        *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"),
        *("twenty", "thirty", "forty", "fifty", "hundred", "thousand", "million", "billion"),
    ]
)
_OPPOSITE_PAIRS = [
    ("enable", "disable"), ("add", "remove"), ("upgrade", "downgrade"), ("import", "export"), ("maximum", "minimum"),
    ("max", "min"), ("increase", "decrease"), ("buy", "sell"), ("start", "stop"), ("before", "after"),
    ("upload", "download"), ("open", "close"), ("show", "hide"), ("login", "logout"), ("signin", "signout"),
    ("push", "pull"), ("first", "last"), ("oldest", "newest"), ("highest", "lowest"), ("best", "worst"),
    ("encrypt", "decrypt"), ("encode", "decode"), ("compress", "decompress"), ("inbound", "outbound"),
    ("advantages", "disadvantages"), ("pros", "cons"), ("win", "lose"), ("accept", "reject"), ("allow", "deny"),
    ("join", "leave"), ("hire", "fire"), ("above", "below"), ("more", "less"), ("faster", "slower"),
]  # fmt: skip
OPPOSITES = frozenset({*_OPPOSITE_PAIRS, *((b, a) for a, b in _OPPOSITE_PAIRS)})
_NEGATING_PREFIXES = ("un", "dis", "non-", "non", "in", "im", "ir", "de")
_PHRASES = {"log in": "login", "log out": "logout", "sign in": "signin", "sign out": "signout"}
# Capitalised words that carry no identity (sentence starts are skipped separately).
_COMMON_CAPITALISED = frozenset(
    [
        "i",
        "yes",
        "no",
        "please",
        "what",
        "how",
        "why",
        "when",
        "where",
        "which",
        "who",
        "can",
        "is",
        "are",
        "does",
        "do",
        "the",
        "a",
    ]
)


class Veto(Enum):
    NUMBERS = "numbers"
    NEGATION = "negation"
    DIRECTION = "direction"
    SUBSTITUTION = "substitution"
    OPPOSITE = "opposite"


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """What the guards compare, computed once per text (stored entries keep theirs)."""

    numbers: frozenset[str]
    negated: bool
    directions: frozenset[tuple[str, str]]
    key_terms: frozenset[str]
    trigrams: Counter[str]
    trigram_norm: float
    words: frozenset[str] = frozenset()
    short: bool = True


def features(text: str) -> TextFeatures:
    text = text.replace("\u2019", "'")
    words = _WORD.findall(text)
    lowered = [w.lower() for w in words]
    short = len(words) <= NAME_WORDS_MAX
    found = [n.replace(",", "") for n in _NUMBER.findall(text)]
    if short:
        found += [w for w in lowered if w in NUMBER_WORDS]
    # Numbers compare as a multiset ("two plus two" against "two plus three"): each occurrence gets its rank.
    seen: Counter[str] = Counter()
    numbers = set()
    for number in found:
        seen[number] += 1
        numbers.add(f"{number}#{seen[number]}")
    phrased = text.lower()
    for phrase, word in _PHRASES.items():
        phrased = phrased.replace(phrase, word)
    # Negation is compared for short texts (queries); longer statements rephrase it ("no longer" / "deprecated").
    negated = short and (any(w in NEGATIONS for w in lowered) or "n't" in text.lower() or " no " in f" {text.lower()} ")
    directions = _directions(text.lower().split())
    key_terms = {ALIASES.get(w, w) for w in lowered if w in KEY_TERMS or w in ALIASES}
    if short:
        sentence_starts = {m.start(1) for m in re.finditer(r"(?:^|[.!?:]\s+)([A-Za-z])", text)}
        for match in _WORD.finditer(text):
            word = match.group(0)
            if _is_name(word) and (match.start() not in sentence_starts or _is_acronym(word)):
                key_terms.add(ALIASES.get(word.lower(), word.lower()))
    normalised = _SPACES.sub(" ", text.lower()).strip()
    trigrams = Counter(normalised[i : i + 3] for i in range(max(0, len(normalised) - 2)))
    norm = math.sqrt(sum(v * v for v in trigrams.values())) or 1.0
    return TextFeatures(
        numbers=frozenset(numbers),
        negated=negated,
        directions=frozenset(directions),
        key_terms=frozenset(key_terms),
        trigrams=trigrams,
        trigram_norm=norm,
        words=frozenset(w.lower() for w in _WORD.findall(phrased)) if short else frozenset(),
        short=short,
    )


def _directions(tokens: list[str]) -> set[tuple[str, str]]:
    """(A, B) for each "A to B" / "A into B", skipping determiners after the preposition ("a string to an int")."""
    words = [t.strip(".,;:!?()\"'") for t in tokens]
    pairs = set()
    for index, word in enumerate(words):
        if word not in _DIRECTION_WORDS or index == 0:
            continue
        after = next((w for w in words[index + 1 :] if w and w not in _DETERMINERS), "")
        if words[index - 1] and after:
            pairs.add((words[index - 1], after))
    return pairs


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _is_name(word: str) -> bool:
    if word.lower() in _COMMON_CAPITALISED:
        return False
    return word[:1].isupper() or _is_acronym(word) or any(c.isupper() for c in word[1:])


def veto(query: TextFeatures, candidate: TextFeatures) -> Veto | None:
    """Why the candidate must not answer the query, or None when nothing contradicts it."""
    if _substituted(query.numbers, candidate.numbers):
        return Veto.NUMBERS
    if query.negated != candidate.negated:
        return Veto.NEGATION
    if any((b, a) in candidate.directions and (a, b) not in candidate.directions for a, b in query.directions):
        return Veto.DIRECTION
    if _substituted(query.key_terms, candidate.key_terms):
        return Veto.SUBSTITUTION
    if query.short and candidate.short and _opposed(query.words - candidate.words, candidate.words - query.words):
        return Veto.OPPOSITE
    return None


def _opposed(only_query: frozenset[str], only_candidate: frozenset[str]) -> bool:
    """An antonym or a negating prefix separates the two (enable/disable, install/uninstall, safe/unsafe)."""
    for a in only_query:
        for b in only_candidate:
            if (a, b) in OPPOSITES:
                return True
            longer, shorter = (a, b) if len(a) > len(b) else (b, a)
            if len(shorter) >= 3 and any(longer == prefix + shorter for prefix in _NEGATING_PREFIXES):
                return True
    return False


def _substituted(a: frozenset[str], b: frozenset[str]) -> bool:
    """Each side holds a term the other lacks (an omission alone is a paraphrase); spelling variants that share
    a long prefix (installation/installatio, python/pythonic) do not count."""
    only_a, only_b = a - b, b - a
    if not only_a or not only_b:
        return False
    unmatched_a = [x for x in only_a if not any(_variant(x, y) for y in only_b)]
    unmatched_b = [y for y in only_b if not any(_variant(x, y) for x in only_a)]
    return bool(unmatched_a) and bool(unmatched_b)


def _variant(x: str, y: str) -> bool:
    shorter = min(len(x), len(y))
    return shorter >= 5 and (x.startswith(y) or y.startswith(x) or x.endswith(y) or y.endswith(x))


def trigram_cosine(a: TextFeatures, b: TextFeatures) -> float:
    small, large = (a.trigrams, b.trigrams) if len(a.trigrams) <= len(b.trigrams) else (b.trigrams, a.trigrams)
    dot = sum(count * large[gram] for gram, count in small.items() if gram in large)
    return dot / (a.trigram_norm * b.trigram_norm)


def combined_score(cosine: float, query: TextFeatures, candidate: TextFeatures, lexical_weight: float) -> float:
    return cosine + lexical_weight * trigram_cosine(query, candidate)
