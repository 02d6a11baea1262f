"""What a model directory must hold, and how its metadata is read.

Any CTranslate2 decoder directory works when it also has `tokenizer.json` and a chat template: either our
`bourse_model.json` (written by the GGUF converter) or the Hugging Face `tokenizer_config.json` (copy it in with
`ct2-transformers-converter --copy_files tokenizer.json tokenizer_config.json`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.errors import BourseError, Reason

TOKENIZER_FILE = "tokenizer.json"
METADATA_FILE = "bourse_model.json"
HF_TOKENIZER_CONFIG = "tokenizer_config.json"
CT2_CONFIG = "config.json"


class ModelDirectoryError(BourseError):
    """The configured model directory is incomplete or unreadable."""

    default_reason = Reason.MODEL_DIRECTORY_INVALID


@dataclass(frozen=True, slots=True)
class ModelMetadata:
    name: str
    chat_template: str
    bos_token: str
    eos_token: str
    context_length: int


def read_metadata(model_dir: Path) -> ModelMetadata:
    """Metadata of a model directory; raises ModelDirectoryError naming the missing piece."""
    if not (model_dir / "model.bin").is_file():
        raise ModelDirectoryError(f"{model_dir} is not a CTranslate2 model directory (no model.bin)")
    if not (model_dir / TOKENIZER_FILE).is_file():
        raise ModelDirectoryError(f"{model_dir} has no {TOKENIZER_FILE}")
    ct2 = _read_json(model_dir / CT2_CONFIG)
    ours = _read_json(model_dir / METADATA_FILE)
    hf = _read_json(model_dir / HF_TOKENIZER_CONFIG)
    template = ours.get("chat_template") or hf.get("chat_template") or ""
    if not isinstance(template, str) or not template:
        raise ModelDirectoryError(
            f"{model_dir} has no chat template ({METADATA_FILE} or {HF_TOKENIZER_CONFIG} with chat_template)"
        )
    return ModelMetadata(
        name=str(ours.get("name") or model_dir.name),
        chat_template=template,
        bos_token=str(ours.get("bos_token") or _token(hf.get("bos_token")) or ct2.get("bos_token") or ""),
        eos_token=str(ours.get("eos_token") or _token(hf.get("eos_token")) or ct2.get("eos_token") or ""),
        context_length=int(ours.get("context_length") or hf.get("model_max_length") or 2048),
    )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelDirectoryError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise ModelDirectoryError(f"{path} must hold a JSON object")
    return data


def _token(value: object) -> str:
    # tokenizer_config.json stores special tokens either as strings or as {"content": ...} objects.
    if isinstance(value, dict):
        return str(value.get("content", ""))
    return str(value) if isinstance(value, str) else ""
