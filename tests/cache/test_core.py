"""ResponseCache with the real encoder and usearch: tiers, namespaces, TTL, capacity, invalidation, persistence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from services.cache.core.cache import CachePolicy, ResponseCache
from services.cache.core.namespace import view_request
from shared.embedding.encoder import SentenceEncoder
from tests.cache.conftest import chat, scope

pytestmark = pytest.mark.model


class Clock:
    def __init__(self) -> None:
        self.ms = 1_800_000_000_000

    def __call__(self) -> int:
        return self.ms


def make(
    tmp_path: Path, encoder: SentenceEncoder, clock: Clock | None = None, index_dtype: str = "i8", **policy: object
) -> ResponseCache:
    return ResponseCache(
        data_dir=tmp_path,
        encode=encoder.encode,
        dimensions=encoder.dimensions,
        policy=replace(CachePolicy(), **policy),  # type: ignore[arg-type]
        index_dtype=index_dtype,
        clock=clock or Clock(),
    )


def view(text: str, tenant: str = "t", **kw: object):  # type: ignore[no-untyped-def]
    return view_request(chat(text, **kw), scope(tenant))  # type: ignore[arg-type]


def test_exact_then_semantic_hits_and_misses(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    stored = cache.store(view("How do I reset my password?"), b"answer-1")
    assert stored.stored and stored.record is not None
    exact = cache.lookup(view("How do I reset my password?"))
    assert (exact.match, exact.similarity, exact.answer) == ("exact", 1.0, b"answer-1")
    semantic = cache.lookup(view("how can I reset my password"))
    assert semantic.match == "semantic" and semantic.answer == b"answer-1" and 0.8 <= semantic.similarity < 1
    assert semantic.entry_key == stored.entry_key
    assert cache.lookup(view("What are your opening hours?")).match == ""
    assert cache.lookup(view("how can I reset my password"), exact_only=True).match == ""
    assert cache.lookup(view("how can I reset my password"), min_similarity=0.999).match == ""
    assert (cache.stats.exact_hits, cache.stats.semantic_hits, cache.stats.misses) == (1, 1, 3)


def test_hits_never_cross_namespaces(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    cache.store(view("How do I reset my password?", tenant="a"), b"for-a")
    assert cache.lookup(view("How do I reset my password?", tenant="b")).match == ""
    assert cache.lookup(view("How do I reset my password?", tenant="a", system="Be terse.")).match == ""


def test_reversed_conversion_is_refused_by_the_verifier(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    cache.store(view("How do I convert Celsius to Fahrenheit?"), b"c-to-f")
    result = cache.lookup(view("How do I convert Fahrenheit to Celsius?"))
    assert result.match == "" and result.reason == "name_order"
    assert result.decision is not None and result.decision.mode == "strict" and not result.decision.affirmed
    assert result.decision.similarity > 0.9 and result.decision.candidates == 1
    assert cache.stats.refusals == {"name_order": 1}
    lowered = cache.lookup(view("how do i convert fahrenheit to celsius"))
    assert lowered.match == "" and lowered.reason == "reversed_relation"


def test_semantic_mode_off_serves_exact_hits_only(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder, semantic_modes={"b": "off"})
    for tenant in ("a", "b"):
        cache.store(view("How do I reset my password?", tenant=tenant), tenant.encode())
    assert cache.lookup(view("How do I reset my password?", tenant="b")).match == "exact"
    off = cache.lookup(view("how do I reset my password", tenant="b"))
    assert off.match == "" and off.decision is not None and off.decision.reason == "semantic_off"
    assert cache.lookup(view("how do I reset my password", tenant="a")).match == "semantic"


def test_a_reported_bad_hit_makes_the_namespace_stricter(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    cache.store(view("How do I reset my password?"), b"reset")
    hit = cache.lookup(view("how do I reset my password"))
    assert hit.match == "semantic" and hit.decision is not None and hit.decision.affirmed
    bad = cache.report_bad_hit(hit.entry_key)
    assert bad.evicted and bad.namespace == view("x").namespace and bad.score == pytest.approx(hit.decision.score)
    assert bad.threshold > hit.decision.score
    cache.store(view("How do I reset my password?"), b"reset again")
    again = cache.lookup(view("how do I reset my password"))
    assert again.match == "" and again.reason == "classifier"
    assert again.decision is not None and again.decision.threshold == pytest.approx(bad.threshold)
    # Another tenant's namespace keeps its threshold.
    cache.store(view("How do I reset my password?", tenant="other"), b"other")
    assert cache.lookup(view("how do I reset my password", tenant="other")).match == "semantic"


def test_empty_and_very_long_questions_miss(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    assert cache.store(view("   "), b"x").reason == "the last message is empty"
    assert cache.lookup(view(" \n\t ")).reason == "uncacheable"
    document = "Summarise this report. " + "The quarterly numbers rose again. " * 3000
    stored = cache.store(view(document), b"summary")
    assert stored.stored
    assert cache.lookup(view(document)).match == "exact"
    # Past the encoder's window the question is exact-only: a shared prefix must not make a semantic hit.
    longer = cache.lookup(view(document + " And list the risks."))
    assert longer.match == "" and longer.reason == "too_long"


def test_ambiguous_candidates_are_a_miss(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder, similarity_threshold=0.3, ambiguity_margin=0.5, lexical_weight=0.0)
    cache.store(view("What are the opening hours?"), b"opening")
    cache.store(view("What are the hours?"), b"hours")
    result = cache.lookup(view("what are the opening hours of the store please"))
    assert result.match == "" and result.reason == "ambiguous"


def test_a_more_specific_stored_question_is_not_served(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    cache.store(view("How do I reset my password on the mobile app?"), b"mobile")
    result = cache.lookup(view("How do I reset my password?"))
    assert result.match == "" and result.reason == "stored_more_specific"


def test_high_temperature_and_tool_results_are_not_stored(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder, max_temperature=0.5)
    refused = cache.store(view("Write me a poem", temperature=0.9), b"poem")
    assert not refused.stored and "temperature 0.9" in refused.reason
    assert cache.store(view("Write me a poem", temperature=None), b"poem").stored  # unset counts as 0 by default
    assert cache.entries == 1
    hot = cache.lookup(view("Write me a poem", temperature=0.9))
    assert hot.match == "" and hot.reason == "uncacheable"  # not served to a request that asks for variety
    assert cache.lookup(view("Write me a poem", temperature=None)).match == "exact"


def test_ttl_expiry_on_lookup_and_by_the_sweeper(tmp_path: Path, encoder: SentenceEncoder) -> None:
    clock = Clock()
    cache = make(tmp_path, encoder, clock)
    cache.store(view("What is the refund policy?"), b"30 days", ttl_s=60)
    cache.store(view("Where is my parcel?"), b"track it", ttl_s=600)
    clock.ms += 61_000
    assert cache.lookup(view("What is the refund policy?")).match == ""
    assert cache.lookup(view("What's your refund policy")).match == ""
    assert cache.entries == 1  # the exact lookup dropped the expired entry at once
    clock.ms += 600_000
    assert cache.expire() == 1 and cache.entries == 0
    assert cache.stats.evictions == 2


def test_ttl_is_capped(tmp_path: Path, encoder: SentenceEncoder) -> None:
    clock = Clock()
    cache = make(tmp_path, encoder, clock, max_ttl_s=100)
    result = cache.store(view("q"), b"a", ttl_s=10_000)
    assert result.record is not None and result.record.expires_ms == clock.ms + 100_000


def test_capacity_evicts_least_recently_used(tmp_path: Path, encoder: SentenceEncoder) -> None:
    clock = Clock()
    cache = make(tmp_path, encoder, clock, max_entries_per_namespace=2, max_entries=3)
    for text in ("first question about billing", "second question about shipping"):
        cache.store(view(text), text.encode())
        clock.ms += 1000
    assert cache.lookup(view("first question about billing")).match == "exact"  # now the most recently used
    clock.ms += 1000
    cache.store(view("third question about returns"), b"3")
    assert cache.lookup(view("second question about shipping"), exact_only=True).match == ""
    assert cache.lookup(view("first question about billing"), exact_only=True).match == "exact"
    cache.store(view("other tenant question", tenant="u"), b"u1")
    clock.ms += 1000
    cache.store(view("another other tenant question", tenant="u"), b"u2")
    assert cache.entries == 3 and cache.stats.evictions == 2


def test_invalidate_by_key_and_by_tenant(tmp_path: Path, encoder: SentenceEncoder) -> None:
    clock = Clock()
    cache = make(tmp_path, encoder, clock)
    key = cache.store(view("q one", tenant="a"), b"1").entry_key
    cache.store(view("q two", tenant="a"), b"2")
    cache.store(view("q three", tenant="b"), b"3")
    assert cache.invalidate_key(key) == 1 and cache.invalidate_key(key) == 0
    assert cache.invalidate_tenant("a") == 1
    assert cache.entries == 1 and cache.lookup(view("q three", tenant="b")).match == "exact"
    clock.ms += 5
    later = cache.store(view("q four", tenant="b"), b"4")
    assert later.record is not None
    assert cache.invalidate_tenant("b", before_ms=later.record.created_ms - 1) == 1  # only entries made before
    assert cache.entries == 1 and cache.lookup(view("q four", tenant="b")).match == "exact"


def test_invalidate_by_namespace(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    terse = view("q one", system="Be terse.")
    cache.store(terse, b"1")
    cache.store(view("q one"), b"2")
    assert cache.invalidate_namespace(terse.namespace) == 1
    assert cache.lookup(view("q one")).answer == b"2" and cache.lookup(terse).match == ""


def test_report_bad_hit_evicts(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    key = cache.store(view("How do I cancel?", tenant="a"), b"x").entry_key
    assert cache.report_bad_hit(key).evicted and cache.report_bad_hit(key).tenant == ""
    assert cache.stats.bad_hits == 2 and cache.entries == 0


def test_restart_keeps_entries_and_the_index(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    cache.store(view("How do I reset my password?"), b"reset")
    cache.save_snapshot()
    cache.store(view("How do I delete my account?"), b"delete")  # after the snapshot: re-added from SQLite
    cache.close()
    reopened = make(tmp_path, encoder)
    assert not reopened.rebuilt_index and reopened.entries == 2
    assert reopened.lookup(view("how can I reset my password")).answer == b"reset"
    assert reopened.lookup(view("how can I delete my account")).answer == b"delete"


def test_a_stale_snapshot_drops_deleted_entries(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    key = cache.store(view("How do I reset my password?"), b"reset").entry_key
    cache.save_snapshot()
    cache.invalidate_key(key)
    cache._store.close()  # crash: no snapshot after the delete
    reopened = make(tmp_path, encoder)
    assert reopened.entries == 0 and reopened.index_bytes > 0
    assert reopened.lookup(view("how can I reset my password")).match == ""


def test_a_missing_or_corrupt_snapshot_is_rebuilt(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder)
    cache.store(view("How do I reset my password?"), b"reset")
    cache.close()
    (tmp_path / "index.usearch").write_bytes(b"garbage" * 10)
    reopened = make(tmp_path, encoder)
    assert reopened.rebuilt_index
    assert reopened.lookup(view("how can I reset my password")).answer == b"reset"
    reopened.close()
    (tmp_path / "index.usearch").unlink()
    again = make(tmp_path, encoder)
    assert again.rebuilt_index and again.lookup(view("how can I reset my password")).answer == b"reset"


def test_a_snapshot_of_another_storage_type_is_rebuilt(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder, index_dtype="f16")
    cache.store(view("How do I reset my password?"), b"reset")
    cache.close()
    reopened = make(tmp_path, encoder, index_dtype="i8")
    assert reopened.rebuilt_index
    assert reopened.lookup(view("how can I reset my password")).answer == b"reset"


def test_large_namespaces_use_the_hnsw_search(tmp_path: Path, encoder: SentenceEncoder) -> None:
    cache = make(tmp_path, encoder, small_namespace_scan=4)
    for i in range(12):
        cache.store(view(f"How do I configure feature number {i} of the dashboard?"), f"f{i}".encode())
    cache.store(view("How do I reset my password?"), b"reset")
    cache.store(view("How do I reset my password?", tenant="other"), b"other")
    assert cache.lookup(view("how can I reset my password")).answer == b"reset"
