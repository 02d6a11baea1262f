"""The gateway's plain core: routing options, translation details, error mapping."""

from __future__ import annotations

import pytest
from bourse.common.v1 import routing_pb2

from services.gateway.config import default_aliases
from services.gateway.core.chat_translation import micro_to_usd
from services.gateway.core.http_errors import error_body, from_http_status, http_status, retry_after_header
from services.gateway.core.openai_types import BourseOptions, CacheOptions
from services.gateway.core.routing_options import (
    layered,
    options_for_model,
    options_from_headers,
    to_constraints,
)
from shared.errors import BourseError, BudgetExceeded, InvalidRequest, Kind, NotFound, Overloaded, UpstreamError


@pytest.mark.parametrize(
    ("micro", "usd"), [(0, "0.000000"), (1, "0.000001"), (1_234_567, "1.234567"), (-5, "-0.000005")]
)
def test_micro_to_usd_is_exact(micro: int, usd: str) -> None:
    assert micro_to_usd(micro) == usd


def test_layers_merge_field_by_field_and_cache_fields_merge() -> None:
    merged = layered(
        (
            BourseOptions(hedge=True, latency_budget_ms=2000, cache=CacheOptions(no_cache=True)),
            None,
            BourseOptions(latency_budget_ms=500, cache=CacheOptions(ttl_seconds=9)),
        )
    )
    assert merged.hedge is True
    assert merged.latency_budget_ms == 500
    assert merged.cache == CacheOptions(no_cache=True, ttl_seconds=9)


def test_headers_parse_lists_numbers_and_booleans() -> None:
    options = options_from_headers(
        {
            "X-Bourse-Allowed-Models": "a/b, c",
            "x-bourse-max-attempts": "2",
            "x-bourse-no-local": "true",
            "x-bourse-min-similarity": "0.9",
            "Content-Type": "application/json",
        }
    )
    assert options is not None
    assert options.allowed_models == ["a/b", "c"]
    assert options.max_attempts == 2
    assert options.no_local is True
    assert options.cache == CacheOptions(min_similarity=0.9)
    assert options_from_headers({"Content-Type": "application/json"}) is None


def test_positive_cost_bound_never_rounds_to_no_bound() -> None:
    assert to_constraints(BourseOptions(max_cost_usd=1e-9)).max_cost_micro_usd == 1
    assert to_constraints(BourseOptions(max_cost_usd=0.25)).max_cost_micro_usd == 250_000
    assert to_constraints(BourseOptions(max_cost_usd=0)).max_cost_micro_usd == 0


def test_enum_names_are_case_insensitive_and_validated() -> None:
    constraints = to_constraints(BourseOptions(task_kind="Code", min_tier="STANDARD", required_capabilities=["tools"]))
    assert constraints.task_kind == routing_pb2.TASK_KIND_CODE
    assert constraints.min_tier == routing_pb2.MODEL_TIER_STANDARD
    assert list(constraints.required_capabilities) == [routing_pb2.CAPABILITY_TOOLS]
    with pytest.raises(InvalidRequest):
        to_constraints(BourseOptions(required_capabilities=["telepathy"]))


def test_model_field_resolution() -> None:
    aliases = default_aliases()
    known = frozenset({"openai/gpt-4o-mini", "gpt-4o-mini"})
    assert options_for_model("bourse/best", aliases, known).min_tier == "frontier"
    assert options_for_model("bourse/translation", aliases, None).task_kind == "translation"
    assert options_for_model("gpt-4o-mini", aliases, known).allowed_models == ["gpt-4o-mini"]
    # Without the manifest (router unreachable) a concrete name is passed on; the router decides.
    assert options_for_model("whatever/model", aliases, None).allowed_models == ["whatever/model"]
    with pytest.raises(NotFound):
        options_for_model("openai/gpt-9", aliases, known)
    with pytest.raises(NotFound):
        options_for_model("bourse/unknown", aliases, None)
    with pytest.raises(InvalidRequest):
        options_for_model("", aliases, known)


def test_every_kind_has_a_status_and_reasons_refine_it() -> None:
    for kind in Kind:  # a reason from outside the catalogue gets its kind's status
        assert http_status(BourseError.received("x", reason="SOMEONE_ELSES", kind=kind, retryable=False)) > 0
    assert http_status(UpstreamError("x", reason="UPSTREAM_5XX")) == 502
    assert http_status(UpstreamError("x", reason="OVERLOADED")) == 503
    assert http_status(UpstreamError("x", reason="RATE_LIMITED")) == 429
    assert http_status(UpstreamError("x", reason="READ_TIMEOUT")) == 504
    assert http_status(BourseError("x", kind=Kind.UNAVAILABLE, reason="UPSTREAM_UNAVAILABLE")) == 503
    assert http_status(InvalidRequest("x", reason="PAYLOAD_TOO_LARGE")) == 413


def test_retry_after_rounds_up_and_defaults_for_429() -> None:
    assert retry_after_header(BudgetExceeded("x", retry_after_s=0.2)) == "1"
    assert retry_after_header(BudgetExceeded("x", retry_after_s=41.1)) == "42"
    assert retry_after_header(Overloaded("x")) == "1"
    assert retry_after_header(BudgetExceeded("x")) == "1"  # no delay sent: the gateway does not guess windows
    assert retry_after_header(InvalidRequest("x")) is None


def test_errors_aiohttp_raises_get_the_catalogue_reason_of_their_status() -> None:
    assert from_http_status(404, "Not Found: GET /v2").reason == "NOT_FOUND"
    assert from_http_status(405, "Method Not Allowed").reason == "METHOD_NOT_ALLOWED"
    assert from_http_status(413, "too large").reason == "PAYLOAD_TOO_LARGE"
    assert from_http_status(400, "bad").reason == "INVALID_REQUEST"


def test_error_body_is_openai_shaped() -> None:
    body = error_body(NotFound("gone", reason="MODEL_NOT_FOUND"), 404)
    assert body == {"error": {"message": "gone", "type": "not_found_error", "param": None, "code": "model_not_found"}}
