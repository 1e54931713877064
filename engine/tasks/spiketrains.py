"""Spike trains in physical time (ms), binned onto any dt, and the metrics that compare them."""
from __future__ import annotations

import math

import torch

from ..units import ms_to_steps, spike_bin


def poisson_times(n_channels: int, rate_hz: float, duration_ms: float,
                  generator: torch.Generator) -> list[torch.Tensor]:
    """Independent Poisson trains: one sorted float64 tensor of spike times (ms) per channel."""
    out = []
    for _ in range(n_channels):
        n = int(torch.poisson(torch.tensor(rate_hz * duration_ms / 1000.0, dtype=torch.float64),
                              generator=generator))
        out.append(torch.sort(torch.rand(n, generator=generator, dtype=torch.float64) * duration_ms).values)
    return out


def bin_times(trains: list[torch.Tensor], dt_ms: float, duration_ms: float) -> torch.Tensor:
    """Event counts per step: the same events at every dt. Shape: → [T, n_channels]."""
    n_steps = ms_to_steps(duration_ms, dt_ms)
    out = torch.zeros(n_steps, len(trains))
    for c, times in enumerate(trains):
        for t in times.tolist():
            idx = spike_bin(t, dt_ms)
            if 0 <= idx < n_steps:
                out[idx, c] += 1
    return out


def spike_times_ms(spikes: torch.Tensor, dt_ms: float) -> list[torch.Tensor]:
    """Times (ms) of the spikes of each neuron: the middle of their step (a spike in step n
    happened somewhere in [n·dt, (n+1)·dt)), repeated for counts above 1.

    Shape: spikes [T, N] (counts) → N tensors."""
    out = []
    for n in range(spikes.shape[1]):
        steps = torch.nonzero(spikes[:, n] > 0).flatten()
        counts = spikes[steps, n].round().long().clamp_min(1)
        out.append(torch.repeat_interleave((steps.double() + 0.5) * dt_ms, counts.cpu()))
    return out


def van_rossum(a: torch.Tensor, b: torch.Tensor, tau_ms: float = 10.0) -> float:
    """Van Rossum distance between two spike-time lists (ms), exact for exponential kernels:

        D² = Σ_ij e^{−|a_i−a_j|/τ} + Σ_ij e^{−|b_i−b_j|/τ} − 2 Σ_ij e^{−|a_i−b_j|/τ},  D = √(D²/2)
    """
    def k(x, y):
        if x.numel() == 0 or y.numel() == 0:
            return 0.0
        return float(torch.exp(-(x[:, None] - y[None, :]).abs() / tau_ms).sum())
    d2 = k(a, a) + k(b, b) - 2 * k(a, b)
    return math.sqrt(max(d2, 0.0) / 2)


def match_spikes(output: torch.Tensor, target: torch.Tensor, tolerance_ms: float = 2.0) -> int:
    """How many target spikes have a distinct output spike within ±tolerance (greedy, in time order)."""
    used = set()
    matched = 0
    for t in target.tolist():
        best, best_d = None, tolerance_ms + 1e-9
        for i, o in enumerate(output.tolist()):
            if i not in used and abs(o - t) <= best_d:
                best, best_d = i, abs(o - t)
        if best is not None:
            used.add(best)
            matched += 1
    return matched
