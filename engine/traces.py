"""Eligibility traces of a hidden layer's parameters through the receiving layer's buckets.

For a parameter θ of hidden layer l (rows belong to neuron i), with α_k the receiving
layer's bucket decays (MODEL.md §3):

    e^0(t) = ∂y_i(t)/∂θ_i                                   (local, closed form below)
    e^k(t) = Σ_j A_kj e^j(t−1) + (b_k/b_0)(e^0(t) − A_00 e^0(t−1))   k ≥ 1 (the buckets' own
                                                            map, engine.buckets.with_first)
    ∂L(t)/∂θ_i = Σ_k g_ik(t) · e_i^k(t),   g_ik(t) = ∂L(t)/∂ŷ_i^k(t) (receiving buckets)

The k = 0 term is what back-propagation through the current step gives (``spatial`` mode);
``traces`` adds the k ≥ 1 terms. Local derivatives, with gate = 1[x_i > 0]:

    ∂y_i/∂w_im = gate · Σ_k v^k ŷ_m^k ;  ∂y_i/∂v_i^k = gate · Σ_m w_im ŷ_m^k ;
    ∂y_i/∂v_im^k = gate · w_im ŷ_m^k ;   ∂y_i/∂b_i = gate
"""
from __future__ import annotations

import torch

from .buckets import BucketStep, with_first
from .layer import GammaLayer
from .network import LayerStep


def local_jacobians(layer: GammaLayer, step: LayerStep) -> dict[str, torch.Tensor]:
    """e^0 for each trainable row parameter. Shapes: weight [B, N, M], bucket_weight [B, N, K]
    or [B, N, M, K], bias [B, N]."""
    gate = (step.x.detach() > 0).to(step.x.dtype)  # [B, N]
    yb = step.buckets.detach()  # [B, M, K]
    w, v = layer.weight.detach(), layer.bucket_weight.detach()
    if v.dim() == 2:
        dw = (yb @ v.T).transpose(1, 2)  # [B, N, M]
        dv = (w @ yb) * gate.unsqueeze(-1)  # [B, N, K]
    else:
        dw = (yb.unsqueeze(1) * v).sum(-1)  # [B, N, M]
        dv = w[None, :, :, None] * yb[:, None, :, :] * gate[:, :, None, None]  # [B, N, M, K]
    out = {"weight": dw * gate.unsqueeze(-1), "bucket_weight": dv}
    if layer.bias is not None:
        out["bias"] = gate
    return out


def init_traces(jacobians: dict[str, torch.Tensor], n_buckets_next: int) -> dict[str, torch.Tensor]:
    """Zero traces with a trailing axis of the receiving layer's K. Shape: [..., K_next]."""
    return {k: j.new_zeros(*j.shape, n_buckets_next) for k, j in jacobians.items()}


def update_traces(traces: dict[str, torch.Tensor], jacobians: dict[str, torch.Tensor],
                  step_next: BucketStep) -> dict[str, torch.Tensor]:
    """e(t) from e(t−1): the receiving buckets' map (:func:`engine.buckets.with_first`) applied
    to the traces, with e^0(t) the local Jacobian."""
    return {name: with_first(jacobians[name], e, step_next) for name, e in traces.items()}


def trace_gradients(traces: dict[str, torch.Tensor], g: torch.Tensor,
                    step_next: BucketStep) -> dict[str, torch.Tensor]:
    """Σ_b Σ_{k≥1} g[b, i, k] · (e^k − (b_k/b_0)·e^0)[b, i, ...] for each parameter: the part of
    ∂L(t)/∂θ that flows through past steps (back-propagation through this step already carries
    e^0 into every bucket k, with weight b_k/b_0). g: [B, N, K_next]."""
    g_hi = g[..., 1:]  # [B, N, K'-1]
    carry = step_next.carry  # [K'-1]
    return {name: torch.einsum("bnk,bn...k->n...", g_hi, e[..., 1:] - e[..., :1] * carry)
            for name, e in traces.items()}
