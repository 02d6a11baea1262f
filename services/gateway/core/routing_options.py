"""How an unmodified OpenAI client chooses a route: the `model` field, `x-bourse-*` headers, the `bourse` object.

Three layers, later ones winning field by field: what the model name implies (an alias or a concrete model),
the `x-bourse-<field>` headers, then the `bourse` body object. The result becomes RoutingConstraints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from bourse.common.v1 import routing_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.openai_types import BourseOptions, CacheOptions
from shared.errors import FieldViolation, InvalidRequest, NotFound, Reason

ALIAS_PREFIX = "bourse/"
HEADER_PREFIX = "x-bourse-"
_LIST_FIELDS = frozenset(
    {
        "required_capabilities",
        "allowed_models",
        "denied_models",
        "allowed_providers",
        "denied_providers",
        "regions",
        "residency_tags",
        "labels",
    }
)
# Cache fields travel as flat headers (`x-bourse-no-cache: true`).
_CACHE_HEADERS = {"no-cache": "no_cache", "no-store": "no_store", "cache-ttl-seconds": "ttl_seconds"}
_CACHE_HEADERS_MIN_SIMILARITY = "min-similarity"
_OPTION_FIELDS = frozenset(BourseOptions.__struct_fields__) - {"cache", "metadata"}

TASK_KINDS: Mapping[str, int] = {
    name.removeprefix("TASK_KIND_").lower(): value
    for name, value in routing_pb2.TaskKind.items()
    if value != routing_pb2.TASK_KIND_UNSPECIFIED
}
_TIERS: Mapping[str, int] = {
    name.removeprefix("MODEL_TIER_").lower(): value
    for name, value in routing_pb2.ModelTier.items()
    if value != routing_pb2.MODEL_TIER_UNSPECIFIED
}
_QUALITY_POLICIES: Mapping[str, int] = {
    name.removeprefix("QUALITY_POLICY_").lower(): value
    for name, value in router_pb2.QualityPolicy.items()
    if value != router_pb2.QUALITY_POLICY_UNSPECIFIED
}
_CAPABILITIES: Mapping[str, int] = {
    name.removeprefix("CAPABILITY_").lower(): value
    for name, value in routing_pb2.Capability.items()
    if value != routing_pb2.CAPABILITY_UNSPECIFIED
}


def header_text(name: str, value: str) -> str:
    """A header value as text; bytes that are not UTF-8 (the HTTP parser keeps them as surrogates) are a 400."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidRequest(
            f"header {name} is not valid UTF-8", violations=[FieldViolation(name, "not valid UTF-8")]
        ) from None
    return value


def options_from_headers(headers: Mapping[str, str]) -> BourseOptions | None:
    """The `x-bourse-*` headers as options (None when there are none); a bad value is a 400 naming the header."""
    raw: dict[str, Any] = {}
    cache: dict[str, Any] = {}
    for header, raw_value in headers.items():
        name = str(header)  # aiohttp's case-insensitive istr is not JSON-encodable
        lower = name.lower()
        if not lower.startswith(HEADER_PREFIX):
            continue
        key = lower[len(HEADER_PREFIX) :]
        value = header_text(name, raw_value)
        if key in _CACHE_HEADERS:
            cache[_CACHE_HEADERS[key]] = value
        elif key == _CACHE_HEADERS_MIN_SIMILARITY:
            cache["min_similarity"] = value
        else:
            field = key.replace("-", "_")
            if field not in _OPTION_FIELDS:
                raise InvalidRequest(
                    f"unknown header {name}",
                    violations=[FieldViolation(name, "not a Bourse routing header")],
                )
            raw[field] = [item.strip() for item in value.split(",") if item.strip()] if field in _LIST_FIELDS else value
    if cache:
        raw["cache"] = cache
    if not raw:
        return None
    try:
        return msgspec.convert(raw, BourseOptions, strict=False)
    except msgspec.ValidationError as error:
        path = str(error).rsplit("at `$.", 1)[-1].rstrip("`")
        header = HEADER_PREFIX + path.split("[", 1)[0].replace("_", "-")
        raise InvalidRequest(
            f"invalid header {header}: {error}", violations=[FieldViolation(header, str(error))]
        ) from error


def layered(layers: Iterable[BourseOptions | None]) -> BourseOptions:
    """Merge option layers: for each field the last layer that sets it wins (cache fields likewise)."""
    merged: dict[str, Any] = {}
    cache: dict[str, Any] = {}
    for layer in layers:
        if layer is None:
            continue
        for field in BourseOptions.__struct_fields__:
            value = getattr(layer, field)
            if value is None:
                continue
            if field == "cache":
                cache.update({k: v for k, v in msgspec.structs.asdict(value).items() if v is not None})
            else:
                merged[field] = value
    options = BourseOptions(**merged)
    if cache:
        options.cache = CacheOptions(**cache)
    return options


def _enum(table: Mapping[str, int], value: str, field: str) -> int:
    try:
        return table[value.lower().removeprefix("bourse/")]
    except KeyError:
        raise InvalidRequest(
            f"unknown {field} {value!r}; one of: {', '.join(table)}",
            violations=[FieldViolation(f"bourse.{field}", f"one of: {', '.join(table)}")],
        ) from None


def to_constraints(options: BourseOptions) -> router_pb2.RoutingConstraints:
    """RoutingConstraints from merged options; enum names are validated here."""
    constraints = router_pb2.RoutingConstraints(
        allowed_models=options.allowed_models or (),
        denied_models=options.denied_models or (),
        allowed_providers=options.allowed_providers or (),
        denied_providers=options.denied_providers or (),
        regions=options.regions or (),
        residency_tags=options.residency_tags or (),
        labels=options.labels or (),
        output_pattern=options.output_pattern or "",
        background=bool(options.background),
        no_local=bool(options.no_local),
        hedge=bool(options.hedge),
        max_attempts=options.max_attempts or 0,
        latency_budget_ms=options.latency_budget_ms or 0,
        min_quality=options.min_quality or 0.0,
    )
    if options.task_kind is not None:
        constraints.task_kind = _enum(TASK_KINDS, options.task_kind, "task_kind")  # type: ignore[assignment]
    if options.quality is not None:
        constraints.quality_policy = _enum(_QUALITY_POLICIES, options.quality, "quality")  # type: ignore[assignment]
    if options.quality_target:
        constraints.quality_target = options.quality_target
    if options.min_tier is not None:
        constraints.min_tier = _enum(_TIERS, options.min_tier, "min_tier")  # type: ignore[assignment]
    if options.required_capabilities:
        constraints.required_capabilities.extend(
            _enum(_CAPABILITIES, cap, "required_capabilities")  # type: ignore[misc]
            for cap in options.required_capabilities
        )
    if options.max_cost_usd:
        # A positive bound below one micro-dollar is the tightest bound there is, never "no bound" (0).
        constraints.max_cost_micro_usd = max(1, round(options.max_cost_usd * 1_000_000))
    if options.cache is not None:
        cache = options.cache
        constraints.cache.no_cache = bool(cache.no_cache)
        constraints.cache.no_store = bool(cache.no_store)
        constraints.cache.ttl_seconds = cache.ttl_seconds or 0
        if cache.min_similarity is not None:
            constraints.cache.min_similarity = cache.min_similarity
    return constraints


def options_for_model(
    model: str,
    aliases: Mapping[str, BourseOptions],
    known_models: frozenset[str] | None,
) -> BourseOptions:
    """What the `model` field asks for: an alias's options, a task kind, or exactly one concrete model.

    `known_models` holds the manifest's ids ("provider/model" and bare "model"); None when the manifest could not
    be read, in which case a concrete name is passed on and the router decides.
    """
    if not model:
        raise InvalidRequest("model is required", violations=[FieldViolation("model", "must not be empty")])
    if model.startswith(ALIAS_PREFIX):
        name = model[len(ALIAS_PREFIX) :]
        if name in aliases:
            return aliases[name]
        if name in TASK_KINDS:
            return BourseOptions(task_kind=name)
        if known_models is None or model not in known_models:
            choices = ", ".join(ALIAS_PREFIX + n for n in (*aliases, *TASK_KINDS))
            raise NotFound(
                f"unknown model alias {model!r}; aliases: {choices}",
                reason=Reason.MODEL_NOT_FOUND,
                violations=[FieldViolation("model", "unknown alias")],
            )
    if known_models is not None and model not in known_models:
        raise NotFound(
            f"the model {model!r} does not exist in Bourse's manifest (GET /v1/models lists them)",
            reason=Reason.MODEL_NOT_FOUND,
            violations=[FieldViolation("model", "unknown model")],
        )
    return BourseOptions(allowed_models=[model])


def alias_names(aliases: Mapping[str, BourseOptions]) -> list[str]:
    """Every alias the model field accepts, as listed by /v1/models."""
    return [ALIAS_PREFIX + name for name in (*aliases, *TASK_KINDS)]
