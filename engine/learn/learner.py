"""Learning without surrogate gradients: ``spatial``, ``traces`` and ``bptt`` (the reference).

The only non-exact derivative anywhere is the straight-through identity across encode-decode
(see :mod:`engine.model.layer`). ``spatial`` and ``traces`` learn online: the state is cut from
the graph at every step, so memory does not grow with the number of steps; ``bptt`` keeps the
whole sequence's graph and is the oracle that ``traces`` must equal on a two-layer network.

One :class:`Learner` takes what the simulation loop (engine.run.simulate.run) computed, a step
at a time (:meth:`Learner.observe`) or a chunk at a time (:meth:`Learner.observe_chunk`). Each
step's graph in a chunk reaches back through that step only, so the gradient of
L_chunk = Σ_t w_t ℓ(t) is Σ_t ∂L(t)/∂θ through step t: the ``spatial`` gradient, from one
backward pass for the whole chunk; ``traces`` adds the trace terms (engine.learn.traces).
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from ..errors import DivergenceError
from ..model.buckets import BucketStep
from ..model.network import ChunkOutput, Network, NetworkState, StepOutput
from ..run.simulate import DEFAULT_CHUNK_STEPS, detach_state, run
from .losses import (LOSSES, check_spike_cost, loss_schedule, spike_cost_scales, spike_costs, step_loss,
                     step_losses)
from .traces import chunk_traces, init_traces, local_jacobians, trace_gradients, update_traces

MODES = ("spatial", "traces", "bptt")


class Learner:
    """Accumulates ∂L/∂θ over a sequence, step by step or chunk by chunk
    (see :func:`engine.run.simulate.run`).

    Args:
        net: the network (its parameters are read, never written).
        mode: ``"spatial"``, ``"traces"`` or ``"bptt"``.
        loss: ``"mse"`` / ``"mse_hinge"`` (targets [T, B, N_out] signals) or ``"ce"`` (labels
            [B] or [T, B]); see :func:`engine.learn.losses.step_loss`.
        warmup_ms: no loss during the first ``warmup_ms`` of a sequence.
        update_every: call ``on_update(grads)`` every this many steps (online modes);
            ``None``: once per sequence, at the end.
        on_update: receives the accumulated gradients {name: tensor}; they are zeroed after.
        spike_cost: λ >= 0, the weight of the hidden layers' spike cost (loss per hidden spike
            per neuron per second, estimated from y: engine.learn.losses.spike_costs); 0: none.
    """

    def __init__(self, net: Network, mode: str = "traces", loss: str = "mse", warmup_ms: float = 0.0,
                 update_every: int | None = None,
                 on_update: Callable[[dict[str, torch.Tensor]], None] | None = None,
                 spike_cost: float = 0.0):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} (got {mode!r})")
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES} (got {loss!r})")
        if (isinstance(warmup_ms, bool) or not isinstance(warmup_ms, (int, float))
                or not 0 <= warmup_ms < float("inf")):
            raise ValueError(f"warmup_ms must be a finite number >= 0 (got {warmup_ms!r})")
        if update_every is not None and (not isinstance(update_every, int) or update_every < 1):
            raise ValueError(f"update_every must be an integer >= 1 or None (got {update_every!r})")
        if update_every is not None and mode == "bptt":
            raise ValueError("update_every must be None in bptt mode (it updates once per sequence)")
        self.set_spike_cost(spike_cost)
        self.net, self.mode, self.loss = net, mode, loss
        self.warmup_ms, self.update_every, self.on_update = warmup_ms, update_every, on_update
        self.params = dict(net.named_parameters())
        self.grads: dict[str, torch.Tensor] = {}

    def set_spike_cost(self, spike_cost: float) -> None:
        """A new weight of the hidden spike cost, from the next sequence on (validated)."""
        check_spike_cost(spike_cost)
        self.spike_cost = float(spike_cost)

    # ------------------------------------------------------------------ run protocol
    def begin(self, n_steps: int, batch: int) -> None:
        self.warm_steps, self.step_weight = loss_schedule(n_steps, self.net.dt_ms, self.warmup_ms)
        self.n_steps, self.cost_scales = n_steps, spike_cost_scales(self.net)
        self.grads = {k: torch.zeros_like(p) for k, p in self.params.items()}
        self.traces: dict[int, dict[str, torch.Tensor]] = {}
        self.total_loss = 0.0
        self.bptt_loss: torch.Tensor | None = None
        self.steps_since_update = 0

    def prepare(self, state: NetworkState) -> NetworkState:
        return state if self.mode == "bptt" else detach_state(state)

    def steps_in_chunk(self, size: int) -> int:
        """How many of the next ``size`` steps fit before the next update (updates fall between
        chunks)."""
        if self.update_every is None:
            return size
        return min(size, self.update_every - self.steps_since_update)

    def observe(self, t: int, out: StepOutput, target_t: torch.Tensor | None) -> None:
        """Learn from step ``t`` (:meth:`Network.step`'s output)."""
        if target_t is None:
            raise ValueError("targets are required for learning")
        w_t = self._weight(t)
        loss_t = step_loss(self.loss, out.layers[-1].x, target_t) * w_t + self._cost(out)
        self._account(t, [float(loss_t.detach())])
        if self.mode == "bptt":
            if self.net.has_grad_hooks:
                self._tap_bptt_grads(t, out)
            self.bptt_loss = loss_t if self.bptt_loss is None else self.bptt_loss + loss_t
            return
        step_grads = self._online_step(out, loss_t, w_t > 0 or self.spike_cost > 0)
        if self.net.has_grad_hooks:
            self.net.call_grad_hooks(t, step_grads)
        self._accumulate(step_grads, 1)

    def observe_chunk(self, t0: int, out: ChunkOutput, targets: torch.Tensor) -> None:
        """Learn from the chunk of steps t0, t0 + 1, ... (:meth:`Network.forward_chunk`'s
        output): the same gradients as :meth:`observe` step by step, from one backward pass.
        ``targets``: [C, B, ...] per step, or [B] labels for the whole sequence."""
        x_out = out.layers[-1].x  # [C, B, N_out]
        n_steps = x_out.shape[0]
        weights = torch.tensor([self._weight(t0 + t) for t in range(n_steps)],
                               dtype=x_out.dtype, device=x_out.device)
        targets = targets.to(x_out.device)
        if targets.dim() == 1:  # one label per sequence
            targets = targets.expand(n_steps, *targets.shape)
        loss = step_losses(self.loss, x_out, targets) * weights + self._cost(out)  # [C]
        self._account(t0, loss.detach().tolist())
        hidden = range(len(self.net.layers) - 1) if self.mode == "traces" else range(0)
        has_loss = (bool((weights > 0).any()) or self.spike_cost > 0) and loss.requires_grad
        traced = [l for l in hidden if out.layers[l + 1].x.requires_grad] if has_loss else []
        step_grads, g_buckets = {}, {}
        if has_loss:
            names = list(self.params)
            grads = torch.autograd.grad(
                loss.sum(), [self.params[n] for n in names] + [out.layers[l + 1].x for l in traced],
                allow_unused=True)
            step_grads = {n: g for n, g in zip(names, grads[:len(names)]) if g is not None}
            for l, g_x in zip(traced, grads[len(names):]):  # ∂L/∂ŷ_{l+1}(t) = ∂L/∂x_{l+1} · W_eff
                if g_x is not None:
                    w_eff = out.layers[l + 1].w_eff.detach()  # [N_out, N_l, K']
                    g_buckets[l] = (g_x.flatten(0, 1) @ w_eff.flatten(1)).view(
                        *g_x.shape[:2], *w_eff.shape[1:])  # [C, B, N_l, K']
        for l in hidden:
            self.traces[l], extra = chunk_traces(self.net.layers[l], out.layers[l],
                                                 self.traces.get(l), g_buckets.get(l),
                                                 self._receiving_step(l))
            _add_into(step_grads, extra, l)
        self._accumulate(step_grads, n_steps)

    def finish(self) -> float:
        if self.mode == "bptt" and self.bptt_loss is not None:
            names = list(self.params)
            grads = torch.autograd.grad(self.bptt_loss, [self.params[n] for n in names],
                                        allow_unused=True)
            for n, g in zip(names, grads):
                if g is not None:
                    self.grads[n] += g
            self.bptt_loss = None
        if self.steps_since_update or self.mode == "bptt":
            self._flush()
        return self.total_loss

    # ------------------------------------------------------------------ internals
    def _cost(self, out: StepOutput | ChunkOutput) -> torch.Tensor | float:
        """The hidden layers' spike cost of a step ([]) or of a chunk's steps ([C]); 0 without."""
        if not self.spike_cost:
            return 0.0
        return spike_costs(self.spike_cost, [s.y for s in out.layers[:-1]], self.cost_scales,
                           self.n_steps)

    def _weight(self, t: int) -> float:
        """w_t of step t (engine.learn.losses.loss_schedule): 0 during the warm-up."""
        return self.step_weight if t >= self.warm_steps else 0.0

    def _account(self, t0: int, losses: list[float]) -> None:
        """Add the losses of steps t0, t0 + 1, ... to the total; DivergenceError at the first
        non-finite one."""
        for t, value in enumerate(losses):
            if not math.isfinite(value):
                raise DivergenceError(t0 + t, value)
            self.total_loss += value

    def _accumulate(self, step_grads: dict, n_steps: int) -> None:
        """Add the gradients of ``n_steps`` steps; update when ``update_every`` steps are done."""
        for k, g in step_grads.items():
            self.grads[k] += g
        self.steps_since_update += n_steps
        if self.update_every is not None and self.steps_since_update >= self.update_every:
            self._flush()

    def _flush(self) -> None:
        if self.on_update is not None:
            self.on_update(self.grads)
            self.grads = {k: torch.zeros_like(p) for k, p in self.params.items()}
        self.steps_since_update = 0

    def _online_step(self, out: StepOutput, loss_t: torch.Tensor, has_loss: bool) -> dict:
        """∂L(t)/∂θ: back-propagation through this step, plus trace terms (traces mode)."""
        layers = self.net.layers
        hidden = range(len(layers) - 1) if self.mode == "traces" else range(0)
        for l in hidden:  # traces advance every step, loss or not
            jac = local_jacobians(layers[l], out.layers[l])
            if l not in self.traces:
                self.traces[l] = init_traces(jac, layers[l + 1].spec.n_buckets)
            self.traces[l] = update_traces(self.traces[l], jac, self._receiving_step(l))
        if not has_loss or not loss_t.requires_grad:
            return {}
        names = list(self.params)
        traced = [l for l in hidden if out.layers[l + 1].buckets.requires_grad]
        grads = torch.autograd.grad(
            loss_t, [self.params[n] for n in names] + [out.layers[l + 1].buckets for l in traced],
            allow_unused=True)
        step_grads = {n: g for n, g in zip(names, grads[:len(names)]) if g is not None}
        for l, g_buckets in zip(traced, grads[len(names):]):  # g = ∂L(t)/∂ŷ_{l+1}(t)
            if g_buckets is not None:
                _add_into(step_grads, trace_gradients(self.traces[l], g_buckets,
                                                      self._receiving_step(l)), l)
        return step_grads

    def _receiving_step(self, l: int) -> BucketStep:
        """The (constant) map of the buckets that receive hidden layer l's output."""
        step = self.net.layers[l + 1].bucket_step(self.net.dt_ms, self.net.cfg.discretisation)
        return BucketStep(*(m.detach() for m in step))

    def _tap_bptt_grads(self, t: int, out: StepOutput) -> None:
        """Per-step weight-gradient contributions in bptt, from hooks on this step's W_eff."""
        for l, (layer, step) in enumerate(zip(self.net.layers, out.layers)):
            if not step.w_eff.requires_grad:
                continue

            def hook(g_eff, l=l, layer=layer):
                v = layer.bucket_weight.detach()
                v3 = v.unsqueeze(1) if v.dim() == 2 else v
                g_w = (g_eff * v3).sum(-1)
                g_v = g_eff * layer.weight.detach().unsqueeze(-1)
                g_v = g_v.sum(1) if v.dim() == 2 else g_v
                self.net.call_grad_hooks(t, {f"layers.{l}.weight": g_w,
                                             f"layers.{l}.bucket_weight": g_v})
            step.w_eff.register_hook(hook)


def _add_into(grads: dict, extra: dict, layer: int) -> None:
    """grads["layers.{layer}.{name}"] += extra[name] (trace terms of hidden layer ``layer``)."""
    for pname, value in extra.items():
        key = f"layers.{layer}.{pname}"
        grads[key] = grads[key] + value if key in grads else value


def gradients(net: Network, inputs: torch.Tensor, targets: torch.Tensor, mode: str = "traces",
              loss: str = "mse", warmup_ms: float = 0.0,
              chunk_steps: int | None = DEFAULT_CHUNK_STEPS,
              spike_cost: float = 0.0) -> dict[str, torch.Tensor]:
    """∂L/∂θ summed over the sequence, for every parameter name; the network is unchanged.
    ``chunk_steps``: as in :func:`engine.run.simulate.run` (``None``: the per-step reference);
    ``spike_cost``: as in :class:`Learner`.

    Shape: inputs [T, B, n_in]; targets [T, B, n_out] (mse) or [B] / [T, B] labels (ce).
    """
    learner = Learner(net, mode, loss, warmup_ms, spike_cost=spike_cost)
    run(net, inputs, learner=learner, targets=targets, keep="none", chunk_steps=chunk_steps)
    return {k: g.detach().clone() for k, g in learner.grads.items()}
