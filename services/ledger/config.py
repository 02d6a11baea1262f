"""Ledger configuration (env prefix BOURSE_LEDGER)."""

from __future__ import annotations

import msgspec

ENV_PREFIX = "BOURSE_LEDGER"
SERVICE_NAME = "bourse.ledger.v1.LedgerService"


class LedgerConfig(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    listen: str = "127.0.0.1:50055"
    http_listen: str = "127.0.0.1:8090"  # dashboard and its JSON API; "" disables
    nats_url: str = "nats://127.0.0.1:4222"
    db_path: str = "var/ledger/ledger.duckdb"
    consumer_name: str = "ledger"  # durable JetStream consumer; replicas sharing a store share the name
    fetch_batch: int = 5000  # at most this many events written (and acked) per transaction
    ack_wait_s: float = 30.0  # an unacked event is redelivered after this
    dashboard_window_s: int = 3600  # the time range the dashboard shows, ending now
    dashboard_refresh_s: float = 2.0  # how often the page pulls fresh figures
    # The manifest whose price age the dashboard shows ("" = the packaged one) and the age that counts as stale.
    manifest_path: str = ""
    max_price_age_days: float = 90.0
    log_level: str = "info"
    # Seconds in-flight calls get to finish on SIGTERM.
    shutdown_grace_s: float = 5.0
    metrics_listen: str = ""
