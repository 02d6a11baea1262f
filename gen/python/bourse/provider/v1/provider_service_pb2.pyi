from bourse.common.v1 import chat_pb2 as _chat_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CompleteRequest(_message.Message):
    __slots__ = ("provider", "model", "chat", "request_id", "region")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    chat: _chat_pb2.ChatRequest
    request_id: str
    region: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., request_id: _Optional[str] = ..., region: _Optional[str] = ...) -> None: ...

class CompleteResponse(_message.Message):
    __slots__ = ("completion", "upstream_latency_us", "provider_response_id")
    COMPLETION_FIELD_NUMBER: _ClassVar[int]
    UPSTREAM_LATENCY_US_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    completion: _chat_pb2.ChatCompletion
    upstream_latency_us: int
    provider_response_id: str
    def __init__(self, completion: _Optional[_Union[_chat_pb2.ChatCompletion, _Mapping]] = ..., upstream_latency_us: _Optional[int] = ..., provider_response_id: _Optional[str] = ...) -> None: ...

class CompleteStreamRequest(_message.Message):
    __slots__ = ("provider", "model", "chat", "request_id", "region")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CHAT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    chat: _chat_pb2.ChatRequest
    request_id: str
    region: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., chat: _Optional[_Union[_chat_pb2.ChatRequest, _Mapping]] = ..., request_id: _Optional[str] = ..., region: _Optional[str] = ...) -> None: ...

class CompleteStreamResponse(_message.Message):
    __slots__ = ("delta", "done", "time_to_first_token_us")
    DELTA_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_US_FIELD_NUMBER: _ClassVar[int]
    delta: _chat_pb2.ChatDelta
    done: CompleteResponse
    time_to_first_token_us: int
    def __init__(self, delta: _Optional[_Union[_chat_pb2.ChatDelta, _Mapping]] = ..., done: _Optional[_Union[CompleteResponse, _Mapping]] = ..., time_to_first_token_us: _Optional[int] = ...) -> None: ...
