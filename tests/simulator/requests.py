"""Minimal valid requests in each dialect."""

from __future__ import annotations

from typing import Any


def openai(model: str = "m", text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


def anthropic(model: str = "m", text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 100, "messages": [{"role": "user", "content": text}], **extra}


def gemini(text: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


ANTHROPIC_HEADERS = {"anthropic-version": "2023-06-01"}
