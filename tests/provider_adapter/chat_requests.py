"""Neutral requests used across the adapter tests."""

from __future__ import annotations

from bourse.common.v1 import chat_pb2


def user_chat(text: str = "Say hello.", **sampling: object) -> chat_pb2.ChatRequest:
    return chat_pb2.ChatRequest(
        messages=[
            chat_pb2.Message(role=chat_pb2.ROLE_SYSTEM, content=[chat_pb2.ContentPart(text="Be brief.")]),
            chat_pb2.Message(role=chat_pb2.ROLE_USER, content=[chat_pb2.ContentPart(text=text)]),
        ],
        sampling=chat_pb2.SamplingParams(**sampling),  # type: ignore[arg-type]
    )
