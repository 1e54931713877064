"""Sigma-delta spike encoder: the sender keeps the estimate ŷ^0 its receivers compute.

Equations (MODEL.md §2, §4.1), per neuron j, one step; α_0 and b_0 are the receivers' bucket-0
decay and drive gain (engine.model.buckets: b_0 = (1 − α_0)·τ/dt for ``"exact"``, 1 for ``"paper"``):

    ê ← α_0 · ê                                        (decay)
    ϑ_dyn ← α_ϑ · ϑ_dyn ;  ϑ = ϑ_0 + ϑ_dyn               (adaptive threshold; ϑ_dyn ≡ 0 otherwise)
    n = ⌈(y − ê − ϑ) / (2ϑ·b_0)⌉ clipped to [0, n_max]  (spikes this step: the fewest that bring
                                                        y − ê back to ϑ or below)
    ê ← ê + 2ϑ · b_0 · n
    ϑ_dyn ← ϑ_dyn + m_f · ϑ · b_ϑ · n                   (b_ϑ: the same hold gain for τ_ϑ)

So |y − ê| stays within about ϑ whatever dt is, and a constant y costs y / (2ϑτ) spikes per ms
exactly (``"exact"``): the count per step removes the one-spike cap (2ϑτ/dt) of the paper's
encoder, which ``max_spikes=1`` restores.

The step (:func:`encoder_step`) and its loop over a chunk (:func:`encode_chunk`, the one
non-linear recurrence of a chunk) live here side by side.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
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


# ---------------------------------------------------------------- time-parallel form
# The sigma-delta encoder over a chunk of steps: the one non-linear recurrence of a chunk.
#
# The equations are :func:`encoder_step`'s (one copy, in its docstring). On CUDA
# (or any non-CPU device) this loops over that very step. On the CPU the same operations, in the
# same order, run on NumPy arrays that share memory with the torch tensors: a NumPy operation
# on a few thousand numbers costs ~1 µs against ~5 µs for torch's dispatcher, and IEEE arithmetic
# makes the results bitwise equal (tested against encoder_step).


def encode_chunk(y: torch.Tensor, state: EncoderState, alpha0, threshold0: float, *, gain0=1.0,
                 alpha_theta: float | None = None, gain: float = 0.0, theta_gain0: float = 1.0,
                 max_spikes: int | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, EncoderState]:
    """Run :func:`encoder_step` over every step of ``y``.

    Shape: y [C, B, N] → (spikes, threshold, estimate) [C, B, N] each, and the state after the
    last step. Arguments as in encoder_step.
    """
    y = y.detach()
    kw = dict(gain0=gain0, alpha_theta=alpha_theta, gain=gain, theta_gain0=theta_gain0,
              max_spikes=max_spikes)
    if y.device.type != "cpu":
        spikes, thresholds, estimates = [], [], []
        for y_t in y:
            s, th, state = encoder_step(y_t, state, alpha0, threshold0, **kw)
            spikes.append(s)
            thresholds.append(th)
            estimates.append(state.estimate)
        return torch.stack(spikes), torch.stack(thresholds), torch.stack(estimates), state
    with np.errstate(all="ignore"):  # non-finite signals pass silently, as in torch
        return _encode_numpy(y, state, alpha0, threshold0, **kw)


def _scalar(value, dtype):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().astype(dtype)[()]
    return value


def _encode_numpy(y, state, alpha0, threshold0, *, gain0, alpha_theta, gain, theta_gain0,
                  max_spikes):
    n_steps = y.shape[0]
    yn = y.contiguous().numpy()  # [C, B, N]
    dt = yn.dtype
    alpha0, gain0 = _scalar(alpha0, dt), _scalar(gain0, dt)
    spikes = np.empty_like(yn)
    thresholds = np.empty_like(yn)
    estimates = np.empty_like(yn)
    est = state.estimate.detach().cpu().numpy().copy()
    theta_dyn = state.theta_dyn.detach().cpu().numpy().copy()
    tmp = np.empty_like(est)
    adaptive = alpha_theta is not None
    rise = gain * theta_gain0
    if not adaptive:  # ϑ and the spike height are the same at every step
        threshold = theta_dyn + threshold0
        height = 2 * threshold * gain0
    for t in range(n_steps):
        np.multiply(alpha0, est, out=est)
        if adaptive:
            np.multiply(alpha_theta, theta_dyn, out=theta_dyn)
            threshold = theta_dyn + threshold0
            height = 2 * threshold * gain0
        n = spikes[t]
        np.subtract(yn[t], est, out=tmp)
        np.subtract(tmp, threshold, out=tmp)
        np.divide(tmp, height, out=n)
        np.ceil(n, out=n)
        np.maximum(n, 0, out=n)
        if max_spikes is not None:
            np.minimum(n, max_spikes, out=n)
        np.multiply(height, n, out=tmp)
        np.add(est, tmp, out=est)
        estimates[t] = est
        thresholds[t] = threshold
        if adaptive:
            theta_dyn += rise * threshold * n
    as_t = torch.from_numpy
    return (as_t(spikes), as_t(thresholds), as_t(estimates),
            EncoderState(as_t(est), as_t(theta_dyn)))
