"""TextAccumulator (stop sequences, end tokens, UTF-8) and the chat template renderer."""

from __future__ import annotations

import pytest

from services.local_inference.core.chat_template import ChatTemplate, ChatTemplateError, ChatTurn
from services.local_inference.core.decoding import Finish, TextAccumulator
from services.local_inference.core.engine import LocalModel
from shared.errors import InvalidRequest


def ids(model: LocalModel, text: str) -> list[int]:
    encoded: list[int] = model.tokenizer.encode(text, add_special_tokens=False).ids
    return encoded


def feed(acc: TextAccumulator, token_ids: list[int]) -> list[str]:
    deltas = []
    for token in token_ids:
        deltas.append(acc.push(token))
        if acc.finish is not None:
            break
    return deltas


def test_end_token_stops_and_is_not_text(tiny_model: LocalModel) -> None:
    acc = TextAccumulator(tiny_model.tokenizer, end_ids=tiny_model.end_ids, stop=(), max_tokens=50)
    deltas = feed(acc, [*ids(tiny_model, "hi there"), *tiny_model.end_ids, *ids(tiny_model, "more")])
    assert "".join(deltas) == "hi there" == acc.text
    assert acc.finish is Finish.STOP
    assert acc.completion_tokens == len(ids(tiny_model, "hi there"))


def test_stop_sequence_is_held_back_then_cut(tiny_model: LocalModel) -> None:
    acc = TextAccumulator(tiny_model.tokenizer, end_ids=tiny_model.end_ids, stop=("\n\nQ:",), max_tokens=50)
    deltas = feed(acc, ids(tiny_model, "answer\n\nQ: next"))
    assert acc.finish is Finish.STOP
    assert acc.text == "answer"
    assert "".join(deltas) == "answer"
    assert all("\n" not in delta for delta in deltas)


def test_partial_stop_prefix_is_released_when_it_diverges(tiny_model: LocalModel) -> None:
    acc = TextAccumulator(tiny_model.tokenizer, end_ids=tiny_model.end_ids, stop=("END",), max_tokens=50)
    deltas = feed(acc, ids(tiny_model, "x EN y"))
    assert acc.finish is None
    assert "".join(deltas) == "x EN y"


def test_max_tokens_finishes_with_length(tiny_model: LocalModel) -> None:
    acc = TextAccumulator(tiny_model.tokenizer, end_ids=tiny_model.end_ids, stop=(), max_tokens=3)
    feed(acc, ids(tiny_model, "abcdef"))
    assert acc.finish is Finish.LENGTH
    assert acc.completion_tokens == 3
    assert acc.push(ids(tiny_model, "z")[0]) == ""  # nothing after the end


def test_multibyte_characters_are_never_split(tiny_model: LocalModel) -> None:
    acc = TextAccumulator(tiny_model.tokenizer, end_ids=tiny_model.end_ids, stop=(), max_tokens=50)
    tokens = ids(tiny_model, "é✓")
    assert len(tokens) == 5  # 2 + 3 bytes
    deltas = [acc.push(token) for token in tokens]
    assert deltas == ["", "é", "", "", "✓"]


def test_close_without_reason_is_length(tiny_model: LocalModel) -> None:
    acc = TextAccumulator(tiny_model.tokenizer, end_ids=tiny_model.end_ids, stop=("zz",), max_tokens=50)
    feed(acc, ids(tiny_model, "a z"))
    assert acc.close() == "z"
    assert acc.finish is Finish.LENGTH


def test_template_renders_with_default_system_prompt(tiny_model: LocalModel) -> None:
    text = tiny_model.template.render([ChatTurn("user", "hi")])
    assert text.startswith("<|im_start|>system\nYou are a tiny test model<|im_end|>\n")
    assert text.endswith("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")


def test_template_raise_exception_is_invalid_request(tiny_model: LocalModel) -> None:
    with pytest.raises(InvalidRequest, match="tool messages are not supported"):
        tiny_model.template.render([ChatTurn("tool", "x")])


def test_broken_template_is_a_model_error() -> None:
    with pytest.raises(ChatTemplateError):
        ChatTemplate("{% for %}", bos_token="", eos_token="")


def test_template_runtime_error_is_invalid_request() -> None:
    template = ChatTemplate("{{ messages[5]['content'] + 1 }}", bos_token="", eos_token="")
    with pytest.raises(InvalidRequest, match="chat template failed"):
        template.render([ChatTurn("user", "x")])
