"""Baselines for the benchmarks: a LIF network trained by BPTT with a surrogate gradient or
online by OTTT, and (optional, lazy) the same network built from snnTorch."""
from .lif import FastSigmoidSpike, LIFConfig, LIFNetwork, LIFState, LIFStep, spike_fn
from .train import (LIF_LOSSES, LIF_MODES, LIFResult, LIFTrainer, lif_hardware_counts,
                    lif_output_spikes, membrane_codes, run_lif)

__all__ = ["FastSigmoidSpike", "LIFConfig", "LIFNetwork", "LIFResult", "LIFState", "LIFStep",
           "LIFTrainer", "LIF_LOSSES", "LIF_MODES", "lif_hardware_counts", "lif_output_spikes",
           "membrane_codes", "run_lif", "spike_fn"]
