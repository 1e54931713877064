"""Input events as pulses of a fixed width in ms, so that every dt sees the same input signal.

With ``NetworkConfig.input_pulse_ms = w > 0`` an input event at time t_e drives the input
buckets as a current of 1/w over [t_e, t_e + w) instead of an impulse (the event's charge,
``input_height``, is unchanged). In MODEL.md §4.1 terms the drive of bucket 0 becomes

    I(t) = c · Σ_e box_w(t − t_e) / w          (w → 0: the impulses of §1)

An impulse makes bucket 0 jump, and with it every signal x that reads bucket 0. A grid of step dt
samples such a signal only at its steps, so at a finer dt the sigma-delta encoder sees peaks
between the coarse steps (one input up, another down within a millisecond) that a coarse grid
never saw: more hidden spikes and a higher estimate ê, and a network trained at 1 ms misplaces
its output spikes at 0.1 ms. A pulse of w ≳ the coarsest dt has no such sub-step structure, so
the signal every grid samples is the same (measured in BENCHMARKS.md, issue 7).

Events are binned: an event counted in step n happened at t_e = (n + u)·dt, u unknown in
[0, 1). Step n + j receives the expected share of its charge, u uniform,

    p_j = F(j + 1) − F(j),   F(x) = G(x) − G(x − 1),
    G(z) = 0 (z ≤ 0),  z²/(2S) (0 < z ≤ S),  z − S/2 (z > S),   S = w / dt

(F: the distribution function of u + S·v, v uniform in [0, 1), in steps). The shares sum to 1,
their mean lag is (1 + S)/2 steps, i.e. dt/2 + w/2 ms, and w = 0 gives p = (1,): the binned
impulse held over its step, the engine's default.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def pulse_shares(dt_ms: float, pulse_ms: float) -> torch.Tensor:
    """The shares p_j of an event's charge that steps n, n + 1, ... receive. Shape: → [J].

    Example:
        >>> pulse_shares(1.0, 1.0).tolist()   # S = 1: a triangle over two steps
        [0.5, 0.5]
    """
    s = pulse_ms / dt_ms

    def g(z: float) -> float:
        if z <= 0:
            return 0.0
        return z * z / (2 * s) if z <= s else z - s / 2

    def cdf(x: float) -> float:
        return min(x, 1.0) if s == 0 else g(x) - g(x - 1)

    n_taps = 1 if s == 0 else math.ceil(s - 1e-12) + 1
    shares = torch.tensor([cdf(j + 1) - cdf(j) for j in range(n_taps)], dtype=torch.float64)
    return shares / shares.sum()


def pulse_inputs(inputs: torch.Tensor, dt_ms: float, pulse_ms: float) -> torch.Tensor:
    """Event counts [T, B, N] → the drive of every step when each event is a pulse of
    ``pulse_ms`` (a causal convolution of each channel with :func:`pulse_shares`). Charge that
    falls after the last step is dropped, as events after it are. ``pulse_ms = 0``: ``inputs``."""
    shares = pulse_shares(dt_ms, pulse_ms)
    if shares.numel() == 1:
        return inputs
    n_steps, batch, n = inputs.shape
    x = inputs.permute(1, 2, 0).reshape(batch * n, 1, n_steps)  # [B·N, 1, T]
    x = F.pad(x, (shares.numel() - 1, 0))
    kernel = shares.flip(0).to(dtype=inputs.dtype, device=inputs.device).view(1, 1, -1)
    return F.conv1d(x, kernel).view(batch, n, n_steps).permute(2, 0, 1)  # [T, B, N]
