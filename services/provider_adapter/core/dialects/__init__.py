"""The dialect registry: wire dialect name -> Dialect. Providers pick theirs by name in the registry data.

Each dialect is a package here (`openai`, `anthropic`, `gemini`): request translation, response parsing and
error classification in one module, its stream parser in `stream.py`. OpenAI-compatible providers share `openai`.
"""

from __future__ import annotations

from services.provider_adapter.core.dialects.anthropic import AnthropicMessagesDialect
from services.provider_adapter.core.dialects.gemini import GeminiGenerateDialect
from services.provider_adapter.core.dialects.openai import OpenAIChatDialect
from services.provider_adapter.core.provider import Dialect

__all__ = ["AnthropicMessagesDialect", "GeminiGenerateDialect", "OpenAIChatDialect", "dialect_registry"]


def dialect_registry() -> dict[str, Dialect]:
    """Every dialect the adapter speaks, by the name used in the provider registry."""
    dialects: list[Dialect] = [OpenAIChatDialect(), AnthropicMessagesDialect(), GeminiGenerateDialect()]
    return {dialect.name: dialect for dialect in dialects}
