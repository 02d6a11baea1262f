"""Word alignment of two questions over MiniLM's contextual token vectors.

Each word is the mean of its word pieces' last hidden states. A content word of one question is matched in the
other by its surface form (a light stem: plurals, -ing, -ed; one typing slip in a long word), else by the nearest
contextual vector. What stays unmatched on both sides at once is a substitution (gold/silver, first/second,
enable/disable), which a paraphrase rarely makes and a look-alike always does; what stays unmatched on one side
only is an insertion (politeness, a wrapper). Words next to each other on both sides whose order is reversed are
a swap ("Celsius to Fahrenheit", "15% of 80", "from Paris to London").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from services.cache.core.exact_terms import ExactTerms, exact_terms, one_edit
from shared.embedding.encoder import TokenStates

# Function words (a closed class: articles, auxiliaries, pronouns, question words, the commonest prepositions and
# conjunctions). They are not aligned; they still separate words for the swap test.
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "doing",
        "have",
        "has",
        "had",
        "having",
        "i",
        "me",
        "my",
        "mine",
        "you",
        "your",
        "yours",
        "we",
        "us",
        "our",
        "ours",
        "he",
        "him",
        "his",
        "she",
        "her",
        "hers",
        "it",
        "its",
        "they",
        "them",
        "their",
        "theirs",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "how",
        "why",
        "when",
        "where",
        "whether",
        "if",
        "and",
        "or",
        "but",
        "so",
        "to",
        "of",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "into",
        "about",
        "as",
        "s",
        "t",
        "d",
        "ll",
        "m",
        "re",
        "ve",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "please",
    ]
)
_CONTRACTED = {
    "don": "do",
    "doesn": "does",
    "didn": "did",
    "isn": "is",
    "aren": "are",
    "wasn": "was",
    "weren": "were",
    "won": "will",
    "couldn": "could",
    "shouldn": "should",
    "wouldn": "would",
    "hasn": "has",
    "haven": "have",
    "mustn": "must",
}
_ALNUM = re.compile(r"[0-9A-Za-z]")
# Relation words (a closed class of English prepositions) and how each orders its two sides: "A to B" and "B from A"
# are one direction; "A before B" and "B after A" one order. Value: (relation, True when the sides are reversed).
RELATIONS = {
    "to": ("direction", False),
    "into": ("direction", False),
    "towards": ("direction", False),
    "onto": ("direction", False),
    "from": ("direction", True),
    "of": ("of", False),
    "by": ("by", False),
    "than": ("than", False),
    "per": ("per", False),
    "before": ("before", False),
    "after": ("before", True),
    "over": ("over", False),
    "minus": ("minus", False),
}


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the verifier compares, computed once per text (a stored entry keeps its own)."""

    words: tuple[str, ...]  # lower-cased, contractions expanded
    stems: tuple[str, ...]
    content: tuple[int, ...]  # indexes of content words
    vectors: npt.NDArray[np.float16]  # (words, dimensions), unit length, float16 (int8 in storage)
    terms: ExactTerms
    relations: frozenset[tuple[str, str, str]]  # (left stem, right stem, relation)

    @property
    def bytes(self) -> int:
        return int(self.vectors.nbytes) + sum(len(w) for w in self.words) * 2 + 64


def relations(
    words: tuple[str, ...], stems: tuple[str, ...], content: tuple[int, ...]
) -> frozenset[tuple[str, str, str]]:
    """(left stem, right stem, relation) for each relation word between two content words."""
    found = set()
    inside = set(content)
    for index, word in enumerate(words):
        relation = RELATIONS.get(word)
        if relation is None:
            continue
        left = next((stems[k] for k in range(index - 1, -1, -1) if k in inside), None)
        right = next((stems[k] for k in range(index + 1, len(words)) if k in inside), None)
        if left is None or right is None or left == right:
            continue
        name, reversed_ = relation
        found.add((right, left, name) if reversed_ else (left, right, name))
    return frozenset(found)


def stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)]
    return word


def analyse(text: str, tokens: TokenStates) -> Analysis:
    spans: dict[int, list[int]] = {}
    for position, word_id in enumerate(tokens.word_ids):
        if word_id is not None:
            spans.setdefault(word_id, []).append(position)
    words: list[str] = []
    rows: list[npt.NDArray[np.float32]] = []
    for positions in spans.values():
        start, end = tokens.offsets[positions[0]][0], tokens.offsets[positions[-1]][1]
        surface = text[start:end].lower()
        if not _ALNUM.search(surface):
            continue
        vector = tokens.states[positions].mean(axis=0)
        if surface == "t" and words and words[-1].endswith("n"):  # n't
            words[-1] = _CONTRACTED.get(words[-1], words[-1])
            surface = "not"
        if surface == "cannot":
            words.append("can")
            rows.append(vector)
            surface = "not"
        words.append(surface)
        rows.append(vector)
    matrix = np.stack(rows) if rows else np.zeros((0, tokens.states.shape[1]), dtype=np.float32)
    matrix = matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-6)
    content = tuple(i for i, w in enumerate(words) if w not in FUNCTION_WORDS)
    stems = tuple(stem(w) for w in words)
    return Analysis(
        words=tuple(words),
        stems=stems,
        content=content,
        relations=relations(tuple(words), stems, content),
        vectors=matrix.astype(np.float16),
        terms=exact_terms(text),
    )


@dataclass(frozen=True, slots=True)
class Alignment:
    unmatched_query: int
    unmatched_stored: int
    # Lowest contextual similarity of an unmatched word to anything on the other side (1 when all matched).
    weakest_query: float
    weakest_stored: float
    # Best similarity between an unmatched word of the query and an unmatched word of the stored question
    # (0 when one side has none: an insertion, not a substitution).
    substitution: float
    matched_share: float  # share of content words matched by surface, both sides together
    mean_similarity: float  # mean best contextual similarity of all content words, both ways
    swapped: bool
    # Gaps between the same two surface-matched anchors where each side holds exactly one unmatched content word:
    # a word exchanged in place (gold/silver in "the price of _ today"), counted apart when the gap opens the
    # sentence (where paraphrases reword the question itself: "find"/"show me").
    in_place: int
    in_place_opening: int
    in_place_similarity: float  # highest contextual similarity of such an exchanged pair (0 when none)
    uneven_gaps: int  # gaps whose two sides differ in length: phrases reworded, not words exchanged
    gap_similarity: float  # highest contextual similarity of two words across an uneven gap (0 when none)
    discordance: float  # share of surface-matched word pairs whose order differs between the two questions


def _surface_matches(a: Analysis, b: Analysis) -> list[int | None]:
    """For each content word of a, the index of a content word of b with the same stem (or one slip), or None.
    A repeated word takes the next unused occurrence, so "3 ... 3" aligns in order."""
    found: list[int | None] = []
    used: set[int] = set()
    for i in a.content:
        free = [j for j in b.content if j not in used] or list(b.content)
        match = next((j for j in free if b.stems[j] == a.stems[i]), None)
        if match is None and len(a.words[i]) >= 5:
            match = next((j for j in free if len(b.words[j]) >= 5 and one_edit(a.words[i], b.words[j])), None)
        if match is not None:
            used.add(match)
        found.append(match)
    return found


def _swapped(query: Analysis, stored: Analysis, matches: list[int | None]) -> bool:
    """Two content words adjacent on both sides (no content word between them), joined by the same relation words
    ("to", "of", "from ... to"), in the opposite order: the relation is reversed."""
    pairs = [(i, j) for i, j in zip(query.content, matches, strict=True) if j is not None]
    for (qa, sa), (qb, sb) in pairwise(pairs):
        if sb >= sa or query.content.index(qb) != query.content.index(qa) + 1:
            continue
        if stored.content.index(sa) != stored.content.index(sb) + 1:
            continue
        if query.words[qa + 1 : qb] == stored.words[sb + 1 : sa]:
            return True
    return False


def _reversed(query: Analysis, stored: Analysis) -> bool:
    """A relation of the query holds the other way round in the stored question ("15% of 80" / "80% of 15")."""
    mine, theirs = query.relations, stored.relations
    return any((b, a, r) in theirs and (a, b, r) not in theirs for a, b, r in mine)


def align(query: Analysis, stored: Analysis) -> Alignment:
    q_matches = _surface_matches(query, stored)
    s_matches = _surface_matches(stored, query)
    q_content = np.array(query.content, dtype=np.int64)
    s_content = np.array(stored.content, dtype=np.int64)
    if len(q_content) and len(s_content):
        sims = query.vectors[q_content].astype(np.float32) @ stored.vectors[s_content].astype(np.float32).T
    else:
        sims = np.zeros((len(q_content), len(s_content)), dtype=np.float32)
    q_best = sims.max(axis=1) if sims.size else np.zeros(len(q_content), dtype=np.float32)
    s_best = sims.max(axis=0) if sims.size else np.zeros(len(s_content), dtype=np.float32)
    q_free = [k for k, m in enumerate(q_matches) if m is None]
    s_free = [k for k, m in enumerate(s_matches) if m is None]
    substitution = float(sims[np.ix_(q_free, s_free)].max()) if q_free and s_free else 0.0
    total = len(q_content) + len(s_content)
    matched = (len(q_content) - len(q_free)) + (len(s_content) - len(s_free))
    best = np.concatenate([q_best, s_best])
    return Alignment(
        unmatched_query=len(q_free),
        unmatched_stored=len(s_free),
        weakest_query=float(q_best[q_free].min()) if q_free else 1.0,
        weakest_stored=float(s_best[s_free].min()) if s_free else 1.0,
        substitution=substitution,
        matched_share=matched / total if total else 1.0,
        mean_similarity=float(best.mean()) if len(best) else 1.0,
        swapped=_swapped(query, stored, q_matches) or _reversed(query, stored),
        **_gaps(query, stored, q_matches, sims),
    )


def _gaps(
    query: Analysis, stored: Analysis, matches: list[int | None], sims: npt.NDArray[np.float32]
) -> dict[str, Any]:
    anchors = [(k, stored.content.index(j)) for k, j in enumerate(matches) if j is not None]
    anchors = [(-1, -1), *anchors, (len(query.content), len(stored.content))]
    in_place = opening = uneven = 0
    best = gap_best = 0.0
    for (qa, sa), (qb, sb) in pairwise(anchors):
        if sb <= sa:  # anchors out of order: no gap to compare
            continue
        q_gap = [k for k in range(qa + 1, qb) if matches[k] is None]
        s_gap = list(range(sa + 1, sb))
        if not q_gap or not s_gap:
            continue
        if len(q_gap) == 1 and len(s_gap) == 1:
            in_place += 1
            opening += qa == -1
            best = max(best, float(sims[q_gap[0], s_gap[0]]))
        else:
            uneven += 1
            gap_best = max(gap_best, float(sims[np.ix_(q_gap, s_gap)].max()))
    order = [j for _, j in anchors[1:-1]]
    pairs = len(order) * (len(order) - 1) // 2
    discordant = sum(order[a] > order[b] for a in range(len(order)) for b in range(a + 1, len(order)))
    return {
        "in_place": in_place - opening,
        "in_place_opening": opening,
        "in_place_similarity": best,
        "uneven_gaps": uneven,
        "gap_similarity": gap_best,
        "discordance": discordant / pairs if pairs else 0.0,
    }
