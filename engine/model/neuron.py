"""The neuron signal: a linear filter of the presynaptic buckets, then ReLU (LNL-SD).

    x_j(t) = Σ_i Σ_k w_ij · v_j^k  · ŷ_i^k(t) + b_j      per-neuron bucket weights v  [N_out, K]
    x_j(t) = Σ_i Σ_k w_ij · v_ij^k · ŷ_i^k(t) + b_j      per-synapse bucket weights v [N_out, N_in, K]
    y_j(t) = ReLU(x_j(t))

Both variants use one effective weight W_ijk = w_ij · v^k, so x = flatten(ŷ) · flatten(W)ᵀ + b.
"""
from __future__ import annotations

import torch


def effective_weight(weight: torch.Tensor, bucket_weight: torch.Tensor) -> torch.Tensor:
    """W_ijk = w_ij · v^k. Shape: weight [N_out, N_in], bucket_weight [N_out, K] or
    [N_out, N_in, K] → [N_out, N_in, K]."""
    if bucket_weight.dim() == 2:
        bucket_weight = bucket_weight.unsqueeze(1)  # [N_out, 1, K]
    return weight.unsqueeze(-1) * bucket_weight


def neuron_signal(buckets: torch.Tensor, w_eff: torch.Tensor,
                  bias: torch.Tensor | None) -> torch.Tensor:
    """x = Σ_ik W_jik ŷ_ik + b. Shape: buckets [B, N_in, K], w_eff [N_out, N_in, K] → [B, N_out]."""
    x = buckets.flatten(1) @ w_eff.flatten(1).T  # [B, N_out]
    return x if bias is None else x + bias


def kernel_delay_ms(bucket_weight: torch.Tensor, delays_ms: torch.Tensor) -> torch.Tensor:
    """Effective delay of a bucket-weight vector: the |v|-weighted mean of the bucket delays (ms).

    Shape: bucket_weight [..., K], delays_ms [K] → [...].
    """
    w = bucket_weight.detach().abs()
    return (w * delays_ms).sum(-1) / w.sum(-1).clamp_min(1e-12)
