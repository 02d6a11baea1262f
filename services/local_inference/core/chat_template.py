"""Render a model's own Jinja chat template (from its metadata), the way Hugging Face tokenizers do."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

from shared.errors import BourseError, InvalidRequest, Reason


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One message in the model's terms: role is "system", "user" or "assistant"."""

    role: str
    content: str


class ChatTemplateError(BourseError):
    """The model's chat template cannot be compiled (a broken model directory, not a bad request)."""

    default_reason = Reason.CHAT_TEMPLATE_INVALID


def _raise_exception(message: str) -> None:
    # Templates call raise_exception() to reject conversations they cannot format (e.g. two system messages).
    raise InvalidRequest(f"the model's chat template rejected the conversation: {message}")


class ChatTemplate:
    """A compiled chat template; rendering is pure and safe to call from several threads."""

    def __init__(self, source: str, *, bos_token: str, eos_token: str) -> None:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
        env.globals["raise_exception"] = _raise_exception
        try:
            self._template = env.from_string(source)
        except TemplateError as error:
            raise ChatTemplateError(f"chat template does not compile: {error}") from error
        self._bos = bos_token
        self._eos = eos_token

    def render(self, turns: Sequence[ChatTurn], *, add_generation_prompt: bool = True) -> str:
        messages = [{"role": turn.role, "content": turn.content} for turn in turns]
        try:
            return self._template.render(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                bos_token=self._bos,
                eos_token=self._eos,
            )
        except TemplateError as error:
            raise InvalidRequest(f"the model's chat template failed on this conversation: {error}") from error
