"""Eligibility traces of a hidden layer's parameters through the receiving layer's buckets.

For a parameter θ of hidden layer l (rows belong to neuron i), with α_k the receiving
layer's bucket decays (MODEL.md §3):

    e^0(t) = ∂y_i(t)/∂θ_i                                   (local, closed form below)
    e^k(t) = Σ_j A_kj e^j(t−1) + (b_k/b_0)(e^0(t) − A_00 e^0(t−1))   k ≥ 1 (the buckets' own
                                                            map, engine.model.buckets.with_first)
    ∂L(t)/∂θ_i = Σ_k g_ik(t) · e_i^k(t),   g_ik(t) = ∂L(t)/∂ŷ_i^k(t) (receiving buckets)

The k = 0 term is what back-propagation through the current step gives (``spatial`` mode);
``traces`` adds the k ≥ 1 terms. Local derivatives, with gate = 1[x_i > 0]:

    ∂y_i/∂w_im = gate · Σ_k v^k ŷ_m^k ;  ∂y_i/∂v_i^k = gate · Σ_m w_im ŷ_m^k ;
    ∂y_i/∂v_im^k = gate · w_im ŷ_m^k ;   ∂y_i/∂b_i = gate

The step form (:func:`local_jacobians`, :func:`update_traces`, :func:`trace_gradients`) and the
chunk form (:func:`chunk_traces`, below) live side by side.
"""
from __future__ import annotations

import torch

from ..model.buckets import BucketStep, filter_first, with_first
from ..model.layer import GammaLayer, LayerStep


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
    """e(t) from e(t−1): the receiving buckets' map (:func:`engine.model.buckets.with_first`) applied
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


# ---------------------------------------------------------------- time-parallel form
# The traces over a chunk of steps at once (Learner.observe_chunk).
#
# ``traces`` adds, for each hidden layer l, Σ_t Σ_b Σ_{k≥1} g^k(t)·(e^k(t) − (b_k/b_0) e^0(t))
# (trace_gradients), g(t) = ∂L(t)/∂ŷ_{l+1}(t). The traces e are the receiving
# buckets' filter (with_first over a chunk: filter_first) applied to the local Jacobians
# J(t) = e^0(t) (local_jacobians), a linear map of the chunk's J and of the traces
# e(−1) before the chunk, the same for every row (b, i) and every parameter. So
#
#     Σ_t ⟨g(t), past(t)⟩ = Σ_{t,b,i} H[t,b,i] · J[t,b,i,...] + Σ_{b,i,k} R[b,i,k] · e^k(−1)[b,i,...]
#
# with H, R the adjoint of that filter applied to g (one backward pass through the filter), and
# every J is gate[t,b,i] × (a contraction of the input buckets ŷ[t,b,m,q] with w or v): the chunk's
# trace gradient is one contraction over (t, b). The traces after the chunk are
# e^k(C−1) = Σ_t κ_k(t) J(t) + Σ_j Φ_kj e^j(−1) (κ, Φ: the filter's response at the chunk's end).

_END_CACHE: dict = {}


def _end_kernels(step, n_steps: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """κ [C, K'] (response at the last step to J at step s) and Φ [K', K'] (to e(−1))."""
    key = (like.dtype, like.device, n_steps, tuple(step.transition.flatten().tolist()),
           tuple(step.drive.tolist()))
    hit = _END_CACHE.get(key)
    if hit is None:
        k = step.transition.shape[0]
        kw = dict(dtype=like.dtype, device=like.device)
        kappa = filter_first(torch.eye(n_steps, **kw), torch.zeros(n_steps, k, **kw), step)[-1]
        phi = filter_first(torch.zeros(n_steps, k, **kw), torch.eye(k, **kw), step)[-1].T
        if len(_END_CACHE) > 64:
            _END_CACHE.clear()
        hit = _END_CACHE[key] = (kappa, phi)  # [C, K'], [K', K']
    return hit


def _adjoint(g: torch.Tensor, step) -> tuple[torch.Tensor, torch.Tensor]:
    """H [C, B, N] and R [B, N, K'] with Σ_t ⟨g(t), past(t)⟩ = Σ H·J + Σ R·e(−1) (module doc)."""
    with torch.enable_grad():
        jac = torch.zeros(g.shape[:-1], dtype=g.dtype, device=g.device, requires_grad=True)
        e0 = torch.zeros(g.shape[1:], dtype=g.dtype, device=g.device, requires_grad=True)
        e = filter_first(jac, e0, step)[1:]  # [C, B, N, K']
        past = e[..., 1:] - e[..., :1] * step.carry
        h, r = torch.autograd.grad((g[..., 1:] * past).sum(), [jac, e0])
    return h, r


def chunk_traces(layer: GammaLayer, step_out: LayerStep, before: dict | None,
                 g: torch.Tensor | None, step_next: BucketStep) -> tuple[dict, dict]:
    """The traces of hidden layer ``layer`` over a chunk, at once (the time-parallel form of
    :func:`update_traces` and :func:`trace_gradients`; the derivation above).

    Args:
        step_out: the layer's :class:`LayerStep` over the chunk ([C, ...] tensors).
        before: the traces before the chunk (None: zero).
        g: ∂L(t)/∂ŷ_{l+1}(t) of the receiving buckets [C, B, N, K'], or None (no loss).
        step_next: the receiving buckets' map.

    Returns:
        (traces after the chunk, {parameter name: the chunk's trace-gradient terms}).
    """
    gate = (step_out.x.detach() > 0).to(step_out.x.dtype)  # [C, B, N]
    yb = step_out.buckets.detach()  # [C, B, M, K]
    w, v = layer.weight.detach(), layer.bucket_weight.detach()
    synapse = v.dim() == 3
    n_steps, batch, n = gate.shape
    m, k = yb.shape[2:]
    grads = {}
    if g is not None:
        h, r = _adjoint(g.detach(), step_next)
        hg = (h * gate).reshape(n_steps * batch, n)  # [C·B, N]
        u = (hg.T @ yb.reshape(n_steps * batch, m * k)).reshape(n, m, k)  # [N, M, K]
        grads["weight"] = (u * v).sum(-1) if synapse else torch.einsum("imq,iq->im", u, v)
        grads["bucket_weight"] = u * w.unsqueeze(-1) if synapse else torch.einsum("imq,im->iq", u, w)
        if layer.bias is not None:
            grads["bias"] = hg.sum(0)
        if before is not None:
            for name, e in before.items():
                grads[name] = grads[name] + torch.einsum("bij,bi...j->i...", r, e)
    kappa, phi = _end_kernels(step_next, n_steps, gate)
    kk = kappa.shape[1]
    gk = (gate.unsqueeze(-1) * kappa[:, None, None, :]).permute(1, 2, 3, 0)  # [B, N, K', C]
    s = torch.bmm(gk.reshape(batch, n * kk, n_steps),
                  yb.permute(1, 0, 2, 3).reshape(batch, n_steps, m * k)
                  ).reshape(batch, n, kk, m, k)  # [B, N, K', M, K]
    if synapse:
        after = {"weight": torch.einsum("bijmq,imq->bimj", s, v),
                 "bucket_weight": (s * w[None, :, None, :, None]).permute(0, 1, 3, 4, 2)}
    else:
        after = {"weight": torch.einsum("bijmq,iq->bimj", s, v),
                 "bucket_weight": torch.einsum("bijmq,im->biqj", s, w)}
    if layer.bias is not None:
        after["bias"] = torch.einsum("tk,tbi->bik", kappa, gate)
    if before is not None:
        after = {name: e + before[name] @ phi.T for name, e in after.items()}
    return after, grads
