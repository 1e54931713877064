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

Hidden layers' bucket 0 is the sender's sigma-delta estimate ê (engine.encoder), which uses the
same α_0 = A_00 and b_0. The higher buckets then follow from ê itself (:func:`with_first`),
since the sender's drive in the step is (ê(t) − α_0·ê(t−1)) / b_0.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .units import ms_to_steps

DISCRETISATIONS = ("exact", "paper")


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
    eligibility traces (engine.traces) use it too.

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
