"""A hit may only come from an equivalent context: what goes into the namespace and the exact key."""

from __future__ import annotations

import pytest
from bourse.common.v1 import chat_pb2

from services.cache.core.namespace import view_request
from shared.errors import InvalidRequest
from tests.cache.conftest import chat, scope


def test_same_request_same_namespace_and_key() -> None:
    a = view_request(chat("What is DNS?"), scope("t"))
    b = view_request(chat("  What   is DNS? "), scope("t"))  # whitespace is normalised
    assert (a.namespace, a.entry_key) == (b.namespace, b.entry_key)
    assert a.query_text == "What is DNS?" and a.semantic and not a.uncacheable


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(view_request(chat("What is DNS?"), scope("other")), id="tenant"),
        pytest.param(view_request(chat("What is DNS?"), scope("t", tier=2)), id="model tier"),
        pytest.param(view_request(chat("What is DNS?", system="Answer in French."), scope("t")), id="system prompt"),
        pytest.param(
            view_request(chat("What is DNS?", tools=[chat_pb2.ToolDefinition(name="lookup")]), scope("t")), id="tools"
        ),
        pytest.param(
            view_request(
                chat(
                    "What is DNS?",
                    response_format=chat_pb2.ResponseFormat(type=chat_pb2.RESPONSE_FORMAT_TYPE_JSON_OBJECT),
                ),
                scope("t"),
            ),
            id="response format",
        ),
        pytest.param(
            view_request(
                chat("What is DNS?", history=((chat_pb2.ROLE_USER, "hi"), (chat_pb2.ROLE_ASSISTANT, "hello"))),
                scope("t"),
            ),
            id="earlier turns",
        ),
        pytest.param(
            view_request(chat("What is DNS?", max_tokens=5), scope("t")),
            id="max tokens",
        ),
    ],
)
def test_context_changes_the_namespace(other: object) -> None:
    base = view_request(chat("What is DNS?"), scope("t"))
    assert other.namespace != base.namespace  # type: ignore[attr-defined]


def test_sampling_changes_the_exact_key_only() -> None:
    cold = view_request(chat("What is DNS?", temperature=0.0), scope("t"))
    warm = view_request(chat("What is DNS?", temperature=0.3), scope("t"))
    assert cold.namespace == warm.namespace and cold.entry_key != warm.entry_key


def test_only_the_last_user_message_is_embedded() -> None:
    long_template = "You are the support bot of ACME. Today is 2026-11-29. " * 40
    view = view_request(chat("How do I reset my password?", system=long_template), scope("t"))
    assert view.query_text == "How do I reset my password?"


def test_tool_results_make_a_request_uncacheable() -> None:
    request = chat("and now?")
    request.messages.insert(
        1, chat_pb2.Message(role=chat_pb2.ROLE_TOOL, tool_call_id="c1", content=[chat_pb2.ContentPart(text="42")])
    )
    assert view_request(request, scope("t")).uncacheable == "tool results in context"


def test_an_image_makes_the_request_exact_only() -> None:
    request = chat("What is in this picture?")
    request.messages[-1].content.append(chat_pb2.ContentPart(image=chat_pb2.ImagePart(url="https://x/y.png")))
    view = view_request(request, scope("t"))
    assert not view.semantic and not view.uncacheable


def test_the_last_message_must_be_the_user() -> None:
    request = chat("hi")
    request.messages.append(chat_pb2.Message(role=chat_pb2.ROLE_ASSISTANT, content=[chat_pb2.ContentPart(text="Hel")]))
    assert view_request(request, scope("t")).uncacheable == "the last message is not a user message"


def test_empty_messages_are_invalid() -> None:
    with pytest.raises(InvalidRequest) as caught:
        view_request(chat_pb2.ChatRequest(), scope("t"))
    assert caught.value.violations[0].field == "chat.messages"


def test_a_message_without_role_is_invalid() -> None:
    request = chat_pb2.ChatRequest(messages=[chat_pb2.Message(content=[chat_pb2.ContentPart(text="x")])])
    with pytest.raises(InvalidRequest) as caught:
        view_request(request, scope("t"))
    assert caught.value.violations[0].field == "chat.messages[0].role"
