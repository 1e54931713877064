"""Gamma-memory buckets: the only memory a SpikingGamma neuron has.

The buckets of presynaptic neuron i are a linear cascade in continuous time (MODEL.md §1, §4.1):

    dŷ^0/dt = −ŷ^0 / τ_0 + I(t)                 I: the input, one spike of height c adds c
    dŷ^k/dt = (ŷ^{k−1} − ŷ^k) / τ_k              k ≥ 1

One step of length dt is ``ŷ(t) = A · ŷ(t−dt) + b · drive(t)`` with a lower-triangular
transition A [K, K] and input gains b [K]. Two discretisations (``NetworkConfig.discretisation``):

``"exact"`` (default): the exact step of the cascade, with the step's spikes spread evenly over
    the step (a zero-order hold of the input):

        A = exp(M·dt),  b = (1/dt) ∫_0^dt exp(M·s) e_0 ds       M: the cascade's matrix above
        shared τ (h = dt/τ):  A_kj = e^{−h} h^{k−j}/(k−j)!,  b_k = P(k+1, h)/h
                              (P: the regularised lower incomplete gamma function)

    Bucket k's response to one spike in step 0 is then the continuous gamma kernel averaged over
    the step, ŷ^k(n) = (c/h)·[P(k+1, (n+1)h) − P(k+1, nh)]: its area is c·τ_0 *exactly* and
    its mean delay (from the middle of the spike's step to the end of step n) is (k+1)τ to
    O((dt/τ)²), at every dt.

``"paper"``: the paper's recursion, exact only to O(dt/τ):

        ŷ^0(t) = α_0 · ŷ^0(t−1) + drive(t)
        ŷ^k(t) = α_k · ŷ^k(t−1) + (1 − α_k) · ŷ^{k−1}(t−1)       α_k = exp(−dt/τ_k)

    i.e. A = diag(α) + subdiag(1 − α_k), b = e_0. Area c·dt/(1 − α) ≈ cτ(1 + dt/2τ), mean delay
    (k+1)τ − dt from the end of the spike's step.

Hidden layers' bucket 0 is the sender's sigma-delta estimate ê (engine.model.encoder), which uses the
same α_0 = A_00 and b_0. The higher buckets then follow from ê itself (:func:`with_first`),
since the sender's drive in the step is (ê(t) − α_0·ê(t−1)) / b_0.

The step and its time-parallel form live here side by side: :func:`gamma_step` /
:func:`with_first` advance one step; :func:`filter_drive` / :func:`filter_first` give every
step of a chunk at once (the same map, a blocked linear filter, below).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from ..config import DISCRETISATIONS
from ..units import ms_to_steps


class BucketStep(NamedTuple):
    """The linear map of one step. Shapes: transition A [K, K], drive b [K]; ``follow`` [K−1, K]
    and ``carry`` [K−1] build buckets k ≥ 1 from bucket 0 (:func:`with_first`)."""

    transition: torch.Tensor
    drive: torch.Tensor
    follow: torch.Tensor
    carry: torch.Tensor

    @property
    def alpha0(self) -> torch.Tensor:
        """Decay of bucket 0 over one step, e^{−dt/τ_0} (a 0-dim tensor)."""
        return self.transition[0, 0]

    @property
    def gain0(self) -> torch.Tensor:
        """What one unit of drive adds to bucket 0 at the end of its step, b_0 (0-dim)."""
        return self.drive[0]


def bucket_step(dt_ms: float, tau_ms: torch.Tensor, discretisation: str = "exact") -> BucketStep:
    """A, b (and the forms :func:`with_first` needs) for buckets with time constants ``tau_ms``.

    Differentiable in ``tau_ms`` (learnable τ). Shape: tau_ms [K] → A [K, K], b [K].

    Example:
        >>> s = bucket_step(1.0, torch.tensor([5.0, 5.0], dtype=torch.float64))
        >>> round(float(s.drive.sum()), 4), round(float(s.transition[1, 0]), 4)   # b_0 + b_1, h·e^{−h}
        (0.9868, 0.1637)
    """
    if discretisation not in DISCRETISATIONS:
        raise ValueError(f"discretisation must be one of {DISCRETISATIONS} (got {discretisation!r})")
    tau = torch.as_tensor(tau_ms).reshape(-1)
    k = tau.numel()
    dtype = tau.dtype if tau.is_floating_point() else torch.float64
    tau = tau.to(dtype)
    eye = torch.eye(k, dtype=dtype, device=tau.device)
    sub = torch.diag(torch.ones(k - 1, dtype=dtype, device=tau.device), -1)  # [K, K]
    if discretisation == "paper":
        alpha = torch.exp(-dt_ms / tau)  # [K]
        one_minus = (1 - alpha).unsqueeze(1)  # [K, 1]: row k receives (1 − α_k) ŷ^{k−1}
        transition = torch.diag(alpha) + sub * one_minus
        drive = eye[0]
    else:
        rates = (sub - eye) / tau.unsqueeze(1)  # M [K, K]: row k divided by τ_k
        # exp([[M dt, e_0 dt], [0, 0]]) = [[A, ∫_0^dt exp(Ms) e_0 ds], [0, 1]]
        aug = torch.zeros(k + 1, k + 1, dtype=dtype, device=tau.device)
        aug[:k, :k] = rates * dt_ms
        aug[0, k] = dt_ms
        expo = torch.linalg.matrix_exp(aug)
        transition, drive = expo[:k, :k], expo[:k, k] / dt_ms
    carry = drive[1:] / drive[0]  # [K−1]
    follow = transition[1:].clone()
    follow[:, 0] = follow[:, 0] - carry * transition[0, 0]
    return BucketStep(transition, drive, follow, carry)


def gamma_step(drive: torch.Tensor, buckets: torch.Tensor, step: BucketStep) -> torch.Tensor:
    """One step of the buckets driven by ``drive`` (spike counts × height): ŷ = A·ŷ + b·drive.

    Shape: drive [B, N], buckets [B, N, K] → [B, N, K].
    """
    return buckets @ step.transition.T + drive.unsqueeze(-1) * step.drive  # [B, N, K]


def with_first(first: torch.Tensor, buckets: torch.Tensor, step: BucketStep) -> torch.Tensor:
    """Buckets at t whose bucket 0 is given (the sender's estimate ŷ^0(t)); k ≥ 1 follow:

        ŷ^k(t) = Σ_j A_kj ŷ^j(t−1) + (b_k / b_0) · (ŷ^0(t) − A_00 ŷ^0(t−1))

    (the sender's drive in this step is (ŷ^0(t) − A_00 ŷ^0(t−1)) / b_0). With ``"paper"``
    b_k = 0 for k ≥ 1, so bucket k reads only the old buckets. Works on any leading shape, so
    eligibility traces (engine.learn.traces) use it too.

    Shape: first [..., N], buckets [..., N, K] (at t−1) → [..., N, K].
    """
    rest = buckets @ step.follow.T + first.unsqueeze(-1) * step.carry  # [..., N, K−1]
    return torch.cat([first.unsqueeze(-1), rest], dim=-1)


def gamma_kernels(dt_ms: float, tau_ms: torch.Tensor, duration_ms: float,
                  height: float = 1.0, discretisation: str = "exact") -> torch.Tensor:
    """Impulse responses of the K buckets to one spike of ``height`` in step 0, by the recursion.

    Row n is the state at the end of step n. Shape: tau_ms [K] → [T, K], T = duration_ms / dt_ms.
    """
    n_steps = ms_to_steps(duration_ms, dt_ms)
    tau = torch.as_tensor(tau_ms, dtype=torch.float64).detach().reshape(-1)
    step = bucket_step(dt_ms, tau, discretisation)
    state = gamma_step(torch.full((1, 1), float(height), dtype=torch.float64),
                       torch.zeros(1, 1, tau.numel(), dtype=torch.float64), step)
    out = [state[0, 0]]
    for _ in range(n_steps - 1):
        state = state @ step.transition.T
        out.append(state[0, 0])
    return torch.stack(out)  # [T, K]


def gamma_kernel_closed_form(dt_ms: float, tau_ms: float, n_buckets: int, n_steps: int,
                             discretisation: str = "exact") -> torch.Tensor:
    """Closed form of :func:`gamma_kernels` (height 1) for one shared τ, h = dt/τ:

        "exact":  h_k(n) = [P(k+1, (n+1)h) − P(k+1, n·h)] / h   (the gamma kernel averaged over
                  the step; P: regularised lower incomplete gamma)
        "paper":  h_k(n) = C(n, k) · (1 − α)^k · α^(n − k) for n ≥ k, else 0 (a negative binomial)

    Shape: → [n_steps, n_buckets].
    """
    n = torch.arange(n_steps, dtype=torch.float64)
    h = dt_ms / tau_ms
    cols = []
    for k in range(n_buckets):
        if discretisation == "exact":
            order = torch.tensor(k + 1.0, dtype=torch.float64)
            cols.append((torch.special.gammainc(order, (n + 1) * h)
                         - torch.special.gammainc(order, n * h)) / h)
            continue
        alpha = math.exp(-h)
        log_binom = torch.lgamma(n + 1) - math.lgamma(k + 1) - torch.lgamma((n - k).clamp(min=0) + 1)
        val = torch.exp(log_binom + k * math.log1p(-alpha) + (n - k) * math.log(alpha))
        cols.append(torch.where(n >= k, val, torch.zeros_like(val)))
    return torch.stack(cols, dim=-1)


def bucket_delays_ms(tau_ms: torch.Tensor) -> torch.Tensor:
    """Mean delay of each bucket (ms): the cumulative sum of τ_k (= (k+1)τ for a shared τ).

    Shape: [K] → [K] (or [..., K] → [..., K]).
    """
    return torch.cumsum(torch.as_tensor(tau_ms), dim=-1)


# ---------------------------------------------------------------- time-parallel form
# The bucket recursion over a chunk of steps at once: a blocked linear filter.
#
# Within a chunk the bucket map of engine.model.buckets is a fixed linear recursion
#
#     ŷ(t) = A · ŷ(t−1) + b · d(t)            (BucketStep: transition A [K, K], drive b [K])
#
# so, with the chunk split into blocks of ``block`` steps and s the state before a block,
#
#     ŷ(t0 + j) = A^{j+1} · s + Σ_{i ≤ j} A^{j−i} b · d(t0 + i)
#
# one matrix product per block (a causal convolution with the kernels A^n b) instead of one small
# step per time step. Hidden receivers take bucket 0 from the sender's estimate ê
# (engine.model.buckets.with_first); the same filter then runs on the sender's drive
# d(t) = (ê(t) − A_00 ê(t−1)) / b_0, and bucket 0 is set to ê itself.
#
# The filter only supplies the previous buckets ŷ(t−1) of every step; the values a chunk uses are
# then built by the reference one-step maps (gamma_step, with_first) from them, so that the
# chunked path computes each step with the reference equations (engine.model.layer.ChunkKit).


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
