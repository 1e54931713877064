"""SpikingGamma engine: gamma-bucket spiking neurons, sigma-delta coupling, online learning
without surrogate gradients, and per-timestep taps. Needs torch and numpy only."""
from .config import LayerSpec, NetworkConfig
from .errors import DivergenceError
from .learn.learner import MODES, Learner, gradients
from .learn.trainer import Trainer
from .model.layer import LayerState, LayerStep
from .model.network import Network, NetworkState, StepOutput
from .run.simulate import SimResult, run, simulate
from .run.taps import Recorder, tap_names

__all__ = [
    "DivergenceError", "LayerSpec", "LayerState", "LayerStep", "Learner", "MODES", "Network",
    "NetworkConfig", "NetworkState", "Recorder", "SimResult", "StepOutput", "Trainer", "gradients",
    "run", "simulate", "tap_names",
]
