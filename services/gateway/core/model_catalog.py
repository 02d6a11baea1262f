"""The router's manifest as OpenAI's model list, plus Bourse's routing aliases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bourse.common.v1 import routing_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.openai_types import BourseOptions
from services.gateway.core.routing_options import alias_names

_TIER_NAMES = {value: name.removeprefix("MODEL_TIER_").lower() for name, value in routing_pb2.ModelTier.items()}


@dataclass(frozen=True)
class ModelCatalog:
    """One snapshot of ListModels: ids a client may name, and the /v1/models objects."""

    models: tuple[dict[str, Any], ...] = ()
    known: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_response(
        cls, response: router_pb2.ListModelsResponse, aliases: Mapping[str, BourseOptions], created: int
    ) -> ModelCatalog:
        models: list[dict[str, Any]] = []
        known: set[str] = set()
        for info in response.models:
            model_id = f"{info.provider}/{info.model}"
            known.update((model_id, info.model))
            models.append(
                {
                    "id": model_id,
                    "object": "model",
                    "created": created,
                    "owned_by": info.provider,
                    "bourse": {
                        "tier": _TIER_NAMES.get(info.tier, "unspecified"),
                        "input_usd_per_mtok": info.pricing.input_per_mtok,
                        "output_usd_per_mtok": info.pricing.output_per_mtok,
                        "context_window": info.context_window,
                        "available": info.available,
                        "p50_latency_ms": info.p50_latency_ms,
                    },
                }
            )
        for alias in alias_names(aliases):
            known.add(alias)
            models.append({"id": alias, "object": "model", "created": created, "owned_by": "bourse"})
        return cls(models=tuple(models), known=frozenset(known))

    def listing(self) -> dict[str, Any]:
        return {"object": "list", "data": list(self.models)}

    def get(self, model_id: str) -> dict[str, Any] | None:
        for model in self.models:
            if model["id"] == model_id:
                return model
        return None
