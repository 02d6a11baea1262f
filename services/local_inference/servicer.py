"""InferenceService over gRPC: proto <-> core types, nothing else."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
from bourse.common.v1 import chat_pb2
from bourse.inference.v1 import inference_service_pb2 as pb
from bourse.inference.v1 import inference_service_pb2_grpc as pb_grpc

from services.local_inference.core.chat_request import chat_turns, guidance, sampling
from services.local_inference.core.decoding import Finish, Generation
from services.local_inference.core.embedding import Embedder
from services.local_inference.core.inference import LocalInference
from services.local_inference.metrics import InferenceMetrics
from shared.errors import BourseError, Reason

_METHODS = {
    "free": pb.ANSWER_METHOD_FREE,
    "guided": pb.ANSWER_METHOD_GUIDED,
    "exact_match": pb.ANSWER_METHOD_EXACT_MATCH,
}
_FINISH = {Finish.STOP: chat_pb2.FINISH_REASON_STOP, Finish.LENGTH: chat_pb2.FINISH_REASON_LENGTH}


class ModelNotReady(BourseError):
    """The model is still loading (or failed to load); callers should go elsewhere or retry."""

    default_reason = Reason.MODEL_LOADING


@dataclass
class LoadedModels:
    """Filled in once loading finishes; empty until then."""

    inference: LocalInference | None = None
    embedder: Embedder | None = None
    embed_disabled: bool = False
    load_error: str = ""
    embed_error: str = ""


class InferenceServicer(pb_grpc.InferenceServiceServicer):
    def __init__(self, models: LoadedModels, metrics: InferenceMetrics) -> None:
        self._models = models
        self._metrics = metrics

    async def Generate(
        self, request: pb.GenerateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GenerateResponse:
        inference = self._inference()
        turns = chat_turns(request.chat)
        answer = await inference.answer(turns, sampling(request.chat), guidance(request), _deadline(context))
        generation = answer.generation
        self._count(generation)
        response = _response(generation, inference.model_name, content=generation.text)
        response.method = _METHODS[answer.method]
        response.confidence = answer.confidence
        return response

    async def GenerateStream(
        self, request: pb.GenerateStreamRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.GenerateStreamResponse]:
        inference = self._inference()
        stream = inference.generate_stream(chat_turns(request.chat), sampling(request.chat), _deadline(context))
        async for delta in stream.deltas():
            yield pb.GenerateStreamResponse(delta=chat_pb2.ChatDelta(content=delta))
        generation = await stream.result()
        self._count(generation)
        yield pb.GenerateStreamResponse(done=_response(generation, inference.model_name, content=""))

    async def Score(self, request: pb.ScoreRequest, context: grpc.aio.ServicerContext[Any, Any]) -> pb.ScoreResponse:
        inference = self._inference()
        scores = await inference.score(chat_turns(request.chat), list(request.labels), _deadline(context))
        return pb.ScoreResponse(
            scores=[pb.LabelScore(label=s.label, logprob=s.logprob, probability=s.probability) for s in scores],
            model=inference.model_name,
        )

    async def Embed(self, request: pb.EmbedRequest, context: grpc.aio.ServicerContext[Any, Any]) -> pb.EmbedResponse:
        if self._models.embed_disabled:
            raise BourseError(
                "Embed is disabled on this instance (embed_model_dir=off)",
                reason=Reason.EMBED_DISABLED,
            )
        embedder = self._models.embedder
        if embedder is None:
            if self._models.embed_error:
                raise ModelNotReady(
                    f"the sentence encoder failed to load: {self._models.embed_error}", reason=Reason.MODEL_LOAD_FAILED
                )
            raise ModelNotReady("the sentence encoder is still loading", retry_after_s=1.0)
        result = await embedder.embed(list(request.texts))
        return pb.EmbedResponse(
            embeddings=[pb.Embedding(values=row.tolist()) for row in result.vectors],
            model=embedder.model_name,
            prompt_tokens=result.prompt_tokens,
        )

    def _count(self, generation: Generation) -> None:
        self._metrics.tokens.labels("prompt").inc(generation.prompt_tokens)
        self._metrics.tokens.labels("completion").inc(generation.completion_tokens)

    def _inference(self) -> LocalInference:
        if self._models.inference is None:
            if self._models.load_error:
                raise ModelNotReady(
                    f"the local model failed to load: {self._models.load_error}", reason=Reason.MODEL_LOAD_FAILED
                )
            raise ModelNotReady("the local model is still loading", retry_after_s=1.0)
        return self._models.inference


def _deadline(context: grpc.aio.ServicerContext[Any, Any]) -> float | None:
    remaining: float | None = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def _response(generation: Generation, model: str, *, content: str) -> pb.GenerateResponse:
    return pb.GenerateResponse(
        completion=chat_pb2.ChatCompletion(
            content=content,
            finish_reason=_FINISH[generation.finish],
            usage=chat_pb2.Usage(
                prompt_tokens=generation.prompt_tokens, completion_tokens=generation.completion_tokens
            ),
        ),
        model=model,
        compute_us=int(generation.compute_s * 1e6),
        queue_us=int(generation.queue_s * 1e6),
    )
