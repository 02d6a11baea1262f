from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GroupBy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GROUP_BY_UNSPECIFIED: _ClassVar[GroupBy]
    GROUP_BY_PROVIDER: _ClassVar[GroupBy]
    GROUP_BY_MODEL: _ClassVar[GroupBy]
    GROUP_BY_TASK_KIND: _ClassVar[GroupBy]
    GROUP_BY_TENANT: _ClassVar[GroupBy]
GROUP_BY_UNSPECIFIED: GroupBy
GROUP_BY_PROVIDER: GroupBy
GROUP_BY_MODEL: GroupBy
GROUP_BY_TASK_KIND: GroupBy
GROUP_BY_TENANT: GroupBy

class LedgerFilter(_message.Message):
    __slots__ = ("start_ms", "end_ms", "tenant", "provider", "model", "task_kind")
    START_MS_FIELD_NUMBER: _ClassVar[int]
    END_MS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TASK_KIND_FIELD_NUMBER: _ClassVar[int]
    start_ms: int
    end_ms: int
    tenant: str
    provider: str
    model: str
    task_kind: str
    def __init__(self, start_ms: _Optional[int] = ..., end_ms: _Optional[int] = ..., tenant: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., task_kind: _Optional[str] = ...) -> None: ...

class SubmitFeedbackRequest(_message.Message):
    __slots__ = ("request_id", "tenant", "score", "comment")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    tenant: str
    score: float
    comment: str
    def __init__(self, request_id: _Optional[str] = ..., tenant: _Optional[str] = ..., score: _Optional[float] = ..., comment: _Optional[str] = ...) -> None: ...

class SubmitFeedbackResponse(_message.Message):
    __slots__ = ("request_known",)
    REQUEST_KNOWN_FIELD_NUMBER: _ClassVar[int]
    request_known: bool
    def __init__(self, request_known: _Optional[bool] = ...) -> None: ...

class GetReportRequest(_message.Message):
    __slots__ = ("filter", "group_by")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    filter: LedgerFilter
    group_by: _containers.RepeatedScalarFieldContainer[GroupBy]
    def __init__(self, filter: _Optional[_Union[LedgerFilter, _Mapping]] = ..., group_by: _Optional[_Iterable[_Union[GroupBy, str]]] = ...) -> None: ...

class ReportRow(_message.Message):
    __slots__ = ("provider", "model", "task_kind", "tenant", "requests", "errors", "error_rate", "spend_micro_usd", "prompt_tokens", "completion_tokens", "cached_tokens", "p50_latency_ms", "p95_latency_ms", "retries", "cache_hits", "cache_hit_rate", "saved_micro_usd", "local_requests", "local_share")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TASK_KIND_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    SPEND_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHED_TOKENS_FIELD_NUMBER: _ClassVar[int]
    P50_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    CACHE_HITS_FIELD_NUMBER: _ClassVar[int]
    CACHE_HIT_RATE_FIELD_NUMBER: _ClassVar[int]
    SAVED_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    LOCAL_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_SHARE_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    task_kind: str
    tenant: str
    requests: int
    errors: int
    error_rate: float
    spend_micro_usd: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    p50_latency_ms: float
    p95_latency_ms: float
    retries: int
    cache_hits: int
    cache_hit_rate: float
    saved_micro_usd: int
    local_requests: int
    local_share: float
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., task_kind: _Optional[str] = ..., tenant: _Optional[str] = ..., requests: _Optional[int] = ..., errors: _Optional[int] = ..., error_rate: _Optional[float] = ..., spend_micro_usd: _Optional[int] = ..., prompt_tokens: _Optional[int] = ..., completion_tokens: _Optional[int] = ..., cached_tokens: _Optional[int] = ..., p50_latency_ms: _Optional[float] = ..., p95_latency_ms: _Optional[float] = ..., retries: _Optional[int] = ..., cache_hits: _Optional[int] = ..., cache_hit_rate: _Optional[float] = ..., saved_micro_usd: _Optional[int] = ..., local_requests: _Optional[int] = ..., local_share: _Optional[float] = ...) -> None: ...

class GetReportResponse(_message.Message):
    __slots__ = ("rows", "total")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[ReportRow]
    total: ReportRow
    def __init__(self, rows: _Optional[_Iterable[_Union[ReportRow, _Mapping]]] = ..., total: _Optional[_Union[ReportRow, _Mapping]] = ...) -> None: ...

class GetQualityRankingRequest(_message.Message):
    __slots__ = ("filter", "min_scored")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORED_FIELD_NUMBER: _ClassVar[int]
    filter: LedgerFilter
    min_scored: int
    def __init__(self, filter: _Optional[_Union[LedgerFilter, _Mapping]] = ..., min_scored: _Optional[int] = ...) -> None: ...

class QualityRow(_message.Message):
    __slots__ = ("task_kind", "provider", "model", "requests", "scored", "mean_score", "mean_cost_micro_usd", "score_per_usd", "thin_evidence", "rank", "scored_low")
    TASK_KIND_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    SCORED_FIELD_NUMBER: _ClassVar[int]
    MEAN_SCORE_FIELD_NUMBER: _ClassVar[int]
    MEAN_COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SCORE_PER_USD_FIELD_NUMBER: _ClassVar[int]
    THIN_EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    RANK_FIELD_NUMBER: _ClassVar[int]
    SCORED_LOW_FIELD_NUMBER: _ClassVar[int]
    task_kind: str
    provider: str
    model: str
    requests: int
    scored: int
    mean_score: float
    mean_cost_micro_usd: float
    score_per_usd: float
    thin_evidence: bool
    rank: int
    scored_low: int
    def __init__(self, task_kind: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., requests: _Optional[int] = ..., scored: _Optional[int] = ..., mean_score: _Optional[float] = ..., mean_cost_micro_usd: _Optional[float] = ..., score_per_usd: _Optional[float] = ..., thin_evidence: _Optional[bool] = ..., rank: _Optional[int] = ..., scored_low: _Optional[int] = ...) -> None: ...

class GetQualityRankingResponse(_message.Message):
    __slots__ = ("rows",)
    ROWS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[QualityRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[QualityRow, _Mapping]]] = ...) -> None: ...

class ModelPrice(_message.Message):
    __slots__ = ("provider", "model", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok", "tiers", "cache_write_long_per_mtok")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    REASONING_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_LONG_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float
    cache_write_per_mtok: float
    reasoning_per_mtok: float
    tiers: _containers.RepeatedCompositeFieldContainer[PriceTier]
    cache_write_long_per_mtok: float
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., input_per_mtok: _Optional[float] = ..., output_per_mtok: _Optional[float] = ..., cached_input_per_mtok: _Optional[float] = ..., cache_write_per_mtok: _Optional[float] = ..., reasoning_per_mtok: _Optional[float] = ..., tiers: _Optional[_Iterable[_Union[PriceTier, _Mapping]]] = ..., cache_write_long_per_mtok: _Optional[float] = ...) -> None: ...

class PriceTier(_message.Message):
    __slots__ = ("above_prompt_tokens", "input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok", "cache_write_long_per_mtok")
    ABOVE_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    REASONING_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_LONG_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    above_prompt_tokens: int
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float
    cache_write_per_mtok: float
    reasoning_per_mtok: float
    cache_write_long_per_mtok: float
    def __init__(self, above_prompt_tokens: _Optional[int] = ..., input_per_mtok: _Optional[float] = ..., output_per_mtok: _Optional[float] = ..., cached_input_per_mtok: _Optional[float] = ..., cache_write_per_mtok: _Optional[float] = ..., reasoning_per_mtok: _Optional[float] = ..., cache_write_long_per_mtok: _Optional[float] = ...) -> None: ...

class GetCounterfactualRequest(_message.Message):
    __slots__ = ("filter", "target", "group_by")
    FILTER_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    filter: LedgerFilter
    target: ModelPrice
    group_by: GroupBy
    def __init__(self, filter: _Optional[_Union[LedgerFilter, _Mapping]] = ..., target: _Optional[_Union[ModelPrice, _Mapping]] = ..., group_by: _Optional[_Union[GroupBy, str]] = ...) -> None: ...

class CounterfactualRow(_message.Message):
    __slots__ = ("key", "requests", "actual_micro_usd", "counterfactual_micro_usd", "savings_micro_usd", "savings_ratio")
    KEY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ACTUAL_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    COUNTERFACTUAL_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SAVINGS_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SAVINGS_RATIO_FIELD_NUMBER: _ClassVar[int]
    key: str
    requests: int
    actual_micro_usd: int
    counterfactual_micro_usd: int
    savings_micro_usd: int
    savings_ratio: float
    def __init__(self, key: _Optional[str] = ..., requests: _Optional[int] = ..., actual_micro_usd: _Optional[int] = ..., counterfactual_micro_usd: _Optional[int] = ..., savings_micro_usd: _Optional[int] = ..., savings_ratio: _Optional[float] = ...) -> None: ...

class GetCounterfactualResponse(_message.Message):
    __slots__ = ("total", "rows")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    total: CounterfactualRow
    rows: _containers.RepeatedCompositeFieldContainer[CounterfactualRow]
    def __init__(self, total: _Optional[_Union[CounterfactualRow, _Mapping]] = ..., rows: _Optional[_Iterable[_Union[CounterfactualRow, _Mapping]]] = ...) -> None: ...
