"""ResponseCache: the exact and semantic tiers over one entry store and one vector index.

Thread-safe: every method takes the lock except the embedding, which runs outside it so several lookups can embed
at once. Plain Python: the service calls these methods from worker threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np
import numpy.typing as npt

from services.cache.core.acceptance import Acceptance
from services.cache.core.alignment import Analysis, analyse
from services.cache.core.entry_store import EntryHead, EntryStore
from services.cache.core.namespace import RequestView
from services.cache.core.rerank import TextFeatures, features, trigram_cosine
from services.cache.core.vector_index import VectorIndex
from services.cache.core.verifier import Verdict, Verifier, VerifierModel
from shared.embedding.encoder import MAX_POSITIONS, TokenStates

# Texts -> (unit vectors, contextual token states of each text), one forward pass (SentenceEncoder.encode).
Encode = Callable[[Sequence[str]], tuple[npt.NDArray[np.float32], list[TokenStates]]]
REPLICATION_SEQUENCE = "replication_sequence"
# Analyses of stored questions kept in memory (word vectors, float16); beyond it they are recomputed on demand.
ANALYSIS_CACHE_LIMIT = 100_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class CachePolicy:
    # Cosine a candidate needs before the verifier looks at it (the verifier, not the cosine, decides).
    similarity_threshold: float = 0.7
    lexical_weight: float = 1.0
    ambiguity_margin: float = 0.01
    # Two candidates at least this similar to each other ask the same thing: either answer will do.
    duplicate_similarity: float = 0.95
    rerank_candidates: int = 8
    # off | strict (the verifier must affirm) | balanced; per namespace or tenant in semantic_modes.
    semantic_mode: str = "strict"
    semantic_modes: dict[str, str] = field(default_factory=dict)
    # Reported bad hits make a namespace stricter until its served hits show at most this error rate.
    bad_hit_error_bound: float = 0.01
    # Longer questions are exact-only: the encoder sees 512 tokens, and two documents sharing a prefix must not
    # match. Checked on characters first (cheap), then on the tokens.
    max_semantic_chars: int = 2000
    search_count: int = 32
    wide_search_count: int = 512
    small_namespace_scan: int = 256
    max_temperature: float = 0.5
    unset_temperature: float = 0.0
    default_ttl_s: int = 86_400
    max_ttl_s: int = 30 * 86_400
    max_entries: int = 1_000_000
    max_entries_per_namespace: int = 100_000


@dataclass(frozen=True, slots=True)
class Decision:
    """How the semantic tier decided, for the lookup result, the Route attempts and Explain."""

    mode: str = ""
    affirmed: bool = False
    # "affirmed", or why not: a verifier refusal ("numbers", "names", "negation", "operand_order", "name_order",
    # "reversed_relation", "classifier", ...), "below_threshold", "ambiguous", "semantic_off", "no_entries"
    reason: str = ""
    score: float = 0.0  # the verifier's probability for the best candidate
    threshold: float = 0.0  # the namespace's threshold in force
    similarity: float = 0.0  # cosine of the best candidate
    candidates: int = 0  # candidates the verifier looked at


@dataclass(frozen=True, slots=True)
class LookupResult:
    match: str  # "" (miss), "exact" or "semantic"
    similarity: float = 0.0
    entry_key: str = ""
    answer: bytes = b""
    reason: str = ""  # why a semantic lookup missed (a Decision reason, or "uncacheable")
    decision: Decision | None = None


@dataclass(frozen=True, slots=True)
class BadHit:
    evicted: bool
    tenant: str  # of the evicted entry ("" when it was not here)
    namespace: str  # where this replica served it semantically ("" when it did not)
    score: float  # the verifier score it was served at
    threshold: float  # the namespace's learned threshold after the report


@dataclass(frozen=True, slots=True)
class StoreResult:
    entry_key: str
    stored: bool
    reason: str = ""
    record: StoreRecord | None = None


class StoreRecord(msgspec.Struct, kw_only=True):
    """One stored entry as replicated to the other replicas (vector included: they do not re-embed)."""

    entry_key: str
    namespace: str
    tenant: str
    query: str
    vector: bytes | None
    answer: bytes
    created_ms: int
    expires_ms: int


@dataclass
class CacheStats:
    exact_hits: int = 0
    semantic_hits: int = 0
    misses: int = 0
    evictions: int = 0
    bad_hits: int = 0
    refusals: dict[str, int] = field(default_factory=dict)


class ResponseCache:
    def __init__(
        self,
        *,
        data_dir: Path,
        encode: Encode,
        dimensions: int,
        policy: CachePolicy,
        index_dtype: str = "i8",
        clock: Callable[[], int] = now_ms,
        verifier: Verifier | None = None,
    ) -> None:
        self.policy = policy
        self.stats = CacheStats()
        self.acceptance = Acceptance(
            default_mode=policy.semantic_mode, modes=policy.semantic_modes, error_bound=policy.bad_hit_error_bound
        )
        self.verifier = verifier or Verifier(VerifierModel.load())
        self._encode = encode
        self._clock = clock
        self._lock = threading.Lock()
        self._index_path = data_dir / "index.usearch"
        self._store = EntryStore(data_dir / "entries.sqlite3")
        self._index = VectorIndex(dimensions, index_dtype)
        self._heads: dict[int, EntryHead] = {}
        self._by_key: dict[str, int] = {}
        self._by_namespace: dict[str, set[int]] = {}
        # Verifier analyses and trigram features of stored questions: made at store time from the same forward
        # pass, or on first use after a restart or a replicated store (bounded: cleared past the limit).
        self._analyses: dict[int, tuple[Analysis, TextFeatures]] = {}
        self._dirty = False
        self.rebuilt_index = False
        self._open()

    # ---- start-up -------------------------------------------------------------------------------------------
    def _open(self) -> None:
        for head in self._store.heads():
            self._remember(head)
        loaded = self._index.load(self._index_path)
        wanted = np.array([h.id for h in self._heads.values() if h.has_vector], dtype=np.int64)
        present = self._index.keys() if loaded else np.zeros(0, dtype=np.int64)
        stale = np.setdiff1d(present, wanted)
        missing = np.setdiff1d(wanted, present)
        self._index.remove(int(i) for i in stale)
        self.rebuilt_index = not loaded
        for entry_id, blob in self._store.vectors([int(i) for i in missing]):
            self._index.add(entry_id, np.frombuffer(blob, dtype=np.float16).astype(np.float32))
        self._dirty = bool(len(stale) or len(missing))

    def _remember(self, head: EntryHead) -> None:
        self._heads[head.id] = head
        self._by_key[head.entry_key] = head.id
        self._by_namespace.setdefault(head.namespace, set()).add(head.id)

    def _forget(self, ids: Sequence[int], meta: dict[str, int] | None = None) -> int:
        known = [i for i in ids if i in self._heads]
        self._store.delete(known, meta)
        for entry_id in known:
            head = self._heads.pop(entry_id)
            self._analyses.pop(entry_id, None)
            self._by_key.pop(head.entry_key, None)
            members = self._by_namespace.get(head.namespace)
            if members is not None:
                members.discard(entry_id)
                if not members:
                    del self._by_namespace[head.namespace]
            if head.has_vector:
                self._index.remove([entry_id])
        if known:
            self._dirty = True
        return len(known)

    # ---- reads ----------------------------------------------------------------------------------------------
    @property
    def entries(self) -> int:
        return len(self._heads)

    @property
    def index_bytes(self) -> int:
        with self._lock:
            return self._index.bytes

    def lookup(
        self, view: RequestView, *, min_similarity: float | None = None, exact_only: bool = False
    ) -> LookupResult:
        refusal = self.refusal(view)
        if refusal:  # what would not be stored is not served either (a creative request gets a fresh answer)
            return self._miss("uncacheable")
        now = self._clock()
        with self._lock:
            exact = self._exact(view.entry_key, now)
        if exact is not None:
            return exact
        if exact_only or not view.semantic:
            return self._miss()
        return self._semantic(view, min_similarity, now)

    def _semantic(self, view: RequestView, min_similarity: float | None, now: int) -> LookupResult:
        mode = self.acceptance.mode(view.namespace, view.tenant)
        if len(view.query_text) > self.policy.max_semantic_chars:
            return self._miss("too_long", Decision(mode=mode, reason="too_long"))
        if mode == "off":
            return self._miss("semantic_off", Decision(mode=mode, reason="semantic_off"))
        with self._lock:
            if not self._by_namespace.get(view.namespace):
                return self._miss("no_entries", Decision(mode=mode, reason="no_entries"))
        vectors, tokens = self._encode([view.query_text])
        if len(tokens[0].ids) >= MAX_POSITIONS - 2:
            return self._miss("too_long", Decision(mode=mode, reason="too_long"))
        query = analyse(view.query_text, tokens[0]), features(view.query_text)
        threshold = self.policy.similarity_threshold if min_similarity is None else min_similarity
        with self._lock:
            candidates = self._shortlist(view, vectors[0], threshold, now)
            if not candidates:
                return self._miss("below_threshold", Decision(mode=mode, reason="below_threshold"))
            missing = [entry_id for entry_id, _ in candidates if entry_id not in self._analyses]
            texts = self._store.queries(missing) if missing else {}
        stored = self._analyse(texts)
        with self._lock:
            return self._verify(view, mode=mode, query=query, candidates=candidates, computed=stored, now=now)

    def _analyse(self, texts: dict[int, str]) -> dict[int, tuple[Analysis, TextFeatures]]:
        """Analyses of stored questions not in memory, recomputed (one batch) outside the lock."""
        if not texts:
            return {}
        ids = list(texts)
        _, tokens = self._encode([texts[i] for i in ids])
        return {i: (analyse(texts[i], states), features(texts[i])) for i, states in zip(ids, tokens, strict=True)}

    def _exact(self, entry_key: str, now: int) -> LookupResult | None:
        entry_id = self._by_key.get(entry_key)
        if entry_id is None:
            return None
        if self._heads[entry_id].expires_ms <= now:
            self.stats.evictions += self._forget([entry_id])
            return None
        entry = self._store.by_id(entry_id)
        if entry is None:
            return None
        self._store.touch(entry_id, now)
        self.stats.exact_hits += 1
        return LookupResult("exact", 1.0, entry.entry_key, entry.answer)

    def _candidates(self, namespace: str, vector: npt.NDArray[np.float32]) -> list[tuple[int, float]]:
        members = self._by_namespace.get(namespace, set())
        if len(members) <= self.policy.small_namespace_scan:
            ids = [i for i in members if self._heads[i].has_vector]
            return list(zip(ids, self._index.similarities(ids, vector).tolist(), strict=True))
        found: list[tuple[int, float]] = []
        for count in (self.policy.search_count, self.policy.wide_search_count):
            keys, sims = self._index.search(vector, count)
            found = [(int(k), float(s)) for k, s in zip(keys, sims, strict=True) if int(k) in members]
            if found:
                break
        return found

    def _shortlist(
        self, view: RequestView, vector: npt.NDArray[np.float32], threshold: float, now: int
    ) -> list[tuple[int, float]]:
        candidates = [
            (entry_id, sim)
            for entry_id, sim in self._candidates(view.namespace, vector)
            if sim >= threshold and self._heads[entry_id].expires_ms > now
        ]
        candidates.sort(key=lambda c: -c[1])
        return candidates[: self.policy.rerank_candidates]

    def _verify(
        self,
        view: RequestView,
        *,
        mode: str,
        query: tuple[Analysis, TextFeatures],
        candidates: list[tuple[int, float]],
        computed: dict[int, tuple[Analysis, TextFeatures]],
        now: int,
    ) -> LookupResult:
        policy = self.policy
        if computed:
            if len(self._analyses) + len(computed) > ANALYSIS_CACHE_LIMIT:
                self._analyses.clear()
            self._analyses.update((i, a) for i, a in computed.items() if i in self._heads)
        threshold = self.acceptance.threshold(view.namespace, self.verifier.threshold(mode))
        affirmed: list[tuple[float, float, int, Verdict]] = []
        best_refusal: tuple[float, float, Verdict] | None = None
        for entry_id, sim in candidates:
            stored = self._analyses.get(entry_id) or computed.get(entry_id)
            if stored is None:  # removed while the lock was released
                continue
            verdict = self.verifier.verify(query[0], stored[0], sim, mode, threshold)
            if not verdict.affirmed:
                self.stats.refusals[verdict.reason] = self.stats.refusals.get(verdict.reason, 0) + 1
                if best_refusal is None or (verdict.score, sim) > best_refusal[:2]:
                    best_refusal = (verdict.score, sim, verdict)
                continue
            lexical = policy.lexical_weight * trigram_cosine(query[1], stored[1])
            affirmed.append((verdict.score + sim + lexical, sim, entry_id, verdict))
        if not affirmed:
            score, sim, verdict = best_refusal or (0.0, 0.0, Verdict(False, 0.0, "below_threshold"))
            decision = Decision(mode, False, verdict.reason, score, threshold, sim, len(candidates))
            return self._miss(verdict.reason, decision)
        affirmed.sort(key=lambda a: (a[0], a[1]), reverse=True)
        best_score, best_sim, best_id, verdict = affirmed[0]
        decision = Decision(mode, True, "affirmed", verdict.score, threshold, best_sim, len(candidates))
        if len(affirmed) > 1 and best_score - affirmed[1][0] < policy.ambiguity_margin:
            pair = self._index.similarities([affirmed[1][2]], self._vector_of(best_id))
            if float(pair[0]) < policy.duplicate_similarity:
                return self._miss("ambiguous", Decision(mode, False, "ambiguous", verdict.score, threshold, best_sim))
        entry = self._store.by_id(best_id)
        if entry is None:
            return self._miss()
        self._store.touch(best_id, now)
        self.stats.semantic_hits += 1
        self.acceptance.served(view.namespace, entry.entry_key, verdict.score)
        return LookupResult("semantic", best_sim, entry.entry_key, entry.answer, decision=decision)

    def _vector_of(self, entry_id: int) -> npt.NDArray[np.float32]:
        return self._index.vector(entry_id)

    def _miss(self, reason: str = "", decision: Decision | None = None) -> LookupResult:
        self.stats.misses += 1
        return LookupResult("", reason=reason, decision=decision)

    # ---- writes ---------------------------------------------------------------------------------------------
    def refusal(self, view: RequestView) -> str:
        """Why this request's answer must not be stored ("" when it may be)."""
        if view.uncacheable:
            return view.uncacheable
        temperature = self.policy.unset_temperature if view.temperature is None else view.temperature
        if temperature > self.policy.max_temperature:
            return f"temperature {temperature:g} is above the cache limit {self.policy.max_temperature:g}"
        return ""

    def store(self, view: RequestView, answer: bytes, ttl_s: int = 0) -> StoreResult:
        reason = self.refusal(view)
        if reason:
            return StoreResult(view.entry_key, False, reason)
        vector: bytes | None = None
        analysis: tuple[Analysis, TextFeatures] | None = None
        if view.semantic and len(view.query_text) <= self.policy.max_semantic_chars:
            vectors, tokens = self._encode([view.query_text])
            if len(tokens[0].ids) < MAX_POSITIONS - 2:
                vector = vectors[0].astype(np.float16).tobytes()
                analysis = analyse(view.query_text, tokens[0]), features(view.query_text)
        now = self._clock()
        ttl = min(ttl_s or self.policy.default_ttl_s, self.policy.max_ttl_s)
        record = StoreRecord(
            entry_key=view.entry_key,
            namespace=view.namespace,
            tenant=view.tenant,
            query=view.query_text,
            vector=vector,
            answer=answer,
            created_ms=now,
            expires_ms=now + ttl * 1000,
        )
        self.apply_store(record, analysis=analysis)
        return StoreResult(view.entry_key, True, record=record)

    def apply_store(
        self,
        record: StoreRecord,
        sequence: int | None = None,
        analysis: tuple[Analysis, TextFeatures] | None = None,
    ) -> bool:
        """Write an entry (a local store or one replicated from another replica). False if it was already there."""
        meta = {REPLICATION_SEQUENCE: sequence} if sequence is not None else None
        with self._lock:
            existing = self._by_key.get(record.entry_key)
            if (
                existing is not None
                and (entry := self._store.by_id(existing))
                and entry.created_ms >= record.created_ms
            ):
                if meta:
                    self._store.set_meta(meta)
                return False
            if record.expires_ms <= self._clock():
                if meta:
                    self._store.set_meta(meta)
                return False
            entry_id, _created = self._store.upsert(
                entry_key=record.entry_key,
                namespace=record.namespace,
                tenant=record.tenant,
                query=record.query,
                vector=record.vector,
                answer=record.answer,
                created_ms=record.created_ms,
                expires_ms=record.expires_ms,
                meta=meta,
            )
            head = EntryHead(
                entry_id,
                record.entry_key,
                record.namespace,
                record.tenant,
                record.expires_ms,
                record.vector is not None,
            )
            self._remember(head)
            self._analyses.pop(entry_id, None)
            if analysis is not None and len(self._analyses) < ANALYSIS_CACHE_LIMIT:
                self._analyses[entry_id] = analysis
            if record.vector is not None:
                self._index.add(entry_id, np.frombuffer(record.vector, dtype=np.float16).astype(np.float32))
            self._dirty = True
            self._enforce_capacity(record.namespace)
        return True

    def _enforce_capacity(self, namespace: str) -> None:
        over_namespace = len(self._by_namespace.get(namespace, ())) - self.policy.max_entries_per_namespace
        if over_namespace > 0:
            self.stats.evictions += self._forget(self._store.least_recently_used(over_namespace, namespace))
        over_total = len(self._heads) - self.policy.max_entries
        if over_total > 0:
            self.stats.evictions += self._forget(self._store.least_recently_used(over_total))

    def invalidate_key(self, entry_key: str, sequence: int | None = None) -> int:
        meta = {REPLICATION_SEQUENCE: sequence} if sequence is not None else None
        with self._lock:
            entry_id = self._by_key.get(entry_key)
            removed = self._forget([entry_id] if entry_id is not None else [], meta)
            if not removed and meta:
                self._store.set_meta(meta)
            return removed

    def invalidate_tenant(self, tenant: str, before_ms: int | None = None, sequence: int | None = None) -> int:
        meta = {REPLICATION_SEQUENCE: sequence} if sequence is not None else None
        cutoff = self._clock() if before_ms is None else before_ms
        with self._lock:
            ids = self._store.ids_of_tenant(tenant, cutoff)
            removed = self._forget(ids, meta)
            if not removed and meta:
                self._store.set_meta(meta)
            return removed

    def invalidate_namespace(self, namespace: str, before_ms: int | None = None, sequence: int | None = None) -> int:
        meta = {REPLICATION_SEQUENCE: sequence} if sequence is not None else None
        cutoff = self._clock() if before_ms is None else before_ms
        with self._lock:
            removed = self._forget(self._store.ids_of_namespace(namespace, cutoff), meta)
            if not removed and meta:
                self._store.set_meta(meta)
            return removed

    def report_bad_hit(self, entry_key: str) -> BadHit:
        """Evict a wrongly served entry, count it and make the namespace it was served in stricter."""
        with self._lock:
            self.stats.bad_hits += 1
            served = self.acceptance.last_serve(entry_key)
            namespace, score, threshold = "", 0.0, 0.0
            if served is not None:
                namespace, score = served
                threshold = self.acceptance.bad_hit(namespace, entry_key, score)
            entry_id = self._by_key.get(entry_key)
            if entry_id is None:
                return BadHit(False, "", namespace, score, threshold)
            tenant = self._heads[entry_id].tenant
            return BadHit(self._forget([entry_id]) > 0, tenant, namespace, score, threshold)

    def apply_bad_hit(self, entry_key: str, namespace: str, score: float, sequence: int | None = None) -> None:
        """A bad hit reported on any replica (from the event log): evict and tighten here too (idempotent)."""
        if namespace:
            with self._lock:
                self.acceptance.bad_hit(namespace, entry_key, score)
        self.invalidate_key(entry_key, sequence)

    def expire(self) -> int:
        """Drop entries past their TTL; returns how many."""
        with self._lock:
            removed = self._forget(self._store.expired(self._clock()))
            self.stats.evictions += removed
            return removed

    def replication_sequence(self) -> int:
        with self._lock:
            return self._store.get_meta(REPLICATION_SEQUENCE)

    def save_snapshot(self, force: bool = False) -> bool:
        with self._lock:
            if not (self._dirty or force):
                return False
            self._index.save(self._index_path)
            self._dirty = False
            return True

    def close(self) -> None:
        self.save_snapshot()
        with self._lock:
            self._store.close()
