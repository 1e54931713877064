"""The one place that converts between physical units (ms, Hz) and simulation steps.

Everything in the engine is specified in milliseconds and signal units; only these helpers
know about steps. `alpha_from_tau` is the decay of one step of length ``dt_ms`` for a time
constant ``tau_ms``: α = exp(−dt/τ).
"""
from __future__ import annotations

import math

import torch


def alpha_from_tau(dt_ms: float, tau_ms: torch.Tensor | float) -> torch.Tensor | float:
    """Per-step decay α = exp(−dt_ms / tau_ms). Works on floats and tensors."""
    if isinstance(tau_ms, torch.Tensor):
        return torch.exp(-dt_ms / tau_ms)
    return math.exp(-dt_ms / tau_ms)


def ms_to_steps(duration_ms: float, dt_ms: float) -> int:
    """Number of steps that cover ``duration_ms`` (rounded to the nearest step, at least 1)."""
    return max(1, int(round(duration_ms / dt_ms)))


def steps_to_ms(n_steps: int | float, dt_ms: float) -> float:
    """Duration in ms of ``n_steps`` steps."""
    return float(n_steps) * dt_ms


def rate_hz(n_spikes: float, n_neurons: int, duration_ms: float) -> float:
    """Mean firing rate in Hz (spikes per neuron per second)."""
    if n_neurons <= 0 or duration_ms <= 0:
        return 0.0
    return float(n_spikes) / n_neurons / (duration_ms / 1000.0)


def spike_bin(time_ms: float, dt_ms: float) -> int:
    """Index of the step that holds an event at ``time_ms`` (bins are [t·dt, (t+1)·dt))."""
    return int(math.floor(time_ms / dt_ms + 1e-9))
