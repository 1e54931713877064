"""A SpikingGamma layer: learnable tensors only; the dynamics live in buckets/neuron/encoder."""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import LayerSpec, NetworkConfig
from .units import alpha_from_tau


class GammaLayer(nn.Module):
    """Weights w [N_out, N_in], bucket weights v ([N_out, K] or [N_out, N_in, K]), bias b [N_out]
    and the time constants τ (ms) [K] of this layer's *input* buckets."""

    def __init__(self, spec: LayerSpec, cfg: NetworkConfig, generator: torch.Generator):
        super().__init__()
        self.spec = spec
        dtype, k = cfg.torch_dtype, spec.n_buckets
        std = spec.weight_gain / math.sqrt(spec.n_in)
        weight = torch.randn(spec.n_out, spec.n_in, generator=generator, dtype=torch.float64) * std
        self.weight = nn.Parameter(weight.to(dtype))
        shape = (spec.n_out, k) if cfg.bucket_weights == "neuron" else (spec.n_out, spec.n_in, k)
        if cfg.bucket_init == "uniform":
            v = torch.full(shape, 1.0 / k, dtype=dtype)
        else:
            v = torch.zeros(shape, dtype=dtype)
            v[..., 0] = 1.0
        self.bucket_weight = nn.Parameter(v)
        self.bias = nn.Parameter(torch.zeros(spec.n_out, dtype=dtype)) if cfg.bias else None
        tau = torch.tensor(spec.tau_ms, dtype=dtype)  # [K]
        if cfg.learn_tau:
            self.tau_ms = nn.Parameter(tau)
        else:
            self.register_buffer("tau_ms", tau)

    def alpha(self, dt_ms: float) -> torch.Tensor:
        """Per-step decay of each input bucket, α_k = exp(−dt/τ_k). Shape: [K]."""
        return alpha_from_tau(dt_ms, self.tau_ms.clamp_min(1e-3))
