"""Simulator configuration (env prefix BOURSE_SIMULATOR)."""

from __future__ import annotations

import msgspec

from services.simulator.knobs import ModelKnobs

ENV_PREFIX = "BOURSE_SIMULATOR"


class SimulatorConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    listen: str = "127.0.0.1:8099"
    log_level: str = "info"
    # Prometheus metrics ("host:port"; empty disables).
    metrics_listen: str = ""
    # On SIGTERM: in-flight responses get this long to finish.
    shutdown_grace_s: float = 2.0
    # Same seed, same sequence of requests -> same answers, latencies and errors.
    seed: int = 0
    # Knobs for any model not listed in `models`.
    default: ModelKnobs = ModelKnobs()
    # Per-model knobs, keyed "provider/model" or just "model".
    models: dict[str, ModelKnobs] = {}
