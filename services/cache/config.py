"""Cache service configuration (env prefix BOURSE_CACHE)."""

from __future__ import annotations

from pathlib import Path

import msgspec

from services.cache.core.acceptance import check_mode
from services.cache.core.cache import CachePolicy

ENV_PREFIX = "BOURSE_CACHE"


class CacheConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    listen: str = "127.0.0.1:50053"
    nats_url: str = "nats://127.0.0.1:4222"
    log_level: str = "info"
    # Seconds in-flight calls get to finish on SIGTERM.
    shutdown_grace_s: float = 5.0
    metrics_listen: str = ""
    # Entry store and index snapshot; "" means ~/.local/share/bourse/cache.
    data_dir: str = ""
    # Converted models; "" means shared.model_store.models_dir().
    models_dir: str = ""
    # int8 on CTranslate2's default backend: measured fastest on this CPU at cosine >= 0.99 to float32 (docs/cache.md).
    compute_type: str = "int8"
    intra_threads: int = 2
    # i8 over f16: same quality on the benchmarks, 42% fewer bytes, about 2x faster search and insert (docs/cache.md).
    index_dtype: str = "i8"
    # Minimum cosine for a candidate to reach the verifier.
    similarity_threshold: float = 0.7
    # off | strict (the verifier must affirm: the default) | balanced; semantic_modes overrides it per namespace
    # id (LookupResponse.namespace) or tenant id, e.g. BOURSE_CACHE_SEMANTIC_MODES='{"acme": "off"}'.
    semantic_mode: str = "strict"
    semantic_modes: dict[str, str] = msgspec.field(default_factory=dict)
    # Reported bad hits tighten a namespace until its served hits show at most this error rate (95% bound).
    bad_hit_error_bound: float = 0.01
    lexical_weight: float = 1.0
    ambiguity_margin: float = 0.01
    duplicate_similarity: float = 0.95
    rerank_candidates: int = 8
    max_temperature: float = 0.5
    # Temperature assumed for requests that leave it unset (providers default to 1; most cached traffic is FAQ-like).
    unset_temperature: float = 0.0
    default_ttl_s: int = 86_400
    max_ttl_s: int = 30 * 86_400
    max_entries: int = 1_000_000
    max_entries_per_namespace: int = 100_000
    snapshot_interval_s: float = 30.0
    sweep_interval_s: float = 30.0
    # Replicas share stores, invalidations and bad hits through the BOURSE_CACHE stream.
    replication: bool = True
    # Names this replica in the stream; "" means host name and process id.
    replica_id: str = ""

    def __post_init__(self) -> None:
        if not 0.0 < self.similarity_threshold <= 1.0:
            raise ValueError("similarity_threshold must be in (0, 1]")
        if self.compute_type not in ("int8", "int16", "float32", "int8_float32", "default", "auto"):
            raise ValueError(f"unsupported compute_type {self.compute_type!r}")
        if self.index_dtype not in ("f16", "i8", "f32", "bf16"):
            raise ValueError(f"unsupported index_dtype {self.index_dtype!r}")
        check_mode(self.semantic_mode, "semantic_mode")
        for key, mode in self.semantic_modes.items():
            check_mode(mode, f"semantic_modes[{key!r}]")
        if not 0.0 < self.bad_hit_error_bound < 1.0:
            raise ValueError("bad_hit_error_bound must be in (0, 1)")

    def resolved_data_dir(self) -> Path:
        return Path(self.data_dir) if self.data_dir else Path.home() / ".local" / "share" / "bourse" / "cache"

    def policy(self) -> CachePolicy:
        return CachePolicy(
            similarity_threshold=self.similarity_threshold,
            lexical_weight=self.lexical_weight,
            ambiguity_margin=self.ambiguity_margin,
            duplicate_similarity=self.duplicate_similarity,
            rerank_candidates=self.rerank_candidates,
            semantic_mode=self.semantic_mode,
            semantic_modes=dict(self.semantic_modes),
            bad_hit_error_bound=self.bad_hit_error_bound,
            max_temperature=self.max_temperature,
            unset_temperature=self.unset_temperature,
            default_ttl_s=self.default_ttl_s,
            max_ttl_s=self.max_ttl_s,
            max_entries=self.max_entries,
            max_entries_per_namespace=self.max_entries_per_namespace,
        )
