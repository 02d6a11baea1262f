"""Convert a llama-architecture GGUF file to a CTranslate2 decoder model, with numpy only (no torch).

Weights are dequantized with `gguf.quants`, placed in a `TransformerDecoderModelSpec` and quantized again by
CTranslate2 (int8 by default). llama.cpp stores the Q and K projections permuted for its rotary layout, so the
spec uses `rotary_interleave=True` instead of undoing the permutation. int16 is refused: with one scale per
tensor it turns this family of models into gibberish without any error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from services.local_inference.convert.gguf_tokenizer import GgufVocabulary, write_tokenizer
from services.local_inference.core.model_files import METADATA_FILE, TOKENIZER_FILE

SUPPORTED_QUANTIZATIONS = frozenset({"int8", "int8_float32", "float32"})


class ConversionError(ValueError):
    """The GGUF file cannot be converted (architecture, tensor or option not supported)."""


@dataclass(frozen=True, slots=True)
class LlamaHyperParameters:
    num_layers: int
    num_heads: int
    num_heads_kv: int
    hidden_size: int
    context_length: int
    rope_base: float
    rms_epsilon: float


def convert_gguf(gguf_path: Path, output_dir: Path, *, name: str, quantization: str = "int8") -> None:
    """Write a complete CTranslate2 model directory (model.bin, vocabulary, tokenizer.json, metadata)."""
    from gguf import GGUFReader

    if quantization not in SUPPORTED_QUANTIZATIONS:
        raise ConversionError(
            f"quantization {quantization!r} not supported; use one of {sorted(SUPPORTED_QUANTIZATIONS)}"
        )
    reader = GGUFReader(str(gguf_path))
    fields = {key: field.contents() for key, field in reader.fields.items()}
    arch = fields.get("general.architecture")
    if arch != "llama":
        raise ConversionError(f"architecture {arch!r} not supported (llama only)")
    hparams = _hyper_parameters(fields)
    tensors = {tensor.name: tensor for tensor in reader.tensors}
    vocab = GgufVocabulary(
        model=str(fields["tokenizer.ggml.model"]),
        pre=str(fields.get("tokenizer.ggml.pre", "default")),
        tokens=list(fields["tokenizer.ggml.tokens"]),
        token_types=list(fields["tokenizer.ggml.token_type"]),
        merges=list(fields["tokenizer.ggml.merges"]),
    )
    spec = _build_spec(hparams, tensors, vocab, fields)
    spec.validate()
    spec.optimize(quantization=quantization)
    output_dir.mkdir(parents=True)
    spec.save(str(output_dir))
    write_tokenizer(vocab, output_dir / TOKENIZER_FILE)
    metadata = {
        "name": name,
        "chat_template": fields.get("tokenizer.chat_template", ""),
        "bos_token": vocab.tokens[int(fields["tokenizer.ggml.bos_token_id"])],
        "eos_token": vocab.tokens[int(fields["tokenizer.ggml.eos_token_id"])],
        "context_length": hparams.context_length,
        "source": gguf_path.name,
        "quantization": quantization,
    }
    (output_dir / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")


def _hyper_parameters(fields: Mapping[str, Any]) -> LlamaHyperParameters:
    heads = int(fields["llama.attention.head_count"])
    return LlamaHyperParameters(
        num_layers=int(fields["llama.block_count"]),
        num_heads=heads,
        num_heads_kv=int(fields.get("llama.attention.head_count_kv", heads)),
        hidden_size=int(fields["llama.embedding_length"]),
        context_length=int(fields.get("llama.context_length", 2048)),
        rope_base=float(fields.get("llama.rope.freq_base", 10_000.0)),
        rms_epsilon=float(fields["llama.attention.layer_norm_rms_epsilon"]),
    )


def _build_spec(
    hp: LlamaHyperParameters, tensors: Mapping[str, Any], vocab: GgufVocabulary, fields: Mapping[str, Any]
) -> Any:
    from ctranslate2.specs import common_spec, transformer_spec

    spec = transformer_spec.TransformerDecoderModelSpec.from_config(
        hp.num_layers,
        hp.num_heads,
        activation=common_spec.Activation.SWISH,
        pre_norm=True,
        ffn_glu=True,
        rms_norm=True,
        rotary_dim=0,
        rotary_interleave=True,
        rotary_base=hp.rope_base,
        num_heads_kv=None if hp.num_heads_kv == hp.num_heads else hp.num_heads_kv,
    )
    decoder = spec.decoder
    decoder.scale_embeddings = False
    embeddings = _weight(tensors, "token_embd.weight")
    decoder.embeddings.weight = embeddings
    decoder.layer_norm.gamma = _weight(tensors, "output_norm.weight")
    # Small llama models tie the output projection to the embeddings and ship no output.weight.
    decoder.projection.weight = _weight(tensors, "output.weight") if "output.weight" in tensors else embeddings
    for index, layer in enumerate(decoder.layer):
        prefix = f"blk.{index}."
        attention = layer.self_attention
        attention.layer_norm.gamma = _weight(tensors, prefix + "attn_norm.weight")
        attention.linear[0].weight = np.concatenate(
            [_weight(tensors, prefix + f"attn_{part}.weight") for part in ("q", "k", "v")]
        )
        attention.linear[1].weight = _weight(tensors, prefix + "attn_output.weight")
        layer.ffn.layer_norm.gamma = _weight(tensors, prefix + "ffn_norm.weight")
        layer.ffn.linear_0.weight = _weight(tensors, prefix + "ffn_gate.weight")
        layer.ffn.linear_0_noact.weight = _weight(tensors, prefix + "ffn_up.weight")
        layer.ffn.linear_1.weight = _weight(tensors, prefix + "ffn_down.weight")
    spec.register_vocabulary(list(vocab.tokens))
    bos = int(fields["tokenizer.ggml.bos_token_id"])
    eos = int(fields["tokenizer.ggml.eos_token_id"])
    unk = fields.get("tokenizer.ggml.unknown_token_id")
    spec.config.bos_token = vocab.tokens[bos]
    spec.config.eos_token = vocab.tokens[eos]
    spec.config.unk_token = vocab.tokens[int(unk)] if unk is not None else ""
    spec.config.layer_norm_epsilon = hp.rms_epsilon
    return spec


def _weight(tensors: Mapping[str, Any], name: str) -> np.ndarray:
    from gguf.quants import dequantize

    tensor = tensors.get(name)
    if tensor is None:
        raise ConversionError(f"tensor {name} missing from the GGUF file")
    # GGUF shapes list the fastest dimension first; dequantize yields [out_features, in_features] like PyTorch.
    array = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
    expected = tuple(int(dim) for dim in reversed(tensor.shape))
    return np.ascontiguousarray(array.reshape(expected))
