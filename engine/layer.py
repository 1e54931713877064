"""A SpikingGamma layer: learnable tensors only; the dynamics live in buckets/neuron/encoder."""
from __future__ import annotations

import math

import torch
from torch import nn

from .buckets import BucketStep, bucket_step
from .config import LayerSpec, NetworkConfig


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

    def bucket_step(self, dt_ms: float, discretisation: str) -> BucketStep:
        """The linear map of one step of this layer's input buckets (engine.buckets).

        Cached while τ is fixed (a learnable τ is differentiated through at every step)."""
        tau = self.tau_ms.clamp_min(1e-3)
        if self.tau_ms.requires_grad:
            return bucket_step(dt_ms, tau, discretisation)
        key = (dt_ms, discretisation, self.tau_ms._version, self.tau_ms.data_ptr(),
               self.tau_ms.device, self.tau_ms.dtype)
        cached = getattr(self, "_step_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, bucket_step(dt_ms, tau, discretisation))
            self._step_cache = cached
        return cached[1]
