"""OpenAI /v1/embeddings <-> the local-inference Embed RPC."""

from __future__ import annotations

import base64
import sys
from array import array
from typing import Any

from bourse.inference.v1 import inference_service_pb2 as inference_pb2

from services.gateway.core.openai_types import EmbeddingRequest
from shared.errors import FieldViolation, InvalidRequest

MAX_INPUTS = 256  # the Embed RPC's limit


def to_embed_request(request: EmbeddingRequest) -> inference_pb2.EmbedRequest:
    texts = [request.input] if isinstance(request.input, str) else request.input
    if not texts:
        raise InvalidRequest("input must not be empty", violations=[FieldViolation("input", "at least one text")])
    if len(texts) > MAX_INPUTS:
        raise InvalidRequest(
            f"at most {MAX_INPUTS} inputs per request", violations=[FieldViolation("input", f"at most {MAX_INPUTS}")]
        )
    if request.dimensions is not None:
        raise InvalidRequest(
            "dimensions is not supported by the local embedding model",
            violations=[FieldViolation("dimensions", "not supported")],
        )
    return inference_pb2.EmbedRequest(texts=texts)


def _base64_floats(values: Any) -> str:
    floats = array("f", values)
    if sys.byteorder == "big":  # OpenAI's base64 encoding is little-endian float32
        floats.byteswap()
    return base64.b64encode(floats.tobytes()).decode()


def to_embedding_list(response: inference_pb2.EmbedResponse, encoding_format: str | None) -> dict[str, Any]:
    encode = _base64_floats if encoding_format == "base64" else list
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": encode(e.values)}
            for i, e in enumerate(response.embeddings)
        ],
        "model": f"local/{response.model}" if response.model else "local",
        "usage": {"prompt_tokens": response.prompt_tokens, "total_tokens": response.prompt_tokens},
    }
