"""Whether OpenTelemetry tracing is on, decided from the standard OTEL_* variables without importing OpenTelemetry.

Tracing is off by default: a service imports and builds nothing for it unless an exporter is asked for, so a
service without tracing pays nothing (no interceptors, no middleware, no spans beyond `NoInstruments`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.tracing import Tracing

# Any of these set (and not "none") turns tracing on; OTEL_SDK_DISABLED=true turns it off whatever else is set.
_EXPORTER_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER")


def tracing_requested(environ: Mapping[str, str]) -> bool:
    """True when the environment asks for traces to be exported."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return False
    return any(environ.get(name, "").strip() for name in _EXPORTER_VARIABLES)


def tracing_from_env(service: str, environ: Mapping[str, str]) -> Tracing | None:
    """The service's `Tracing` when the environment asks for it, else None (and OpenTelemetry is not imported)."""
    if not tracing_requested(environ):
        return None
    from shared.tracing import Tracing  # the optional `tracing` extra, loaded only when used

    return Tracing.from_env(service, environ)
