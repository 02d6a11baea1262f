from bourse.common.v1 import chat_pb2 as _chat_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnswerMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANSWER_METHOD_UNSPECIFIED: _ClassVar[AnswerMethod]
    ANSWER_METHOD_FREE: _ClassVar[AnswerMethod]
    ANSWER_METHOD_GUIDED: _ClassVar[AnswerMethod]
    ANSWER_METHOD_EXACT_MATCH: _ClassVar[AnswerMethod]
ANSWER_METHOD_UNSPECIFIED: AnswerMethod
ANSWER_METHOD_FREE: AnswerMethod
ANSWER_METHOD_GUIDED: AnswerMethod
ANSWER_METHOD_EXACT_MATCH: AnswerMethod

class GenerateRequest(_message.Message):
    __slots__ = ("chat", "request_id", "output_pattern", "copy_from_input")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PATTERN_FIELD_NUMBER: _ClassVar[int]
    COPY_FROM_INPUT_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.ChatRequest
    request_id: str
    output_pattern: str
    copy_from_input: bool
    def __init__(self, chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., request_id: _Optional[str] = ..., output_pattern: _Optional[str] = ..., copy_from_input: _Optional[bool] = ...) -> None: ...

class GenerateResponse(_message.Message):
    __slots__ = ("completion", "model", "compute_us", "queue_us", "method", "confidence")
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_US_FIELD_NUMBER: _ClassVar[int]
    QUEUE_US_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    completion: _chat_pb2.ChatCompletion
    model: str
    compute_us: int
    queue_us: int
    method: AnswerMethod
    confidence: float
    def __init__(self, completion: _Optional[_Union[_chat_pb2.ChatCompletion, _Mapping]] = ..., model: _Optional[str] = ..., compute_us: _Optional[int] = ..., queue_us: _Optional[int] = ..., method: _Optional[_Union[AnswerMethod, str]] = ..., confidence: _Optional[float] = ...) -> None: ...

class GenerateStreamRequest(_message.Message):
    __slots__ = ("chat", "request_id")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.ChatRequest
    request_id: str
    def __init__(self, chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class GenerateStreamResponse(_message.Message):
    __slots__ = ("delta", "done")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    delta: _chat_pb2.ChatDelta
    done: GenerateResponse
    def __init__(self, delta: _Optional[_Union[_chat_pb2.ChatDelta, _Mapping]] = ..., done: _Optional[_Union[GenerateResponse, _Mapping]] = ...) -> None: ...

class ScoreRequest(_message.Message):
    __slots__ = ("chat", "labels", "request_id")
    CHAT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    chat: _chat_pb2.ChatRequest
    labels: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., labels: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class LabelScore(_message.Message):
    __slots__ = ("label", "logprob", "probability")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    LOGPROB_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    label: str
    logprob: float
    probability: float
    def __init__(self, label: _Optional[str] = ..., logprob: _Optional[float] = ..., probability: _Optional[float] = ...) -> None: ...

class ScoreResponse(_message.Message):
    __slots__ = ("scores", "model")
    SCORES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    scores: _containers.RepeatedCompositeFieldContainer[LabelScore]
    model: str
    def __init__(self, scores: _Optional[_Iterable[_Union[LabelScore, _Mapping]]] = ..., model: _Optional[str] = ...) -> None: ...

class EmbedRequest(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("embeddings", "model", "prompt_tokens")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROMPT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    model: str
    prompt_tokens: int
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., model: _Optional[str] = ..., prompt_tokens: _Optional[int] = ...) -> None: ...
