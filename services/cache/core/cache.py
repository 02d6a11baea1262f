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

from services.cache.core.entry_store import EntryHead, EntryStore
from services.cache.core.namespace import RequestView
from services.cache.core.rerank import TextFeatures, combined_score, features, veto
from services.cache.core.vector_index import VectorIndex

Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]
REPLICATION_SEQUENCE = "replication_sequence"
FEATURE_CACHE_LIMIT = 100_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class CachePolicy:
    similarity_threshold: float = 0.7
    lexical_weight: float = 1.0
    ambiguity_margin: float = 0.01
    # Two candidates at least this similar to each other ask the same thing: either answer will do.
    duplicate_similarity: float = 0.95
    rerank_candidates: int = 8
    # Veto look-alikes with another meaning (numbers, negation, direction, names, opposites): see rerank.py.
    guards: bool = True
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
class LookupResult:
    match: str  # "" (miss), "exact" or "semantic"
    similarity: float = 0.0
    entry_key: str = ""
    answer: bytes = b""
    reason: str = ""  # why a semantic candidate was refused (veto name, "ambiguous", "below_threshold")


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
    vetoes: dict[str, int] = field(default_factory=dict)


class ResponseCache:
    def __init__(
        self,
        *,
        data_dir: Path,
        embed: Embed,
        dimensions: int,
        policy: CachePolicy,
        index_dtype: str = "i8",
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.policy = policy
        self.stats = CacheStats()
        self._embed = embed
        self._clock = clock
        self._lock = threading.Lock()
        self._index_path = data_dir / "index.usearch"
        self._store = EntryStore(data_dir / "entries.sqlite3")
        self._index = VectorIndex(dimensions, index_dtype)
        self._heads: dict[int, EntryHead] = {}
        self._by_key: dict[str, int] = {}
        self._by_namespace: dict[str, set[int]] = {}
        # Guard features of stored queries, computed on first use (bounded: cleared when it grows past the limit).
        self._features: dict[int, TextFeatures] = {}
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
            self._features.pop(entry_id, None)
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
        now = self._clock()
        with self._lock:
            exact = self._exact(view.entry_key, now)
        if exact is not None:
            return exact
        if exact_only or not view.semantic or view.uncacheable:
            return self._miss()
        with self._lock:
            if not self._by_namespace.get(view.namespace):
                return self._miss()
        vector = self._embed([view.query_text])[0]
        threshold = self.policy.similarity_threshold if min_similarity is None else min_similarity
        with self._lock:
            return self._semantic(view, vector, threshold, now)

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

    def _semantic(self, view: RequestView, vector: npt.NDArray[np.float32], threshold: float, now: int) -> LookupResult:
        policy = self.policy
        candidates = [
            (entry_id, sim)
            for entry_id, sim in self._candidates(view.namespace, vector)
            if sim >= threshold and self._heads[entry_id].expires_ms > now
        ]
        if not candidates:
            return self._miss("below_threshold")
        candidates.sort(key=lambda c: -c[1])
        candidates = candidates[: policy.rerank_candidates]
        missing = [entry_id for entry_id, _ in candidates if entry_id not in self._features]
        if missing:
            if len(self._features) > FEATURE_CACHE_LIMIT:
                self._features.clear()
            for entry_id, text in self._store.queries(missing).items():
                self._features[entry_id] = features(text)
        query = features(view.query_text)
        scored: list[tuple[float, float, int]] = []
        last_veto = ""
        for entry_id, sim in candidates:
            candidate = self._features.get(entry_id) or features("")
            why = veto(query, candidate) if policy.guards else None
            if why is not None:
                self.stats.vetoes[why.value] = self.stats.vetoes.get(why.value, 0) + 1
                last_veto = why.value
                continue
            scored.append((combined_score(sim, query, candidate, policy.lexical_weight), sim, entry_id))
        if not scored:
            return self._miss(last_veto)
        scored.sort(reverse=True)
        best_score, best_sim, best_id = scored[0]
        if len(scored) > 1 and best_score - scored[1][0] < policy.ambiguity_margin:
            pair = self._index.similarities([scored[1][2]], self._vector_of(best_id))
            if float(pair[0]) < policy.duplicate_similarity:
                return self._miss("ambiguous")
        entry = self._store.by_id(best_id)
        if entry is None:
            return self._miss()
        self._store.touch(best_id, now)
        self.stats.semantic_hits += 1
        return LookupResult("semantic", best_sim, entry.entry_key, entry.answer)

    def _vector_of(self, entry_id: int) -> npt.NDArray[np.float32]:
        return self._index.vector(entry_id)

    def _miss(self, reason: str = "") -> LookupResult:
        self.stats.misses += 1
        return LookupResult("", reason=reason)

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
        vector = self._embed([view.query_text])[0].astype(np.float16).tobytes() if view.semantic else None
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
        self.apply_store(record)
        return StoreResult(view.entry_key, True, record=record)

    def apply_store(self, record: StoreRecord, sequence: int | None = None) -> bool:
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
            self._features.pop(entry_id, None)
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

    def report_bad_hit(self, entry_key: str) -> tuple[bool, str]:
        """Evict a wrongly served entry and count it; returns (evicted, tenant of the entry)."""
        with self._lock:
            self.stats.bad_hits += 1
            entry_id = self._by_key.get(entry_key)
            if entry_id is None:
                return False, ""
            tenant = self._heads[entry_id].tenant
            return self._forget([entry_id]) > 0, tenant

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
