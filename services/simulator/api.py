"""The provider simulator's public surface: what the benchmarks and other programs may import."""

from services.simulator.config import ENV_PREFIX, SimulatorConfig
from services.simulator.knobs import ModelKnobs
from services.simulator.server import start_simulator

__all__ = ["ENV_PREFIX", "ModelKnobs", "SimulatorConfig", "start_simulator"]
