"""Which answers the cache keeps: only completed, non-error ones."""

from __future__ import annotations

from bourse.cache.v1 import cache_service_pb2 as cache_pb
from bourse.common.v1 import chat_pb2


def why_not_storable(answer: cache_pb.CachedAnswer) -> str:
    """Why `answer` is not stored ("" when it may be): a filtered or empty answer is never cached."""
    completion = answer.completion
    if completion.finish_reason == chat_pb2.FINISH_REASON_CONTENT_FILTER:
        return "the answer was filtered"
    if not completion.content and not completion.tool_calls:
        return "the answer is empty"
    return ""
