from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class TaskKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_KIND_UNSPECIFIED: _ClassVar[TaskKind]
    TASK_KIND_CHAT: _ClassVar[TaskKind]
    TASK_KIND_CLASSIFICATION: _ClassVar[TaskKind]
    TASK_KIND_EXTRACTION: _ClassVar[TaskKind]
    TASK_KIND_FORMATTING: _ClassVar[TaskKind]
    TASK_KIND_SUMMARIZATION: _ClassVar[TaskKind]
    TASK_KIND_CODE: _ClassVar[TaskKind]
    TASK_KIND_REASONING: _ClassVar[TaskKind]
    TASK_KIND_TRANSLATION: _ClassVar[TaskKind]

class ModelTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODEL_TIER_UNSPECIFIED: _ClassVar[ModelTier]
    MODEL_TIER_LOCAL: _ClassVar[ModelTier]
    MODEL_TIER_CHEAP: _ClassVar[ModelTier]
    MODEL_TIER_STANDARD: _ClassVar[ModelTier]
    MODEL_TIER_FRONTIER: _ClassVar[ModelTier]

class ServedFrom(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVED_FROM_UNSPECIFIED: _ClassVar[ServedFrom]
    SERVED_FROM_LOCAL: _ClassVar[ServedFrom]
    SERVED_FROM_CACHE: _ClassVar[ServedFrom]
    SERVED_FROM_REMOTE: _ClassVar[ServedFrom]

class Capability(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CAPABILITY_UNSPECIFIED: _ClassVar[Capability]
    CAPABILITY_TOOLS: _ClassVar[Capability]
    CAPABILITY_JSON_SCHEMA: _ClassVar[Capability]
    CAPABILITY_JSON_OBJECT: _ClassVar[Capability]
    CAPABILITY_VISION: _ClassVar[Capability]
    CAPABILITY_STREAMING: _ClassVar[Capability]
    CAPABILITY_SYSTEM_PROMPT: _ClassVar[Capability]
TASK_KIND_UNSPECIFIED: TaskKind
TASK_KIND_CHAT: TaskKind
TASK_KIND_CLASSIFICATION: TaskKind
TASK_KIND_EXTRACTION: TaskKind
TASK_KIND_FORMATTING: TaskKind
TASK_KIND_SUMMARIZATION: TaskKind
TASK_KIND_CODE: TaskKind
TASK_KIND_REASONING: TaskKind
TASK_KIND_TRANSLATION: TaskKind
MODEL_TIER_UNSPECIFIED: ModelTier
MODEL_TIER_LOCAL: ModelTier
MODEL_TIER_CHEAP: ModelTier
MODEL_TIER_STANDARD: ModelTier
MODEL_TIER_FRONTIER: ModelTier
SERVED_FROM_UNSPECIFIED: ServedFrom
SERVED_FROM_LOCAL: ServedFrom
SERVED_FROM_CACHE: ServedFrom
SERVED_FROM_REMOTE: ServedFrom
CAPABILITY_UNSPECIFIED: Capability
CAPABILITY_TOOLS: Capability
CAPABILITY_JSON_SCHEMA: Capability
CAPABILITY_JSON_OBJECT: Capability
CAPABILITY_VISION: Capability
CAPABILITY_STREAMING: Capability
CAPABILITY_SYSTEM_PROMPT: Capability
