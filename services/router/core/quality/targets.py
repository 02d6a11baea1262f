"""Quality targets: the chance of an acceptable answer the default policy asks of the chosen model.

Per task kind, with per-tenant overrides from the router config (never from the manifest). A request's own
`quality_target` wins over both.
"""

from __future__ import annotations

from collections.abc import Mapping

# Set a little under the manifest scores of the mid-priced models of each kind, so an average prompt goes to a
# capable model that is not frontier-priced, and a prompt predicted hard moves up.
DEFAULT_TARGETS: Mapping[str, float] = {
    "chat": 0.7,
    "classification": 0.7,
    "extraction": 0.72,
    "formatting": 0.72,
    "summarization": 0.7,
    "translation": 0.7,
    "code": 0.72,
    "reasoning": 0.68,
}
FALLBACK_TARGET = 0.7


def _check(where: str, targets: Mapping[str, float]) -> None:
    for kind, value in targets.items():
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{where}.{kind}: a quality target must be in [0, 1), got {value}")


class QualityTargets:
    def __init__(self, defaults: Mapping[str, float], per_tenant: Mapping[str, Mapping[str, float]]) -> None:
        _check("default_targets", defaults)
        for tenant, targets in per_tenant.items():
            _check(f"tenant_targets.{tenant}", targets)
        self._defaults = {**DEFAULT_TARGETS, **defaults}
        self._tenants = {tenant: dict(targets) for tenant, targets in per_tenant.items()}

    def target(self, tenant: str, task_kind: str) -> float:
        override = self._tenants.get(tenant)
        if override is not None and task_kind in override:
            return override[task_kind]
        return self._defaults.get(task_kind, FALLBACK_TARGET)
