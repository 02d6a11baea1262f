from bourse.common.v1 import chat_pb2 as _chat_pb2
from bourse.common.v1 import routing_pb2 as _routing_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MatchKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_KIND_UNSPECIFIED: _ClassVar[MatchKind]
    MATCH_KIND_EXACT: _ClassVar[MatchKind]
    MATCH_KIND_SEMANTIC: _ClassVar[MatchKind]
MATCH_KIND_UNSPECIFIED: MatchKind
MATCH_KIND_EXACT: MatchKind
MATCH_KIND_SEMANTIC: MatchKind

class CacheScope(_message.Message):
    __slots__ = ("tenant_id", "model_tier")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_TIER_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    model_tier: _routing_pb2.ModelTier
    def __init__(self, tenant_id: _Optional[str] = ..., model_tier: _Optional[_Union[_routing_pb2.ModelTier, str]] = ...) -> None: ...

class CachedAnswer(_message.Message):
    __slots__ = ("completion", "provider", "model", "cost_micro_usd")
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    completion: _chat_pb2.ChatCompletion
    provider: str
    model: str
    cost_micro_usd: int
    def __init__(self, completion: _Optional[_Union[_chat_pb2.ChatCompletion, _Mapping]] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., cost_micro_usd: _Optional[int] = ...) -> None: ...

class LookupRequest(_message.Message):
    __slots__ = ("chat", "scope", "min_similarity", "exact_only")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    EXACT_ONLY_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.ChatRequest
    scope: CacheScope
    min_similarity: float
    exact_only: bool
    def __init__(self, chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., scope: _Optional[_Union[CacheScope, _Mapping]] = ..., min_similarity: _Optional[float] = ..., exact_only: _Optional[bool] = ...) -> None: ...

class LookupResponse(_message.Message):
    __slots__ = ("match", "similarity", "entry_key", "answer", "namespace", "decision")
    MATCH_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_KEY_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    match: MatchKind
    similarity: float
    entry_key: str
    answer: CachedAnswer
    namespace: str
    decision: SemanticDecision
    def __init__(self, match: _Optional[_Union[MatchKind, str]] = ..., similarity: _Optional[float] = ..., entry_key: _Optional[str] = ..., answer: _Optional[_Union[CachedAnswer, _Mapping]] = ..., namespace: _Optional[str] = ..., decision: _Optional[_Union[SemanticDecision, _Mapping]] = ...) -> None: ...

class SemanticDecision(_message.Message):
    __slots__ = ("mode", "affirmed", "reason", "score", "threshold", "similarity", "candidates")
    MODE_FIELD_NUMBER: _ClassVar[int]
    AFFIRMED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    mode: str
    affirmed: bool
    reason: str
    score: float
    threshold: float
    similarity: float
    candidates: int
    def __init__(self, mode: _Optional[str] = ..., affirmed: _Optional[bool] = ..., reason: _Optional[str] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., similarity: _Optional[float] = ..., candidates: _Optional[int] = ...) -> None: ...

class StoreRequest(_message.Message):
    __slots__ = ("chat", "scope", "answer", "ttl_seconds")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.ChatRequest
    scope: CacheScope
    answer: CachedAnswer
    ttl_seconds: int
    def __init__(self, chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., scope: _Optional[_Union[CacheScope, _Mapping]] = ..., answer: _Optional[_Union[CachedAnswer, _Mapping]] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...

class StoreResponse(_message.Message):
    __slots__ = ("entry_key", "stored", "reason", "namespace")
    ENTRY_KEY_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    entry_key: str
    stored: bool
    reason: str
    namespace: str
    def __init__(self, entry_key: _Optional[str] = ..., stored: _Optional[bool] = ..., reason: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class InvalidateRequest(_message.Message):
    __slots__ = ("entry_key", "tenant_id", "namespace")
    ENTRY_KEY_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    entry_key: str
    tenant_id: str
    namespace: str
    def __init__(self, entry_key: _Optional[str] = ..., tenant_id: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class InvalidateResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("entries", "exact_hits", "semantic_hits", "misses", "evictions", "bad_hits", "index_bytes")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    EXACT_HITS_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_HITS_FIELD_NUMBER: _ClassVar[int]
    MISSES_FIELD_NUMBER: _ClassVar[int]
    EVICTIONS_FIELD_NUMBER: _ClassVar[int]
    BAD_HITS_FIELD_NUMBER: _ClassVar[int]
    INDEX_BYTES_FIELD_NUMBER: _ClassVar[int]
    entries: int
    exact_hits: int
    semantic_hits: int
    misses: int
    evictions: int
    bad_hits: int
    index_bytes: int
    def __init__(self, entries: _Optional[int] = ..., exact_hits: _Optional[int] = ..., semantic_hits: _Optional[int] = ..., misses: _Optional[int] = ..., evictions: _Optional[int] = ..., bad_hits: _Optional[int] = ..., index_bytes: _Optional[int] = ...) -> None: ...

class ReportBadHitRequest(_message.Message):
    __slots__ = ("entry_key", "request_id", "note")
    ENTRY_KEY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    entry_key: str
    request_id: str
    note: str
    def __init__(self, entry_key: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ReportBadHitResponse(_message.Message):
    __slots__ = ("evicted", "namespace", "threshold")
    EVICTED_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    evicted: bool
    namespace: str
    threshold: float
    def __init__(self, evicted: _Optional[bool] = ..., namespace: _Optional[str] = ..., threshold: _Optional[float] = ...) -> None: ...
