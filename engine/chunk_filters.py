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


def _block_matrix(step: BucketStep, block: int) -> torch.Tensor:
    """M [block + K, block·K] with [d(t0..t0+block−1), ŷ(t0−1)] @ M = the block's states:
    M[i, j·K + k] = (A^{j−i} b)_k for i ≤ j (0 else) and M[block + l, j·K + k] = (A^{j+1})_kl.
    Computed in float64, cached on the map's values."""
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
    lag = torch.arange(block).unsqueeze(0) - torch.arange(block).unsqueeze(1)  # [i, j]: j − i
    conv = h[lag.clamp(min=0)] * (lag >= 0).unsqueeze(-1)  # [i, j, K]
    carry = torch.stack(powers[1:]).permute(2, 0, 1)  # [l, j, k] = (A^{j+1})_kl
    out = torch.cat([conv.reshape(block, block * k), carry.reshape(k, block * k)]).to(a.dtype)
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = out
    return out


def _block_rows(matrix: torch.Tensor, block: int, c: int, k: int) -> torch.Tensor:
    """The block matrix of a shorter last block of c steps: [c + K, c·K]."""
    if c == block:
        return matrix
    return torch.cat([matrix[:c], matrix[block:]])[:, :c * k]


def filter_drive(drive: torch.Tensor, state: torch.Tensor, step: BucketStep,
                 block: int = BLOCK_STEPS) -> torch.Tensor:
    """ŷ(t) = A ŷ(t−1) + b d(t) for every step of a chunk, from ``state`` = ŷ(−1); row 0 of
    the result is ``state``, row t + 1 is ŷ(t) (so ``out[:-1]`` are the previous buckets).

    Differentiable in ``drive`` and ``state`` (not in the map); without a gradient to track it
    writes into one buffer. Shape: drive [C, *X], state [*X, K] → [C + 1, *X, K].
    """
    matrix = _block_matrix(step, block)
    n_steps, k = drive.shape[0], state.shape[-1]
    lead = state.shape[:-1]
    d = drive.reshape(n_steps, -1)  # [C, X]
    s = state.reshape(-1, k)  # [X, K]
    n_x = s.shape[0]
    track = torch.is_grad_enabled() and (drive.requires_grad or state.requires_grad)
    if track:
        rows = [s.unsqueeze(0)]
    else:
        out = torch.empty(n_steps + 1, n_x, k, dtype=s.dtype, device=s.device)  # [C + 1, X, K]
        out[0] = s
    for t0 in range(0, n_steps, block):
        c = min(block, n_steps - t0)
        z = torch.cat([d[t0:t0 + c].T, s], dim=1)  # [X, c + K]
        states = (z @ _block_rows(matrix, block, c, k)).view(n_x, c, k).transpose(0, 1)  # [c, X, K]
        if track:
            rows.append(states)
            s = states[-1]
        else:
            out[t0 + 1:t0 + 1 + c] = states
            s = out[t0 + c]
    if track:
        out = torch.cat(rows)
    return out.reshape(n_steps + 1, *lead, k)


def filter_first(first: torch.Tensor, state: torch.Tensor, step: BucketStep,
                 block: int = BLOCK_STEPS) -> torch.Tensor:
    """Buckets whose bucket 0 is given at every step (``with_first`` over a chunk): the filter
    driven by d(t) = (first(t) − A_00 first(t−1)) / b_0, first(−1) = state[..., 0]; bucket 0
    is ``first`` itself. Rows as in :func:`filter_drive`.

    Differentiable in ``first`` and ``state``. Shape: first [C, *X], state [*X, K] → [C + 1, *X, K].
    """
    a00, b0 = step.transition[0, 0].detach(), step.drive[0].detach()
    before = torch.cat([state[..., 0].unsqueeze(0), first[:-1]])  # [C, *X]: first(t−1)
    out = filter_drive((first - a00 * before) / b0, state, step, block)
    if out.requires_grad:
        return torch.cat([out[:1], torch.cat([first.unsqueeze(-1), out[1:, ..., 1:]], dim=-1)])
    out[1:, ..., 0] = first
    return out
