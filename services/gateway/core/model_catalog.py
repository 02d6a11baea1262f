"""The router's manifest as OpenAI's model list, plus Bourse's routing aliases."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from bourse.common.v1 import routing_pb2
from bourse.router.v1 import router_service_pb2 as router_pb2

from services.gateway.core.openai_types import BourseOptions
from services.gateway.core.routing_options import alias_names
from shared.errors import BourseError

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


# After a failed fetch, the last good copy (or None) is served this long before the router is asked again.
_RETRY_AFTER_FAILURE_S = 1.0


class CatalogCache:
    """The router's model list, reused for `ttl_s`; the last good copy (or None) while the router is down.

    `fetch` calls ListModels (raising BourseError on failure); `clock` is monotonic seconds, `wall` epoch seconds.
    One fetch at a time: concurrent callers wait for it instead of each asking the router.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[router_pb2.ListModelsResponse]],
        aliases: Mapping[str, BourseOptions],
        *,
        ttl_s: float,
        clock: Callable[[], float],
        wall: Callable[[], float],
        logger: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self._fetch = fetch
        self._aliases = aliases
        self._ttl_s = ttl_s
        self._clock = clock
        self._wall = wall
        self._log = logger
        self._catalog: ModelCatalog | None = None
        self._at = 0.0
        self._failed_at = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> ModelCatalog | None:
        now = self._clock()
        if self._catalog is not None and now - self._at < self._ttl_s:
            return self._catalog
        if now - self._failed_at < _RETRY_AFTER_FAILURE_S:
            return self._catalog
        async with self._lock:
            if self._catalog is not None and self._clock() - self._at < self._ttl_s:
                return self._catalog
            try:
                response = await self._fetch()
            except BourseError as error:
                self._failed_at = self._clock()
                self._log.warning("list_models_failed", reason=error.reason, detail=error.message)
                return self._catalog
            self._catalog = ModelCatalog.from_response(response, self._aliases, int(self._wall()))
            self._at = self._clock()
            return self._catalog
