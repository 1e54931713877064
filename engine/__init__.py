"""SpikingGamma engine: gamma-bucket spiking neurons, sigma-delta coupling, online learning
without surrogate gradients, and per-timestep taps. Needs torch and numpy only."""
from .config import LayerSpec, NetworkConfig
from .errors import DivergenceError
from .learning import MODES, Learner, Trainer, gradients
from .network import LayerState, LayerStep, Network, NetworkState, StepOutput
from .simulate import SimResult, run, simulate
from .taps import Recorder, tap_names

__all__ = [
    "DivergenceError", "LayerSpec", "LayerState", "LayerStep", "Learner", "MODES", "Network",
    "NetworkConfig", "NetworkState", "Recorder", "SimResult", "StepOutput", "Trainer", "gradients",
    "run", "simulate", "tap_names",
]
