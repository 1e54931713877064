"""The bucket recursion over a chunk of steps at once: a blocked linear filter.

Within a chunk the bucket map of engine.buckets is a fixed linear recursion

    ŷ(t) = A · ŷ(t−1) + b · d(t)            (BucketStep: transition A [K, K], drive b [K])

so, with the chunk split into blocks of ``block`` steps and s the state before a block,

    ŷ(t0 + j) = A^{j+1} · s + Σ_{i ≤ j} A^{j−i} b · d(t0 + i)

one matrix product per block (a causal convolution with the kernels A^n b) instead of one small
step per time step. Hidden receivers take bucket 0 from the sender's estimate ê
(engine.buckets.with_first); the same filter then runs on the sender's drive
d(t) = (ê(t) − A_00 ê(t−1)) / b_0, and bucket 0 is set to ê itself.

The filter only supplies the previous buckets ŷ(t−1) of every step; the values a chunk uses are
then built by the reference one-step maps (gamma_step, with_first) from them, so that the
chunked path computes each step with the reference equations (engine.chunked).
"""
from __future__ import annotations

import torch

from .buckets import BucketStep

BLOCK_STEPS = 32
_CACHE: dict = {}


def _kernels(step: BucketStep, block: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, P): T [block·K, block] with T[j·K + k, i] = (A^{j−i} b)_k for i ≤ j, else 0;
    P [block, K, K] = A^{j+1}. Cached on the map's values."""
    a, b = step.transition.detach(), step.drive.detach()
    key = (a.dtype, a.device, block, tuple(a.flatten().tolist()), tuple(b.tolist()))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    k = a.shape[0]
    a64, b64 = a.double(), b.double()
    powers = [torch.eye(k, dtype=torch.float64, device=a.device)]
    for _ in range(block):
        powers.append(powers[-1] @ a64)
    h = torch.stack([p @ b64 for p in powers[:block]])  # [block, K]: A^n b
    lag = torch.arange(block).unsqueeze(1) - torch.arange(block).unsqueeze(0)  # [j, i]: j − i
    toeplitz = h[lag.clamp(min=0)] * (lag >= 0).unsqueeze(-1)  # [j, i, K]
    toeplitz = toeplitz.permute(0, 2, 1).reshape(block * k, block)  # [j·K + k, i]
    out = (toeplitz.to(a.dtype), torch.stack(powers[1:]).to(a.dtype))  # [block·K, block], [block, K, K]
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = out
    return out


def filter_drive(drive: torch.Tensor, state: torch.Tensor, step: BucketStep,
                 block: int = BLOCK_STEPS) -> torch.Tensor:
    """ŷ(t) = A ŷ(t−1) + b d(t) for every step of a chunk, from ``state`` = ŷ(−1).

    Differentiable in ``drive`` and ``state`` (not in the map). Shape: drive [C, *X],
    state [*X, K] → [C, *X, K].
    """
    toeplitz, powers = _kernels(step, block)
    n_steps, k = drive.shape[0], state.shape[-1]
    lead = state.shape[:-1]
    d = drive.reshape(n_steps, -1)  # [C, X]
    s = state.reshape(-1, k)  # [X, K]
    blocks = []
    for t0 in range(0, n_steps, block):
        c = min(block, n_steps - t0)
        conv = (toeplitz[:c * k, :c] @ d[t0:t0 + c]).reshape(c, k, -1).transpose(1, 2)  # [c, X, K]
        blocks.append(torch.matmul(s, powers[:c].transpose(1, 2)) + conv)
        s = blocks[-1][-1]
    return torch.cat(blocks).reshape(n_steps, *lead, k)


def filter_first(first: torch.Tensor, state: torch.Tensor, step: BucketStep,
                 block: int = BLOCK_STEPS) -> torch.Tensor:
    """Buckets whose bucket 0 is given at every step (``with_first`` over a chunk): the filter
    driven by d(t) = (first(t) − A_00 first(t−1)) / b_0, first(−1) = state[..., 0].

    Differentiable in ``first`` and ``state``. Shape: first [C, *X], state [*X, K] → [C, *X, K].
    """
    a00, b0 = step.transition[0, 0].detach(), step.drive[0].detach()
    before = torch.cat([state[..., 0].unsqueeze(0), first[:-1]])  # [C, *X]: first(t−1)
    out = filter_drive((first - a00 * before) / b0, state, step, block)
    return torch.cat([first.unsqueeze(-1), out[..., 1:]], dim=-1)


def previous(states: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """ŷ(t−1) for every step of a chunk: ``state`` then all but the last of ``states``.

    Shape: states [C, *X, K], state [*X, K] → [C, *X, K]."""
    return torch.cat([state.detach().unsqueeze(0), states[:-1]])
