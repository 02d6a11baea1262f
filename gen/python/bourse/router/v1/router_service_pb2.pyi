from bourse.common.v1 import chat_pb2 as _chat_pb2
from bourse.common.v1 import routing_pb2 as _routing_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QualityPolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    QUALITY_POLICY_UNSPECIFIED: _ClassVar[QualityPolicy]
    QUALITY_POLICY_BALANCED: _ClassVar[QualityPolicy]
    QUALITY_POLICY_CHEAPEST: _ClassVar[QualityPolicy]

class AttemptOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTEMPT_OUTCOME_UNSPECIFIED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_SUCCESS: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_ERROR: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_INVALID_OUTPUT: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_CANCELLED: _ClassVar[AttemptOutcome]
    ATTEMPT_OUTCOME_MISS: _ClassVar[AttemptOutcome]
QUALITY_POLICY_UNSPECIFIED: QualityPolicy
QUALITY_POLICY_BALANCED: QualityPolicy
QUALITY_POLICY_CHEAPEST: QualityPolicy
ATTEMPT_OUTCOME_UNSPECIFIED: AttemptOutcome
ATTEMPT_OUTCOME_SUCCESS: AttemptOutcome
ATTEMPT_OUTCOME_ERROR: AttemptOutcome
ATTEMPT_OUTCOME_INVALID_OUTPUT: AttemptOutcome
ATTEMPT_OUTCOME_CANCELLED: AttemptOutcome
ATTEMPT_OUTCOME_MISS: AttemptOutcome

class CachePolicy(_message.Message):
    __slots__ = ("no_cache", "no_store", "ttl_seconds", "min_similarity")
    NO_CACHE_FIELD_NUMBER: _ClassVar[int]
    NO_STORE_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    no_cache: bool
    no_store: bool
    ttl_seconds: int
    min_similarity: float
    def __init__(self, no_cache: _Optional[bool] = ..., no_store: _Optional[bool] = ..., ttl_seconds: _Optional[int] = ..., min_similarity: _Optional[float] = ...) -> None: ...

class RoutingConstraints(_message.Message):
    __slots__ = ("task_kind", "max_cost_micro_usd", "latency_budget_ms", "required_capabilities", "min_tier", "min_quality", "allowed_models", "denied_models", "allowed_providers", "denied_providers", "regions", "residency_tags", "cache", "background", "max_attempts", "no_local", "hedge", "labels", "output_pattern", "quality_policy", "quality_target")
    TASK_KIND_FIELD_NUMBER: _ClassVar[int]
    MAX_COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    LATENCY_BUDGET_MS_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    MIN_TIER_FIELD_NUMBER: _ClassVar[int]
    MIN_QUALITY_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_MODELS_FIELD_NUMBER: _ClassVar[int]
    DENIED_MODELS_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    DENIED_PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    RESIDENCY_TAGS_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    BACKGROUND_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    NO_LOCAL_FIELD_NUMBER: _ClassVar[int]
    HEDGE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PATTERN_FIELD_NUMBER: _ClassVar[int]
    QUALITY_POLICY_FIELD_NUMBER: _ClassVar[int]
    QUALITY_TARGET_FIELD_NUMBER: _ClassVar[int]
    task_kind: _routing_pb2.TaskKind
    max_cost_micro_usd: int
    latency_budget_ms: int
    required_capabilities: _containers.RepeatedScalarFieldContainer[_routing_pb2.Capability]
    min_tier: _routing_pb2.ModelTier
    min_quality: float
    allowed_models: _containers.RepeatedScalarFieldContainer[str]
    denied_models: _containers.RepeatedScalarFieldContainer[str]
    allowed_providers: _containers.RepeatedScalarFieldContainer[str]
    denied_providers: _containers.RepeatedScalarFieldContainer[str]
    regions: _containers.RepeatedScalarFieldContainer[str]
    residency_tags: _containers.RepeatedScalarFieldContainer[str]
    cache: CachePolicy
    background: bool
    max_attempts: int
    no_local: bool
    hedge: bool
    labels: _containers.RepeatedScalarFieldContainer[str]
    output_pattern: str
    quality_policy: QualityPolicy
    quality_target: float
    def __init__(self, task_kind: _Optional[_Union[_routing_pb2.TaskKind, str]] = ..., max_cost_micro_usd: _Optional[int] = ..., latency_budget_ms: _Optional[int] = ..., required_capabilities: _Optional[_Iterable[_Union[_routing_pb2.Capability, str]]] = ..., min_tier: _Optional[_Union[_routing_pb2.ModelTier, str]] = ..., min_quality: _Optional[float] = ..., allowed_models: _Optional[_Iterable[str]] = ..., denied_models: _Optional[_Iterable[str]] = ..., allowed_providers: _Optional[_Iterable[str]] = ..., denied_providers: _Optional[_Iterable[str]] = ..., regions: _Optional[_Iterable[str]] = ..., residency_tags: _Optional[_Iterable[str]] = ..., cache: _Optional[_Union[CachePolicy, _Mapping]] = ..., background: _Optional[bool] = ..., max_attempts: _Optional[int] = ..., no_local: _Optional[bool] = ..., hedge: _Optional[bool] = ..., labels: _Optional[_Iterable[str]] = ..., output_pattern: _Optional[str] = ..., quality_policy: _Optional[_Union[QualityPolicy, str]] = ..., quality_target: _Optional[float] = ...) -> None: ...

class QualityEstimate(_message.Message):
    __slots__ = ("probability", "prior", "posterior", "successes", "failures")
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    PRIOR_FIELD_NUMBER: _ClassVar[int]
    POSTERIOR_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    probability: float
    prior: float
    posterior: float
    successes: float
    failures: float
    def __init__(self, probability: _Optional[float] = ..., prior: _Optional[float] = ..., posterior: _Optional[float] = ..., successes: _Optional[float] = ..., failures: _Optional[float] = ...) -> None: ...

class RequestContext(_message.Message):
    __slots__ = ("request_id", "tenant_id", "key_id", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    tenant_id: str
    key_id: str
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, request_id: _Optional[str] = ..., tenant_id: _Optional[str] = ..., key_id: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Attempt(_message.Message):
    __slots__ = ("provider", "model", "outcome", "error_reason", "latency_us", "cost_micro_usd", "served_from", "served_from_detail", "confidence")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    LATENCY_US_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    SERVED_FROM_FIELD_NUMBER: _ClassVar[int]
    SERVED_FROM_DETAIL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    outcome: AttemptOutcome
    error_reason: str
    latency_us: int
    cost_micro_usd: int
    served_from: _routing_pb2.ServedFrom
    served_from_detail: str
    confidence: float
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., outcome: _Optional[_Union[AttemptOutcome, str]] = ..., error_reason: _Optional[str] = ..., latency_us: _Optional[int] = ..., cost_micro_usd: _Optional[int] = ..., served_from: _Optional[_Union[_routing_pb2.ServedFrom, str]] = ..., served_from_detail: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class LatencyBreakdown(_message.Message):
    __slots__ = ("total_us", "selection_us", "upstream_us", "time_to_first_token_us")
    TOTAL_US_FIELD_NUMBER: _ClassVar[int]
    SELECTION_US_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_US_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_US_FIELD_NUMBER: _ClassVar[int]
    total_us: int
    selection_us: int
    upstream_us: int
    time_to_first_token_us: int
    def __init__(self, total_us: _Optional[int] = ..., selection_us: _Optional[int] = ..., upstream_us: _Optional[int] = ..., time_to_first_token_us: _Optional[int] = ...) -> None: ...

class RouteRequest(_message.Message):
    __slots__ = ("chat", "constraints", "context")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.ChatRequest
    constraints: RoutingConstraints
    context: RequestContext
    def __init__(self, chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., constraints: _Optional[_Union[RoutingConstraints, _Mapping]] = ..., context: _Optional[_Union[RequestContext, _Mapping]] = ...) -> None: ...

class RouteResponse(_message.Message):
    __slots__ = ("request_id", "completion", "cost_micro_usd", "provider", "model", "region", "served_from", "attempts", "latency", "saved_micro_usd", "client_request_id")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SERVED_FROM_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    SAVED_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    CLIENT_REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    completion: _chat_pb2.ChatCompletion
    cost_micro_usd: int
    provider: str
    model: str
    region: str
    served_from: _routing_pb2.ServedFrom
    attempts: _containers.RepeatedCompositeFieldContainer[Attempt]
    latency: LatencyBreakdown
    saved_micro_usd: int
    client_request_id: str
    def __init__(self, request_id: _Optional[str] = ..., completion: _Optional[_Union[_chat_pb2.ChatCompletion, _Mapping]] = ..., cost_micro_usd: _Optional[int] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., region: _Optional[str] = ..., served_from: _Optional[_Union[_routing_pb2.ServedFrom, str]] = ..., attempts: _Optional[_Iterable[_Union[Attempt, _Mapping]]] = ..., latency: _Optional[_Union[LatencyBreakdown, _Mapping]] = ..., saved_micro_usd: _Optional[int] = ..., client_request_id: _Optional[str] = ...) -> None: ...

class RouteStreamRequest(_message.Message):
    __slots__ = ("chat", "constraints", "context")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.ChatRequest
    constraints: RoutingConstraints
    context: RequestContext
    def __init__(self, chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., constraints: _Optional[_Union[RoutingConstraints, _Mapping]] = ..., context: _Optional[_Union[RequestContext, _Mapping]] = ...) -> None: ...

class RouteStreamResponse(_message.Message):
    __slots__ = ("delta", "summary", "request_id")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    delta: _chat_pb2.ChatDelta
    summary: RouteResponse
    request_id: str
    def __init__(self, delta: _Optional[_Union[_chat_pb2.ChatDelta, _Mapping]] = ..., summary: _Optional[_Union[RouteResponse, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("chat", "constraints", "context")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.ChatRequest
    constraints: RoutingConstraints
    context: RequestContext
    def __init__(self, chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., constraints: _Optional[_Union[RoutingConstraints, _Mapping]] = ..., context: _Optional[_Union[RequestContext, _Mapping]] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("provider", "model", "region", "tier", "estimated_cost_micro_usd", "expected_latency_ms", "p95_latency_ms", "estimated_prompt_tokens", "expected_completion_tokens", "quality")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COST_MICRO_USD_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_COMPLETION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    region: str
    tier: _routing_pb2.ModelTier
    estimated_cost_micro_usd: int
    expected_latency_ms: float
    p95_latency_ms: float
    estimated_prompt_tokens: int
    expected_completion_tokens: int
    quality: QualityEstimate
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., region: _Optional[str] = ..., tier: _Optional[_Union[_routing_pb2.ModelTier, str]] = ..., estimated_cost_micro_usd: _Optional[int] = ..., expected_latency_ms: _Optional[float] = ..., p95_latency_ms: _Optional[float] = ..., estimated_prompt_tokens: _Optional[int] = ..., expected_completion_tokens: _Optional[int] = ..., quality: _Optional[_Union[QualityEstimate, _Mapping]] = ...) -> None: ...

class Rejection(_message.Message):
    __slots__ = ("provider", "model", "constraint", "detail")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINT_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    constraint: str
    detail: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., constraint: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ("candidates", "rejected", "estimated_prompt_tokens", "local_first", "quality_target", "predicted_difficulty", "predicted_need", "quality_target_unmet")
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FIRST_FIELD_NUMBER: _ClassVar[int]
    QUALITY_TARGET_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_DIFFICULTY_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_NEED_FIELD_NUMBER: _ClassVar[int]
    QUALITY_TARGET_UNMET_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    rejected: _containers.RepeatedCompositeFieldContainer[Rejection]
    estimated_prompt_tokens: int
    local_first: bool
    quality_target: float
    predicted_difficulty: float
    predicted_need: float
    quality_target_unmet: bool
    def __init__(self, candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., rejected: _Optional[_Iterable[_Union[Rejection, _Mapping]]] = ..., estimated_prompt_tokens: _Optional[int] = ..., local_first: _Optional[bool] = ..., quality_target: _Optional[float] = ..., predicted_difficulty: _Optional[float] = ..., predicted_need: _Optional[float] = ..., quality_target_unmet: _Optional[bool] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Pricing(_message.Message):
    __slots__ = ("input_per_mtok", "output_per_mtok", "cached_input_per_mtok", "cache_write_per_mtok", "reasoning_per_mtok", "cache_write_long_per_mtok")
    INPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    REASONING_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    CACHE_WRITE_LONG_PER_MTOK_FIELD_NUMBER: _ClassVar[int]
    input_per_mtok: float
    output_per_mtok: float
    cached_input_per_mtok: float
    cache_write_per_mtok: float
    reasoning_per_mtok: float
    cache_write_long_per_mtok: float
    def __init__(self, input_per_mtok: _Optional[float] = ..., output_per_mtok: _Optional[float] = ..., cached_input_per_mtok: _Optional[float] = ..., cache_write_per_mtok: _Optional[float] = ..., reasoning_per_mtok: _Optional[float] = ..., cache_write_long_per_mtok: _Optional[float] = ...) -> None: ...

class TaskQuality(_message.Message):
    __slots__ = ("task_kind", "score")
    TASK_KIND_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    task_kind: _routing_pb2.TaskKind
    score: float
    def __init__(self, task_kind: _Optional[_Union[_routing_pb2.TaskKind, str]] = ..., score: _Optional[float] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("provider", "model", "regions", "tier", "pricing", "context_window", "max_output_tokens", "capabilities", "quality", "residency_tags", "p50_latency_ms", "p95_latency_ms", "available", "prices_as_of", "price_age_days", "retires_on")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    RESIDENCY_TAGS_FIELD_NUMBER: _ClassVar[int]
    P50_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_MS_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    PRICES_AS_OF_FIELD_NUMBER: _ClassVar[int]
    PRICE_AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    RETIRES_ON_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    regions: _containers.RepeatedScalarFieldContainer[str]
    tier: _routing_pb2.ModelTier
    pricing: Pricing
    context_window: int
    max_output_tokens: int
    capabilities: _containers.RepeatedScalarFieldContainer[_routing_pb2.Capability]
    quality: _containers.RepeatedCompositeFieldContainer[TaskQuality]
    residency_tags: _containers.RepeatedScalarFieldContainer[str]
    p50_latency_ms: float
    p95_latency_ms: float
    available: bool
    prices_as_of: str
    price_age_days: int
    retires_on: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., regions: _Optional[_Iterable[str]] = ..., tier: _Optional[_Union[_routing_pb2.ModelTier, str]] = ..., pricing: _Optional[_Union[Pricing, _Mapping]] = ..., context_window: _Optional[int] = ..., max_output_tokens: _Optional[int] = ..., capabilities: _Optional[_Iterable[_Union[_routing_pb2.Capability, str]]] = ..., quality: _Optional[_Iterable[_Union[TaskQuality, _Mapping]]] = ..., residency_tags: _Optional[_Iterable[str]] = ..., p50_latency_ms: _Optional[float] = ..., p95_latency_ms: _Optional[float] = ..., available: _Optional[bool] = ..., prices_as_of: _Optional[str] = ..., price_age_days: _Optional[int] = ..., retires_on: _Optional[str] = ...) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models", "prices_as_of", "oldest_price_age_days", "oldest_prices_as_of", "max_price_age_days")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    PRICES_AS_OF_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PRICE_AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PRICES_AS_OF_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_AGE_DAYS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    prices_as_of: str
    oldest_price_age_days: int
    oldest_prices_as_of: str
    max_price_age_days: float
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., prices_as_of: _Optional[str] = ..., oldest_price_age_days: _Optional[int] = ..., oldest_prices_as_of: _Optional[str] = ..., max_price_age_days: _Optional[float] = ...) -> None: ...
