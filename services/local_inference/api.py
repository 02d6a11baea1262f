"""Local inference's public surface: what the CLI, the benchmarks and other programs may import.

Serving (`create_server`, `InferenceConfig`), the model package (`bourse models`), and the in-process model,
scheduler, sampling and guided-decoding types the evaluation and performance benchmarks drive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.local_inference.config import ENV_PREFIX, InferenceConfig
from services.local_inference.convert.smollm2 import ModelPackageMissing, ensure_smollm2
from services.local_inference.core.chat_template import ChatTurn
from services.local_inference.core.confidence import MEASURES
from services.local_inference.core.constraints import ChoiceConstraint, RegexConstraint
from services.local_inference.core.decoding import DecodeParams
from services.local_inference.core.engine import EngineOptions, LocalModel
from services.local_inference.core.guided import GuidedDecoder, GuidedTask
from services.local_inference.core.inference import Guidance, Limits, LocalInference, Sampling
from services.local_inference.core.json_schema_regex import schema_regex
from services.local_inference.core.scheduler import Scheduler, SchedulerOptions
from shared.lifecycle import Logger, ServiceDefinition

if TYPE_CHECKING:
    from shared.serving import ServiceServer


async def create_server(config: InferenceConfig, logger: Logger, **options: Any) -> ServiceServer:
    """The service's factory (see its server module); imported on first use, so the CLI starts light."""
    from services.local_inference import server

    return await server.create_server(config, logger, **options)


# How `python -m services.local_inference` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("local_inference", InferenceConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENV_PREFIX",
    "MEASURES",
    "SERVICE",
    "ChatTurn",
    "ChoiceConstraint",
    "DecodeParams",
    "EngineOptions",
    "Guidance",
    "GuidedDecoder",
    "GuidedTask",
    "InferenceConfig",
    "Limits",
    "LocalInference",
    "LocalModel",
    "ModelPackageMissing",
    "RegexConstraint",
    "Sampling",
    "Scheduler",
    "SchedulerOptions",
    "create_server",
    "ensure_smollm2",
    "schema_regex",
]
