"""Configuration of the local-inference service (env prefix BOURSE_INFERENCE)."""

from __future__ import annotations

from typing import Annotated

import msgspec

ENV_PREFIX = "BOURSE_INFERENCE"
SERVICE_NAME = "bourse.inference.v1.InferenceService"

Positive = Annotated[int, msgspec.Meta(ge=1)]


class InferenceConfig(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    listen: str = "127.0.0.1:50054"
    log_level: str = "info"
    # Seconds in-flight calls get to finish on SIGTERM.
    shutdown_grace_s: float = 5.0
    metrics_listen: str = ""
    # A CTranslate2 decoder directory with tokenizer.json and a chat template; empty: the converted SmolLM2.
    model_dir: str = ""
    # int8 or float32 (int16 makes SmolLM2 emit gibberish: one scale per tensor is too coarse for it).
    compute_type: Annotated[str, msgspec.Meta(pattern="^(int8|int8_float32|float32|auto|default)$")] = "int8"
    # Batches decoded in parallel, and cores per batch; measured on 2 cores: see docs/local-inference.md.
    inter_threads: Positive = 1
    intra_threads: Positive = 2
    max_batch_size: Positive = 8
    max_batch_wait_ms: Annotated[float, msgspec.Meta(ge=0)] = 5.0
    # Requests waiting beyond this are refused with RESOURCE_EXHAUSTED and a retry delay.
    max_queue: Positive = 64
    default_max_tokens: Positive = 256
    max_tokens_limit: Positive = 1024
    # Move a caller's system message into the first user turn, keeping the model's own system prompt.
    fold_system_prompt: bool = True
    # Sentence encoder for Embed: a converted MiniLM directory; empty: the shipped one; "off": Embed disabled.
    embed_model_dir: str = ""
    embed_compute_type: str = "int8"
