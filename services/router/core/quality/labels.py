"""Labelled routing data: JSON lines `{"prompt", "cheap_correct", "strong_correct"}` (other keys ignored).

A bad line is a LabelsError naming the file and the line number, never a traceback: missing fields, labels that
are not JSON booleans, an empty prompt, a line that is not a JSON object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from shared.errors import InvalidRequest


class LabelsError(InvalidRequest):
    """A labels file that cannot be read; the message names the line."""


@dataclass(frozen=True, slots=True)
class LabelledPrompt:
    prompt: str
    cheap_correct: bool
    strong_correct: bool
    subject: str = ""  # only for the MMLU folds; never a feature


_decoder = msgspec.json.Decoder()


def parse_labels(lines: Iterable[str | bytes], *, source: str = "<labels>") -> list[LabelledPrompt]:
    out: list[LabelledPrompt] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        where = f"{source} line {number}"
        try:
            row = _decoder.decode(text)
        except msgspec.DecodeError as error:
            raise LabelsError(f"{where}: not valid JSON ({error})") from None
        if not isinstance(row, dict):
            raise LabelsError(f"{where}: expected a JSON object, got {type(row).__name__}")
        missing = [key for key in ("prompt", "cheap_correct", "strong_correct") if key not in row]
        if missing:
            raise LabelsError(f"{where}: missing field(s) {', '.join(missing)}")
        prompt = row["prompt"]
        if not isinstance(prompt, str):
            raise LabelsError(f"{where}: prompt must be a string, got {type(prompt).__name__}")
        if not prompt.strip():
            raise LabelsError(f"{where}: prompt is empty")
        for key in ("cheap_correct", "strong_correct"):
            if not isinstance(row[key], bool):
                raise LabelsError(f"{where}: {key} must be true or false, got {row[key]!r}")
        subject = row.get("subject")
        out.append(
            LabelledPrompt(
                prompt=prompt,
                cheap_correct=row["cheap_correct"],
                strong_correct=row["strong_correct"],
                subject=subject if isinstance(subject, str) else "",
            )
        )
    if not out:
        raise LabelsError(f"{source}: no labelled prompts")
    return out


def read_labels(path: Path) -> list[LabelledPrompt]:
    try:
        with path.open("rb") as handle:
            return parse_labels(handle, source=str(path))
    except OSError as error:
        raise LabelsError(f"cannot read {path}: {error.strerror}") from None
