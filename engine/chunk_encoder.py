"""The sigma-delta encoder over a chunk of steps: the one non-linear recurrence of a chunk.

The equations are :func:`engine.encoder.encoder_step`'s (one copy, in its docstring). On CUDA
(or any non-CPU device) this loops over that very step. On the CPU the same operations, in the
same order, run on NumPy arrays that share memory with the torch tensors: a NumPy operation
on a few thousand numbers costs ~1 µs against ~5 µs for torch's dispatcher, and IEEE arithmetic
makes the results bitwise equal (tested against encoder_step).
"""
from __future__ import annotations

import numpy as np
import torch

from .encoder import EncoderState, encoder_step


def encode_chunk(y: torch.Tensor, state: EncoderState, alpha0, threshold0: float, *, gain0=1.0,
                 alpha_theta: float | None = None, gain: float = 0.0, theta_gain0: float = 1.0,
                 max_spikes: int | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, EncoderState]:
    """Run :func:`engine.encoder.encoder_step` over every step of ``y``.

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
