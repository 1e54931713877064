"""Gamma-memory buckets: the only memory a SpikingGamma neuron has.

Equations (MODEL.md §1), for the buckets ``ŷ`` of presynaptic neurons i, one step of length dt:

    ŷ^0(t) = α_0 · ŷ^0(t−1) + drive(t)                       drive = 2ϑ_i(t) · s_i(t)
    ŷ^k(t) = α_k · ŷ^k(t−1) + (1 − α_k) · ŷ^{k−1}(t−1)       k ≥ 1 (the *old* bucket k−1)
    α_k = exp(−dt / τ_k)

Bucket k's response to one spike is a discrete gamma kernel of order k+1 with area ≈ 2ϑτ/dt
steps (≈ 2ϑτ in ms), mean delay ≈ (k+1)τ and peak ≈ kτ.
"""
from __future__ import annotations

import math

import torch

from .units import alpha_from_tau, ms_to_steps


def spill(buckets: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Buckets k ≥ 1 at t from the buckets at t−1: ŷ^k = α_k ŷ^k + (1 − α_k) ŷ^{k−1}.

    Shape: buckets [B, N, K], alpha [K] → [B, N, K−1].
    """
    a = alpha[1:]
    return a * buckets[..., 1:] + (1 - a) * buckets[..., :-1]


def gamma_step(drive: torch.Tensor, buckets: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """One step of the bucket recursion, driven by ``drive`` into bucket 0.

    Shape: drive [B, N], buckets [B, N, K], alpha [K] → [B, N, K].
    """
    first = alpha[0] * buckets[..., 0] + drive  # [B, N]
    return torch.cat([first.unsqueeze(-1), spill(buckets, alpha)], dim=-1)


def with_first(first: torch.Tensor, buckets: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Buckets at t whose bucket 0 is given (the sender's estimate ŷ^0(t)), k ≥ 1 spilled.

    Shape: first [B, N], buckets [B, N, K] (at t−1), alpha [K] → [B, N, K].
    """
    return torch.cat([first.unsqueeze(-1), spill(buckets, alpha)], dim=-1)


def gamma_kernels(dt_ms: float, tau_ms: torch.Tensor, duration_ms: float,
                  height: float = 1.0) -> torch.Tensor:
    """Impulse responses of the K buckets to one spike of ``height`` at t = 0, by the recursion.

    Shape: tau_ms [K] → [T, K] with T = duration_ms / dt_ms steps.
    """
    n_steps = ms_to_steps(duration_ms, dt_ms)
    tau = torch.as_tensor(tau_ms, dtype=torch.float64).detach().reshape(-1)
    alpha = alpha_from_tau(dt_ms, tau)
    state = torch.zeros(1, 1, tau.numel(), dtype=torch.float64)
    out = []
    for t in range(n_steps):
        drive = torch.full((1, 1), height if t == 0 else 0.0, dtype=torch.float64)
        state = gamma_step(drive, state, alpha)
        out.append(state[0, 0])
    return torch.stack(out)  # [T, K]


def gamma_kernel_closed_form(dt_ms: float, tau_ms: float, n_buckets: int,
                             n_steps: int) -> torch.Tensor:
    """Closed form of :func:`gamma_kernels` for one shared τ (a negative binomial in t):

        h_k(t) = C(t, k) · (1 − α)^k · α^(t − k)      for t ≥ k, else 0.

    Shape: → [n_steps, n_buckets].
    """
    alpha = math.exp(-dt_ms / tau_ms)
    t = torch.arange(n_steps, dtype=torch.float64)
    cols = []
    for k in range(n_buckets):
        log_binom = torch.lgamma(t + 1) - math.lgamma(k + 1) - torch.lgamma((t - k).clamp(min=0) + 1)
        val = torch.exp(log_binom + k * math.log1p(-alpha) + (t - k) * math.log(alpha))
        cols.append(torch.where(t >= k, val, torch.zeros_like(val)))
    return torch.stack(cols, dim=-1)


def bucket_delays_ms(tau_ms: torch.Tensor) -> torch.Tensor:
    """Mean delay of each bucket (ms): the cumulative sum of τ_k (= (k+1)τ for a shared τ).

    Shape: [K] → [K] (or [..., K] → [..., K]).
    """
    return torch.cumsum(torch.as_tensor(tau_ms), dim=-1)
