"""``spatial`` and ``traces`` gradients of a whole chunk (engine.chunked) in one backward pass.

Each step's graph in a chunk reaches back through that step only, so the gradient of
L_chunk = Σ_t w_t ℓ(t) is Σ_t ∂L(t)/∂θ through step t: the ``spatial`` gradient, summed over
the chunk, exactly as engine.learning.Learner sums it step by step.

``traces`` adds, for each hidden layer l, Σ_t Σ_b Σ_{k≥1} g^k(t)·(e^k(t) − (b_k/b_0) e^0(t))
(engine.traces.trace_gradients), g(t) = ∂L(t)/∂ŷ_{l+1}(t). The traces e are the receiving
buckets' filter (with_first, engine.chunk_filters.filter_first) applied to the local Jacobians
J(t) = e^0(t) (engine.traces.local_jacobians), a linear map of the chunk's J and of the traces
e(−1) before the chunk, the same for every row (b, i) and every parameter. So

    Σ_t ⟨g(t), past(t)⟩ = Σ_{t,b,i} H[t,b,i] · J[t,b,i,...] + Σ_{b,i,k} R[b,i,k] · e^k(−1)[b,i,...]

with H, R the adjoint of that filter applied to g (one backward pass through the filter), and
every J is gate[t,b,i] × (a contraction of the input buckets ŷ[t,b,m,q] with w or v): the chunk's
trace gradient is one contraction over (t, b). The traces after the chunk are
e^k(C−1) = Σ_t κ_k(t) J(t) + Σ_j Φ_kj e^j(−1) (κ, Φ: the filter's response at the chunk's end).
"""
from __future__ import annotations

import math

import torch

from .chunk_filters import filter_first
from .errors import DivergenceError
from .losses import step_losses

_END_CACHE: dict = {}


def chunk_losses(kind: str, x_out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ℓ(t) of every step of a chunk (engine.losses.step_losses).

    Shape: x_out [C, B, N]; targets [C, B, ...] per step or [B] labels → [C]."""
    if targets.dim() < 2 or (kind == "ce" and targets.dim() == 1):
        targets = targets.expand(x_out.shape[0], *targets.shape)
    return step_losses(kind, x_out, targets)


def learn_chunk(learner, t0: int, out, targets: torch.Tensor) -> None:
    """Add the chunk's gradients to ``learner.grads`` (engine.learning.Learner), advance its
    traces, and call its update when ``update_every`` steps are done."""
    net = learner.net
    n_steps = out.input_spikes.shape[0]
    x_out = out.layers[-1].x
    weights = torch.tensor([learner.step_weight if t0 + t >= learner.warm_steps else 0.0
                            for t in range(n_steps)], dtype=x_out.dtype, device=x_out.device)
    targets = targets.to(x_out.device)
    loss = chunk_losses(learner.loss, x_out, targets) * weights  # [C]
    for t, value in enumerate(loss.detach().tolist()):
        if not math.isfinite(value):
            raise DivergenceError(t0 + t, value)
        learner.total_loss += value
    layers = net.layers
    hidden = range(len(layers) - 1) if learner.mode == "traces" else range(0)
    has_loss = bool((weights > 0).any()) and loss.requires_grad
    traced = [l for l in hidden if out.layers[l + 1].x.requires_grad] if has_loss else []
    step_grads, g_buckets = {}, {}
    if has_loss:
        names = list(learner.params)
        grads = torch.autograd.grad(
            loss.sum(), [learner.params[n] for n in names] + [out.layers[l + 1].x for l in traced],
            allow_unused=True)
        step_grads = {n: g for n, g in zip(names, grads[:len(names)]) if g is not None}
        for l, g_x in zip(traced, grads[len(names):]):  # ∂L(t)/∂ŷ_{l+1}(t) = ∂L(t)/∂x_{l+1} · W_eff
            if g_x is not None:
                w_eff = out.layers[l + 1].w_eff.detach()  # [N_out, N_l, K']
                g_buckets[l] = (g_x.flatten(0, 1) @ w_eff.flatten(1)).view(
                    *g_x.shape[:2], *w_eff.shape[1:])
    for l in hidden:
        before = learner.traces.get(l)
        g = g_buckets.get(l)
        after, extra = _traces_chunk(layers[l], out.layers[l], before, g, learner._receiving_step(l))
        learner.traces[l] = after
        for pname, value in extra.items():
            key = f"layers.{l}.{pname}"
            step_grads[key] = step_grads[key] + value if key in step_grads else value
    for k, g in step_grads.items():
        learner.grads[k] += g
    learner.steps_since_update += n_steps
    if learner.update_every is not None and learner.steps_since_update >= learner.update_every:
        learner._flush()


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


def _traces_chunk(layer, step_out, before: dict | None, g: torch.Tensor | None, step_next):
    """(traces after the chunk, trace-gradient terms) for one hidden layer."""
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
