"""What a request means to the cache: its namespace, its exact key, the text to embed, and whether it may be cached.

The namespace holds everything that must be equal for an answer to be reusable: tenant, model tier, a hash of the
system prompt, a hash of the tools (and tool choice), the response format, the output limits (max_tokens, stop)
and a digest of the earlier turns. Only the last user message is embedded, so a long templated system prompt
never dominates the similarity: it only selects the namespace. The exact key adds the normalised last message
and the remaining sampling parameters.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.common.v1 import chat_pb2

from shared.errors import FieldViolation, InvalidRequest

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class RequestView:
    tenant: str
    namespace: str
    entry_key: str
    query_text: str
    # False when the last message has no text to embed (images only): exact matching only.
    semantic: bool
    # Why the request must not be cached ("" when it may be).
    uncacheable: str
    temperature: float | None


def normalise_text(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _digest(value: Any) -> str:
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _canonical_json(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _message(message: chat_pb2.Message) -> dict[str, Any]:
    parts: list[Any] = []
    for part in message.content:
        if part.WhichOneof("part") == "image":
            image = part.image
            parts.append({"image": image.url or hashlib.sha256(image.data).hexdigest(), "type": image.media_type})
        else:
            parts.append(normalise_text(part.text))
    return {
        "role": message.role,
        "content": parts,
        "tool_calls": [[c.name, _canonical_json(c.arguments_json)] for c in message.tool_calls],
        "name": message.name,
    }


def view_request(chat: chat_pb2.ChatRequest, scope: cache_pb.CacheScope) -> RequestView:
    """Describe `chat` for the cache. Raises InvalidRequest for a request that no model could answer."""
    messages = list(chat.messages)
    if not messages:
        raise InvalidRequest(
            "chat.messages is empty",
            violations=[FieldViolation("chat.messages", "at least one message is required")],
        )
    for index, message in enumerate(messages):
        if message.role == chat_pb2.ROLE_UNSPECIFIED:
            raise InvalidRequest(
                f"chat.messages[{index}].role is not set",
                violations=[FieldViolation(f"chat.messages[{index}].role", "role is required")],
            )
    last = messages[-1]
    system = [_message(m) for m in messages if m.role == chat_pb2.ROLE_SYSTEM]
    history = [_message(m) for m in messages[:-1] if m.role != chat_pb2.ROLE_SYSTEM]
    tools = [
        [t.name, t.description, _canonical_json(t.parameters_json_schema), t.strict]
        for t in sorted(chat.tools, key=lambda t: t.name)
    ]
    response_format = chat.response_format
    sampling = chat.sampling
    namespace = _digest(
        {
            "tenant": scope.tenant_id,
            "tier": scope.model_tier,
            "system": _digest(system),
            "tools": _digest([tools, chat.tool_choice.mode, chat.tool_choice.name]),
            "format": [
                response_format.type or chat_pb2.RESPONSE_FORMAT_TYPE_TEXT,
                response_format.schema_name,
                _canonical_json(response_format.json_schema),
                response_format.strict,
            ],
            "limits": [sampling.max_tokens if sampling.HasField("max_tokens") else None, list(sampling.stop)],
            "history": _digest(history),
        }
    )[:32]
    last_view = _message(last)
    entry_key = _digest(
        {
            "namespace": namespace,
            "last": last_view,
            "temperature": sampling.temperature if sampling.HasField("temperature") else None,
            "top_p": sampling.top_p if sampling.HasField("top_p") else None,
            "seed": sampling.seed if sampling.HasField("seed") else None,
        }
    )[:40]
    texts = [p for p in last_view["content"] if isinstance(p, str)]
    has_image = len(texts) != len(last_view["content"])
    query_text = " ".join(t for t in texts if t)
    uncacheable = ""
    if any(m.role == chat_pb2.ROLE_TOOL for m in messages):
        uncacheable = "tool results in context"
    elif last.role != chat_pb2.ROLE_USER:
        uncacheable = "the last message is not a user message"
    elif not query_text and not has_image:
        uncacheable = "the last message is empty"
    return RequestView(
        tenant=scope.tenant_id,
        namespace=namespace,
        entry_key=entry_key,
        query_text=query_text,
        semantic=bool(query_text) and not has_image,
        uncacheable=uncacheable,
        temperature=sampling.temperature if sampling.HasField("temperature") else None,
    )
