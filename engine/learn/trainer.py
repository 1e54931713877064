"""Online training of a :class:`engine.Network`: a :class:`Trainer` applies the gradients of its
:class:`engine.learn.learner.Learner` with a torch optimizer, every ``update_every`` steps."""
from __future__ import annotations

import torch

from ..errors import DivergenceError
from ..model.network import Network
from ..run.simulate import DEFAULT_CHUNK_STEPS, SimResult, run
from .learner import Learner
from .losses import check_spike_cost, check_spike_cost_ramp, ramped_spike_cost

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


class Trainer:
    """Online training of a :class:`Network` with a torch optimizer.

    Args:
        mode, loss, warmup_ms: as in :class:`Learner`.
        lr: learning rate of Adam (or SGD with ``optimizer="sgd"``).
        update_every: optimizer step every this many time steps; ``None`` once per sequence.
        chunk_steps: steps computed at a time by the fast path (:func:`engine.run.simulate.run`,
            the default; ignored in bptt); ``None``: step by step (the reference path).
        weight_decay: L2 penalty of the optimizer (Adam's or SGD's), >= 0.
        spike_cost: weight of the hidden spike cost (:class:`Learner`), >= 0.
        spike_cost_ramp: training sequences over which that weight grows linearly from 0
            (:func:`engine.learn.losses.ramped_spike_cost`); 0: the full weight from the start.
        lr_schedule, total_updates: see :class:`LRSchedule` (``"cosine"`` decays lr to
            ``LR_FLOOR``·lr over ``total_updates`` optimizer steps).
    """

    def __init__(self, net: Network, mode: str = "traces", loss: str = "mse", lr: float = 1e-2,
                 optimizer: str = "adam", update_every: int | None = None, warmup_ms: float = 0.0,
                 chunk_steps: int | None = DEFAULT_CHUNK_STEPS, weight_decay: float = 0.0,
                 lr_schedule: str | None = None, total_updates: int | None = None,
                 spike_cost: float = 0.0, spike_cost_ramp: int = 0):
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
        if chunk_steps is not None and (isinstance(chunk_steps, bool) or not isinstance(chunk_steps, int)
                                        or chunk_steps < 1):
            raise ValueError(f"chunk_steps must be an integer >= 1 or None (got {chunk_steps!r})")
        self.learner = Learner(net, mode, loss, warmup_ms, update_every, on_update=self._apply)
        self.set_spike_cost_ramp(spike_cost_ramp)
        self.set_spike_cost(spike_cost)
        self.chunk_steps = None if mode == "bptt" else chunk_steps
        self.n_updates = self.n_sequences = 0

    @property
    def mode(self) -> str:
        return self.learner.mode

    def set_lr(self, lr: float) -> None:
        if not (isinstance(lr, (int, float)) and 0 < lr < float("inf")):
            raise ValueError(f"lr must be a finite number > 0 (got {lr!r})")
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def set_spike_cost(self, spike_cost: float) -> None:
        """A new weight of the hidden spike cost, from the next sequence on (still ramped while
        the ramp lasts)."""
        check_spike_cost(spike_cost)
        self.spike_cost = float(spike_cost)

    def set_spike_cost_ramp(self, spike_cost_ramp: int) -> None:
        """A new ramp (training sequences, counted from the run's first): the weight from the next
        sequence on is ``spike_cost`` · min(1, sequences trained / ramp)."""
        check_spike_cost_ramp(spike_cost_ramp)
        self.spike_cost_ramp = spike_cost_ramp

    def train_sequence(self, inputs: torch.Tensor, targets: torch.Tensor, keep: str = "output") -> SimResult:
        """Simulate one batch of sequences, learning online; returns the run's recordings."""
        self.learner.set_spike_cost(ramped_spike_cost(self.spike_cost, self.spike_cost_ramp,
                                                      self.n_sequences))
        self.n_sequences += 1
        return run(self.net, inputs, learner=self.learner, targets=targets, keep=keep,
                   chunk_steps=self.chunk_steps)

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
