"""A float32 numpy forward pass of BERT (MiniLM) straight from the package's safetensors: the reference the
CTranslate2 encoder is checked against (sentence-transformers' mean pooling + L2 normalisation)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from shared.embedding.convert import adjusted_tokenizer


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz and Stegun 7.1.26 (error below 1.5e-7): exact enough for a float32 reference, and vectorised.
    sign = np.sign(x)
    a = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(np.float32)


class ReferenceMiniLM:
    def __init__(self, source: Path) -> None:
        self.config: dict[str, Any] = json.loads((source / "config.json").read_text())
        self.w = load_file(str(source / "model.safetensors"))
        self.tokenizer = Tokenizer.from_str(json.dumps(adjusted_tokenizer(source / "tokenizer.json")))

    def embed_one(self, text: str) -> np.ndarray:
        w, cfg = self.w, self.config
        eps = float(cfg["layer_norm_eps"])
        heads = int(cfg["num_attention_heads"])
        ids = self.tokenizer.encode(text).ids
        n = len(ids)
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
        d = x.shape[1]
        hd = d // heads
        for i in range(int(cfg["num_hidden_layers"])):
            p = f"encoder.layer.{i}"

            def lin(name: str, v: np.ndarray, p: str = p) -> np.ndarray:
                return v @ w[f"{p}.{name}.weight"].T + w[f"{p}.{name}.bias"]

            q = lin("attention.self.query", x).reshape(n, heads, hd).transpose(1, 0, 2)
            k = lin("attention.self.key", x).reshape(n, heads, hd).transpose(1, 0, 2)
            v = lin("attention.self.value", x).reshape(n, heads, hd).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, d)
            x = _layer_norm(
                x + lin("attention.output.dense", context),
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                eps,
            )
            hidden = _gelu(lin("intermediate.dense", x))
            x = _layer_norm(
                x + lin("output.dense", hidden), w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], eps
            )
        pooled = x.mean(0)
        return (pooled / np.linalg.norm(pooled)).astype(np.float32)

    def embed(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.embed_one(t) for t in texts])
