"""A tiny random llama model written as a GGUF file (like the shipped SmolLM2) for tests that need no download.

Its vocabulary is byte-level BPE: three control tokens, the 256 byte symbols and two merges, so any text
encodes and decodes exactly. Weights are seeded, so greedy decoding is deterministic.
"""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
from gguf import GGMLQuantizationType, quants
from tokenizers import pre_tokenizers

CONTROL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGES = ["a b", "1 2"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a tiny test model<|im_end|>\n' }}{% endif %}"
    "{% if message['role'] == 'tool' %}{{ raise_exception('tool messages are not supported') }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
HIDDEN = 32
LAYERS = 2
HEADS = 4
HEADS_KV = 2
FFN = 64
CONTEXT = 512


def byte_symbols() -> list[str]:
    alphabet: list[str] = pre_tokenizers.ByteLevel.alphabet()
    return sorted(alphabet, key=_byte_of)


def _byte_of(symbol: str) -> int:
    # GPT-2's byte-to-unicode map: printable bytes map to themselves, the rest to 256 + n in byte order.
    code = ord(symbol)
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    if code in printable:
        return code
    others = [b for b in range(256) if b not in printable]
    return others[code - 256]


def write_tiny_gguf(path: Path, *, seed: int = 7, architecture: str = "llama", drop: str = "") -> list[str]:
    """Write the GGUF; returns its token list. `drop` names a tensor to leave out (for failure tests)."""
    tokens = [*CONTROL, *byte_symbols(), "ab", "12"]
    types = [3] * len(CONTROL) + [1] * (len(tokens) - len(CONTROL))
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_block_count(LAYERS)
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(HIDDEN)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(HEADS_KV)
    writer.add_rope_freq_base(10_000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(MERGES)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_chat_template(CHAT_TEMPLATE)
    head_dim = HIDDEN // HEADS

    def tensor(name: str, shape: tuple[int, ...], qtype: GGMLQuantizationType = GGMLQuantizationType.F32) -> None:
        if name == drop:
            return
        array = rng.normal(0.0, 0.5, size=shape).astype(np.float32)
        if qtype == GGMLQuantizationType.F32:
            writer.add_tensor(name, array)
        else:
            writer.add_tensor(name, quants.quantize(array, qtype), raw_dtype=qtype)

    tensor("token_embd.weight", (len(tokens), HIDDEN), GGMLQuantizationType.Q8_0)
    tensor("output_norm.weight", (HIDDEN,))
    for layer in range(LAYERS):
        prefix = f"blk.{layer}."
        tensor(prefix + "attn_norm.weight", (HIDDEN,))
        tensor(prefix + "attn_q.weight", (HEADS * head_dim, HIDDEN), GGMLQuantizationType.Q4_1)
        tensor(prefix + "attn_k.weight", (HEADS_KV * head_dim, HIDDEN), GGMLQuantizationType.Q4_1)
        tensor(prefix + "attn_v.weight", (HEADS_KV * head_dim, HIDDEN), GGMLQuantizationType.Q4_1)
        tensor(prefix + "attn_output.weight", (HIDDEN, HEADS * head_dim), GGMLQuantizationType.Q4_1)
        tensor(prefix + "ffn_norm.weight", (HIDDEN,))
        tensor(prefix + "ffn_gate.weight", (FFN, HIDDEN), GGMLQuantizationType.Q4_1)
        tensor(prefix + "ffn_up.weight", (FFN, HIDDEN), GGMLQuantizationType.Q4_1)
        tensor(prefix + "ffn_down.weight", (HIDDEN, FFN), GGMLQuantizationType.Q4_1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return tokens
