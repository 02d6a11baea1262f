"""The provider simulator's public surface: what the benchmarks and other programs may import."""

from services.simulator.config import ENV_PREFIX, SimulatorConfig
from services.simulator.knobs import ModelKnobs
from services.simulator.server import create_server, start_simulator
from shared.lifecycle import ServiceDefinition

# How `python -m services.simulator` runs it (shared.lifecycle.main).
SERVICE = ServiceDefinition("simulator", SimulatorConfig, ENV_PREFIX, create_server)

__all__ = ["ENV_PREFIX", "SERVICE", "ModelKnobs", "SimulatorConfig", "create_server", "start_simulator"]
