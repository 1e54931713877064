"""Sigma-delta spike encoder: the sender keeps the estimate ŷ^0 its receivers compute.

Equations (MODEL.md §2), per neuron j, one step:

    ê ← α_0 · ê                                   (decay, α_0 of the receivers' bucket 0)
    ϑ_dyn ← α_ϑ · ϑ_dyn ;  ϑ = ϑ_0 + ϑ_dyn          (adaptive threshold; ϑ_dyn ≡ 0 otherwise)
    s = 1  if  y − ê > ϑ  else 0                  (at most one spike per step)
    ê ← ê + 2ϑ · s
    ϑ_dyn ← ϑ_dyn + m_f · ϑ · s

So |y − ê| stays within about ϑ while y changes slower than 2ϑτ/dt per ms.
"""
from __future__ import annotations

from typing import NamedTuple

import torch


class EncoderState(NamedTuple):
    """Sender-side state. Shapes: [B, N] each."""

    estimate: torch.Tensor
    theta_dyn: torch.Tensor


def init_encoder_state(batch_size: int, n: int, *, dtype: torch.dtype,
                       device: torch.device | str) -> EncoderState:
    zeros = torch.zeros(batch_size, n, dtype=dtype, device=device)
    return EncoderState(zeros, zeros.clone())


def encoder_step(y: torch.Tensor, state: EncoderState, alpha0: torch.Tensor | float,
                 threshold0: float, alpha_theta: float | None = None,
                 gain: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, EncoderState]:
    """Encode the signal ``y`` at one step.

    Args:
        y: the signal to encode [B, N] (its gradient is not used: encoding is not differentiated).
        state: the previous :class:`EncoderState`.
        alpha0: decay of the estimate per step (receivers' bucket 0).
        threshold0: base threshold ϑ_0 (signal units).
        alpha_theta: decay per step of ϑ_dyn; ``None`` disables the adaptive threshold.
        gain: m_f, the rise of ϑ_dyn per spike in units of ϑ.

    Returns:
        ``(spikes, threshold, new_state)``: spikes in {0, 1} [B, N], the threshold ϑ used at
        this step [B, N] (each spike has height 2ϑ), and the new state.
    """
    y = y.detach()
    alpha0 = alpha0.detach() if isinstance(alpha0, torch.Tensor) else alpha0
    estimate = alpha0 * state.estimate
    if alpha_theta is None:
        theta_dyn = state.theta_dyn
        threshold = theta_dyn + threshold0
    else:
        theta_dyn = alpha_theta * state.theta_dyn
        threshold = theta_dyn + threshold0
    spikes = (y - estimate > threshold).to(y.dtype)
    estimate = estimate + 2 * threshold * spikes
    if alpha_theta is not None:
        theta_dyn = theta_dyn + gain * threshold * spikes
    return spikes, threshold, EncoderState(estimate, theta_dyn)
