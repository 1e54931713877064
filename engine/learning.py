"""Learning without surrogate gradients: ``spatial``, ``traces`` and ``bptt`` (the reference).

The only non-exact derivative anywhere is the straight-through identity across encode-decode
(see :mod:`engine.network`). ``spatial`` and ``traces`` learn online: the state is cut from the
graph at every step, so memory does not grow with the number of steps; ``bptt`` keeps the whole
sequence's graph and is the oracle that ``traces`` must equal on a two-layer network.
"""
from __future__ import annotations

import math
from typing import Callable

import torch

from .buckets import BucketStep
from .chunked import DEFAULT_CHUNK_STEPS
from .errors import DivergenceError
from .losses import LOSSES, loss_schedule, step_loss
from .network import Network, NetworkState, StepOutput
from .simulate import SimResult, detach_state, run
from .traces import init_traces, local_jacobians, trace_gradients, update_traces

MODES = ("spatial", "traces", "bptt")
LR_SCHEDULES = (None, "cosine")
#: the cosine schedule ends at this fraction of the initial learning rate
LR_FLOOR = 0.05


class LRSchedule:
    """The learning rate of ``optimizer`` over ``total_updates`` optimizer steps.

    ``kind=None``: constant. ``"cosine"``: lr(n) = lr·(f + (1 − f)·½(1 + cos(π n/N))), f =
    ``LR_FLOOR``, held at f·lr after N updates (torch's CosineAnnealingLR, not restarted).
    Call :meth:`step` after every optimizer step.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, kind: str | None = None,
                 total_updates: int | None = None):
        if kind not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES} (got {kind!r})")
        if kind is not None and (isinstance(total_updates, bool) or not isinstance(total_updates, int)
                                 or total_updates < 1):
            raise ValueError(f"total_updates must be an integer >= 1 with lr_schedule={kind!r} "
                             f"(got {total_updates!r})")
        self.total, self.done = total_updates, 0
        self._sched = None
        if kind == "cosine":
            lr0 = optimizer.param_groups[0]["lr"]
            self._sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                optimizer, T_max=total_updates, eta_min=LR_FLOOR * lr0)

    def step(self) -> None:
        self.done += 1
        if self._sched is not None and self.done <= self.total:
            self._sched.step()


class Learner:
    """Accumulates ∂L/∂θ over a sequence, step by step (see :func:`engine.simulate.run`).

    Args:
        net: the network (its parameters are read, never written).
        mode: ``"spatial"``, ``"traces"`` or ``"bptt"``.
        loss: ``"mse"`` / ``"mse_hinge"`` (targets [T, B, N_out] signals) or ``"ce"`` (labels
            [B] or [T, B]); see :func:`engine.losses.step_loss`.
        warmup_ms: no loss during the first ``warmup_ms`` of a sequence.
        update_every: call ``on_update(grads)`` every this many steps (online modes);
            ``None``: once per sequence, at the end.
        on_update: receives the accumulated gradients {name: tensor}; they are zeroed after.
        chunk_steps: :func:`engine.simulate.run` computes this many steps at a time
            (engine.chunked; same spikes and gradients); ``None``: step by step (the reference).
    """

    def __init__(self, net: Network, mode: str = "traces", loss: str = "mse", warmup_ms: float = 0.0,
                 update_every: int | None = None,
                 on_update: Callable[[dict[str, torch.Tensor]], None] | None = None,
                 chunk_steps: int | None = None):
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
        self.net, self.mode, self.loss = net, mode, loss
        if chunk_steps is not None and (isinstance(chunk_steps, bool) or not isinstance(chunk_steps, int)
                                        or chunk_steps < 1):
            raise ValueError(f"chunk_steps must be an integer >= 1 or None (got {chunk_steps!r})")
        self.warmup_ms, self.update_every, self.on_update = warmup_ms, update_every, on_update
        self.chunk_steps = chunk_steps
        self.params = dict(net.named_parameters())
        self.grads: dict[str, torch.Tensor] = {}

    # ------------------------------------------------------------------ run protocol
    def begin(self, n_steps: int, batch: int) -> None:
        self.warm_steps, self.step_weight = loss_schedule(n_steps, self.net.dt_ms, self.warmup_ms)
        self.grads = {k: torch.zeros_like(p) for k, p in self.params.items()}
        self.traces: dict[int, dict[str, torch.Tensor]] = {}
        self.total_loss = 0.0
        self.bptt_loss: torch.Tensor | None = None
        self.steps_since_update = 0

    def prepare(self, state: NetworkState) -> NetworkState:
        return state if self.mode == "bptt" else detach_state(state)

    def observe(self, t: int, out: StepOutput, target_t: torch.Tensor | None) -> None:
        if target_t is None:
            raise ValueError("targets are required for learning")
        w_t = self.step_weight if t >= self.warm_steps else 0.0
        loss_t = step_loss(self.loss, out.layers[-1].x, target_t) * w_t
        value = float(loss_t.detach())
        if not math.isfinite(value):
            raise DivergenceError(t, value)
        self.total_loss += value
        if self.mode == "bptt":
            if self.net._grad_hooks:
                self._tap_bptt_grads(t, out)
            self.bptt_loss = loss_t if self.bptt_loss is None else self.bptt_loss + loss_t
            return
        step_grads = self._online_step(out, loss_t, w_t > 0)
        for k, g in step_grads.items():
            self.grads[k] += g
        if self.net._grad_hooks:
            self.net._call_grad_hooks(t, step_grads)
        self.steps_since_update += 1
        if self.update_every is not None and self.steps_since_update >= self.update_every:
            self._flush()

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
            if g_buckets is None:
                continue
            for pname, g in trace_gradients(self.traces[l], g_buckets, self._receiving_step(l)).items():
                key = f"layers.{l}.{pname}"
                step_grads[key] = step_grads[key] + g if key in step_grads else g
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
                self.net._call_grad_hooks(t, {f"layers.{l}.weight": g_w,
                                              f"layers.{l}.bucket_weight": g_v})
            step.w_eff.register_hook(hook)


def gradients(net: Network, inputs: torch.Tensor, targets: torch.Tensor, mode: str = "traces",
              loss: str = "mse", warmup_ms: float = 0.0,
              chunk_steps: int | None = None) -> dict[str, torch.Tensor]:
    """∂L/∂θ summed over the sequence, for every parameter name; the network is unchanged.
    ``chunk_steps``: as in :class:`Learner` (``None``: the per-step reference).

    Shape: inputs [T, B, n_in]; targets [T, B, n_out] (mse) or [B] / [T, B] labels (ce).
    """
    learner = Learner(net, mode, loss, warmup_ms, chunk_steps=chunk_steps)
    run(net, inputs, learner=learner, targets=targets, keep="none")
    return {k: g.detach().clone() for k, g in learner.grads.items()}


class Trainer:
    """Online training of a :class:`Network` with a torch optimizer.

    Args:
        mode, loss, warmup_ms: as in :class:`Learner`.
        lr: learning rate of Adam (or SGD with ``optimizer="sgd"``).
        update_every: optimizer step every this many time steps; ``None`` once per sequence.
        chunk_steps: steps computed at a time by the fast path (engine.chunked, the default;
            ignored in bptt); ``None``: step by step (the reference path).
        weight_decay: L2 penalty of the optimizer (Adam's or SGD's), >= 0.
        lr_schedule, total_updates: see :class:`LRSchedule` (``"cosine"`` decays lr to
            ``LR_FLOOR``·lr over ``total_updates`` optimizer steps).
    """

    def __init__(self, net: Network, mode: str = "traces", loss: str = "mse", lr: float = 1e-2,
                 optimizer: str = "adam", update_every: int | None = None, warmup_ms: float = 0.0,
                 chunk_steps: int | None = DEFAULT_CHUNK_STEPS, weight_decay: float = 0.0,
                 lr_schedule: str | None = None, total_updates: int | None = None):
        if not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
            raise ValueError(f"lr must be a finite number > 0 (got {lr!r})")
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd' (got {optimizer!r})")
        if (isinstance(weight_decay, bool) or not isinstance(weight_decay, (int, float))
                or not 0 <= weight_decay < float("inf")):
            raise ValueError(f"weight_decay must be a finite number >= 0 (got {weight_decay!r})")
        self.net = net
        opt_cls = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        self.optimizer = opt_cls(net.parameters(), lr=lr, weight_decay=weight_decay)
        self.schedule = LRSchedule(self.optimizer, lr_schedule, total_updates)
        self.learner = Learner(net, mode, loss, warmup_ms, update_every, on_update=self._apply,
                               chunk_steps=None if mode == "bptt" else chunk_steps)
        self.n_updates = 0

    @property
    def mode(self) -> str:
        return self.learner.mode

    def set_lr(self, lr: float) -> None:
        if not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
            raise ValueError(f"lr must be a finite number > 0 (got {lr!r})")
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def train_sequence(self, inputs: torch.Tensor, targets: torch.Tensor, keep: str = "output") -> SimResult:
        """Simulate one batch of sequences, learning online; returns the run's recordings."""
        return run(self.net, inputs, learner=self.learner, targets=targets, keep=keep)

    def _apply(self, grads: dict[str, torch.Tensor]) -> None:
        params = dict(self.net.named_parameters())
        for name, g in grads.items():
            if not torch.isfinite(g).all():
                raise DivergenceError(-1, float("nan"), what=f"gradient of {name}")
        saved = {n: p.detach().clone() for n, p in params.items()}
        for name, p in params.items():
            p.grad = grads[name].clone()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.step()
        if not all(torch.isfinite(p).all() for p in params.values()):
            with torch.no_grad():
                for n, p in params.items():
                    p.copy_(saved[n])
            raise DivergenceError(-1, float("nan"), what="parameter after the optimizer step")
        self.n_updates += 1
