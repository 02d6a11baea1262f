"""The requests this router fleet served, remembered (bounded) so feedback can be tied to the model that answered.

Feedback names a request by the id the router returned; an id not found here is refused. Entries come from this
replica's own answers and from every replica's telemetry; past `max_entries` the oldest is forgotten.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServedRequest:
    tenant: str
    task_kind: str
    model_key: str  # "provider/model" that produced the answer (for cache hits: the model that first wrote it)


class ServedRequests:
    def __init__(self, max_entries: int) -> None:
        if max_entries <= 0:
            raise ValueError("max_entries must be positive")
        self._max = max_entries
        self._entries: OrderedDict[str, ServedRequest] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, request_id: str, served: ServedRequest) -> None:
        if not request_id or not served.model_key:
            return
        self._entries[request_id] = served
        self._entries.move_to_end(request_id)
        if len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def get(self, request_id: str) -> ServedRequest | None:
        return self._entries.get(request_id)
