"""Gateway configuration (env prefix BOURSE_GATEWAY)."""

from __future__ import annotations

import msgspec

from services.gateway.core.openai_types import BourseOptions
from shared.events.credentials import NatsAuth

ENV_PREFIX = "BOURSE_GATEWAY"


def default_aliases() -> dict[str, BourseOptions]:
    """`bourse/<name>` aliases; `bourse/<task kind>` is always accepted besides these."""
    return {
        "cheapest": BourseOptions(quality="cheapest"),  # the cheapest qualified model, whatever its estimate
        "balanced": BourseOptions(quality="balanced"),  # the cheapest model meeting the quality target
        "fast": BourseOptions(latency_budget_ms=2000, hedge=True),
        "best": BourseOptions(min_tier="frontier"),
    }


class GatewayConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    # HTTP listen address ("host:port"; port 0 picks a free one).
    listen: str = "127.0.0.1:8080"
    # The router's gRPC address (Route, RouteStream, ListModels).
    router: str = "127.0.0.1:50051"
    # The local-inference gRPC address (Embed, for /v1/embeddings).
    inference: str = "127.0.0.1:50054"
    nats_url: str = "nats://127.0.0.1:4222"
    # NATS user, password file and TLS files (docs/nats-permissions.md); the default connects without any.
    nats_auth: NatsAuth = msgspec.field(default_factory=NatsAuth)
    # NATS KV bucket of the hashed virtual API keys (shared by every gateway replica and `bourse keys`).
    keys_bucket: str = "BOURSE_API_KEYS"
    # When false, requests without a key are served as `default_tenant` (a local demo); a key, if sent, still counts.
    require_api_key: bool = True
    default_tenant: str = "default"
    # Larger request bodies are refused with 413.
    max_body_bytes: int = 4 * 1024 * 1024
    # Deadline of one routed request, end to end.
    request_timeout_s: float = 300.0
    # How long the model list from the router is reused before it is read again.
    catalog_ttl_s: float = 30.0
    aliases: dict[str, BourseOptions] = msgspec.field(default_factory=default_aliases)
    # Keep Responses API conversations this long (NATS KV, per tenant) so `previous_response_id` works; 0 keeps
    # nothing (store: false semantics: `previous_response_id` is a 400).
    responses_ttl_s: float = 0.0
    responses_bucket: str = "BOURSE_RESPONSES"
    # On SIGTERM: stop listening, give in-flight requests this long to finish, then cancel them.
    shutdown_grace_s: float = 5.0
    # One structured log line per request (never the key, only its id).
    access_log: bool = False
    log_level: str = "info"
    metrics_listen: str = ""
