"""Sigma-delta spike encoder: the sender keeps the estimate ŷ^0 its receivers compute.

Equations (MODEL.md §2, §4.1), per neuron j, one step; α_0 and b_0 are the receivers' bucket-0
decay and drive gain (engine.buckets: b_0 = (1 − α_0)·τ/dt for ``"exact"``, 1 for ``"paper"``):

    ê ← α_0 · ê                                        (decay)
    ϑ_dyn ← α_ϑ · ϑ_dyn ;  ϑ = ϑ_0 + ϑ_dyn               (adaptive threshold; ϑ_dyn ≡ 0 otherwise)
    n = ⌈(y − ê − ϑ) / (2ϑ·b_0)⌉ clipped to [0, n_max]  (spikes this step: the fewest that bring
                                                        y − ê back to ϑ or below)
    ê ← ê + 2ϑ · b_0 · n
    ϑ_dyn ← ϑ_dyn + m_f · ϑ · b_ϑ · n                   (b_ϑ: the same hold gain for τ_ϑ)

So |y − ê| stays within about ϑ whatever dt is, and a constant y costs y / (2ϑτ) spikes per ms
exactly (``"exact"``): the count per step removes the one-spike cap (2ϑτ/dt) of the paper's
encoder, which ``max_spikes=1`` restores.
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
                 threshold0: float, *, gain0: torch.Tensor | float = 1.0,
                 alpha_theta: float | None = None, gain: float = 0.0, theta_gain0: float = 1.0,
                 max_spikes: int | None = None) -> tuple[torch.Tensor, torch.Tensor, EncoderState]:
    """Encode the signal ``y`` at one step.

    Args:
        y: the signal to encode [B, N] (its gradient is not used: encoding is not differentiated).
        state: the previous :class:`EncoderState`.
        alpha0: decay of the estimate per step (receivers' bucket 0).
        threshold0: base threshold ϑ_0 (signal units).
        gain0: b_0, what a spike of height 1 adds to the estimate by the end of its step.
        alpha_theta: decay per step of ϑ_dyn; ``None`` disables the adaptive threshold.
        gain: m_f, the rise of ϑ_dyn per spike in units of ϑ.
        theta_gain0: b_ϑ, the hold gain of ϑ_dyn's rise (as ``gain0`` for τ_ϑ).
        max_spikes: at most this many spikes per step (``None``: no cap; 1: the paper's encoder).

    Returns:
        ``(spikes, threshold, new_state)``: spike counts [B, N] (0, 1, 2, ...), the threshold ϑ
        used at this step [B, N] (each spike has height 2ϑ), and the new state.
    """
    y = y.detach()
    alpha0 = alpha0.detach() if isinstance(alpha0, torch.Tensor) else alpha0
    gain0 = gain0.detach() if isinstance(gain0, torch.Tensor) else gain0
    estimate = alpha0 * state.estimate
    theta_dyn = state.theta_dyn if alpha_theta is None else alpha_theta * state.theta_dyn
    threshold = theta_dyn + threshold0
    height = 2 * threshold * gain0  # [B, N]
    spikes = torch.ceil((y - estimate - threshold) / height).clamp_(min=0)
    if max_spikes is not None:
        spikes = spikes.clamp_(max=max_spikes)
    estimate = estimate + height * spikes
    if alpha_theta is not None:
        theta_dyn = theta_dyn + gain * theta_gain0 * threshold * spikes
    return spikes, threshold, EncoderState(estimate, theta_dyn)
