"""Local inference's public surface: what the CLI, the benchmarks and other programs may import.

Serving (`create_server`, `InferenceConfig`), the model package (`bourse models`), and the in-process model,
scheduler and sampling types the evaluation and performance benchmarks drive.
"""

from services.local_inference.config import ENV_PREFIX, InferenceConfig
from services.local_inference.convert.smollm2 import ModelPackageMissing, ensure_smollm2
from services.local_inference.core.chat_template import ChatTurn
from services.local_inference.core.decoding import DecodeParams
from services.local_inference.core.engine import EngineOptions, LocalModel
from services.local_inference.core.inference import Limits, LocalInference, Sampling
from services.local_inference.core.scheduler import Scheduler, SchedulerOptions
from services.local_inference.server import create_server
from shared.lifecycle import ServiceDefinition

# How `python -m services.local_inference` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("local_inference", InferenceConfig, ENV_PREFIX, create_server)

__all__ = [
    "ENV_PREFIX",
    "SERVICE",
    "ChatTurn",
    "DecodeParams",
    "EngineOptions",
    "InferenceConfig",
    "Limits",
    "LocalInference",
    "LocalModel",
    "ModelPackageMissing",
    "Sampling",
    "Scheduler",
    "SchedulerOptions",
    "create_server",
    "ensure_smollm2",
]
