"""An exponential synapse in front of the input buckets, so that every dt sees the same signal.

With ``NetworkConfig.input_synapse_ms = τ_s > 0`` an input event at time t_e drives the input
buckets with the current c·e^{−(t − t_e)/τ_s}/τ_s instead of an impulse (the event's charge c,
``input_height``, is unchanged). In MODEL.md §1/§4.1 terms one first-order stage is put in front
of bucket 0:

    τ_s dI/dt = −I + c·Σ_e δ(t − t_e),      dŷ⁰/dt = −ŷ⁰/τ_0 + I(t),  ...   (τ_s → 0: §1)

Why: an impulse makes bucket 0 jump, and with it every signal x that reads bucket 0. A grid of
step dt samples x only at its steps; a finer grid also sees the peaks between them, so the
positive-only sigma-delta encoder fires more and its estimate ê stays higher, and a network
trained at 1 ms misplaces its output spikes at 0.1 ms. Through the synapse bucket 0 rises
smoothly and its peaks are smooth maxima, which a grid samples to O(dt²) rather than O(dt).
Measured on the pattern network (BENCHMARKS.md, issue 7): the hidden rate moves 5.7 % from
dt 1 to 0.1 ms with impulses, 2.9 % with τ_s = 1 ms.

Events are binned: an event counted in step n happened at (n + u)·dt, u unknown in [0, 1). With
u uniform and h = dt/τ_s, step n + j receives the expected share of its charge

    p_0 = 1 − (1 − e^{−h})/h,      p_j = e^{−(j−1)h} (1 − e^{−h})² / h    (j ≥ 1)

(the synaptic current integrated over each step, then held over the step as every drive is,
engine.model.buckets). The shares sum to 1 and their mean lag is τ_s
(from the event), at every dt; τ_s = 0 gives p = (1,): the binned impulse held over its step,
the engine's default. The tail is the first-order recursion q(t) = e^{−h} q(t−1) + p_1 x(t−1),
so the drive of step t is p_0 x(t) + q(t), computed by the bucket filter (engine.model.buckets.filter_drive).
"""
from __future__ import annotations

import math

import torch

from .buckets import BucketStep, filter_drive


def synapse_shares(dt_ms: float, synapse_ms: float, n_steps: int) -> torch.Tensor:
    """The shares p_0 … p_{n−1} of an event's charge that steps n, n + 1, ... receive (the
    first ``n_steps``; with τ_s = 0, just (1,)). Shape: → [n_steps] (or [1]).

    Example:
        >>> [round(p, 4) for p in synapse_shares(1.0, 1.0, 3).tolist()]
        [0.3679, 0.3996, 0.147]
    """
    if synapse_ms == 0:
        return torch.ones(1, dtype=torch.float64)
    h = dt_ms / synapse_ms
    j = torch.arange(1, n_steps, dtype=torch.float64)
    tail = torch.exp(-(j - 1) * h) * (-math.expm1(-h)) ** 2 / h
    head = torch.tensor([1 + math.expm1(-h) / h], dtype=torch.float64)
    return torch.cat([head, tail])


def synapse_inputs(inputs: torch.Tensor, dt_ms: float, synapse_ms: float) -> torch.Tensor:
    """Event counts [T, B, N] → the drive of every step through the synapse: p_0 x(t) + q(t).
    Charge still in the synapse after the last step is dropped. ``synapse_ms = 0``: ``inputs``."""
    if synapse_ms == 0:
        return inputs
    h = dt_ms / synapse_ms
    if h == 0:  # τ_s so long against dt that no charge arrives within the run
        return torch.zeros_like(inputs)
    p0, p1 = 1 + math.expm1(-h) / h, math.expm1(-h) ** 2 / h
    kw = dict(dtype=inputs.dtype, device=inputs.device)
    decay = torch.full((1, 1), math.exp(-h), **kw)
    step = BucketStep(decay, torch.full((1,), p1, **kw), decay[:0], decay[0, :0])
    start = torch.zeros(*inputs.shape[1:], 1, **kw)
    tail = filter_drive(inputs, start, step)[:-1, ..., 0]  # [T, B, N]: q(t), from x(t − 1)
    return p0 * inputs + tail
