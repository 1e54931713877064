"""A training run of a task: network + trainer + task, advanced one epoch at a time.

The CLI and the workbench both drive this object; the workbench changes dt, thresholds and the
learning rate between epochs and training continues at the new setting.
"""
from __future__ import annotations

import math
import random
import time
from typing import Iterable

import torch

from .learn.losses import ramp_over
from .learn.trainer import Trainer
from .model.network import Network
from .tasks import make_task


class Experiment:
    """Train ``task`` with a fresh network.

    Args:
        task: a task object or name (``"pattern"``, ``"coincidence"``).
        dt_ms, mode, lr, seed: the run's settings (``lr=None``: the task's own); ``config_overrides`` go to the task's
            ``network_config``; ``update_every``, ``lr_schedule``, ``total_updates`` as in
            :class:`engine.Trainer`.
        spike_cost: weight of the hidden spike cost (:class:`engine.Learner`); ``None``: the
            task's own (``task.spike_cost``, 0 when it has none).
        spike_cost_ramp: epochs over which that weight grows from 0 (:class:`engine.Trainer`);
            ``None``: the task's (its ``spike_cost_ramp``, a fraction of its ``default_epochs``;
            0 when it has none).
        train_dt_ms: ``None`` (every epoch at ``dt_ms``), or several dt (ms) of which each
            epoch draws one (seeded): a network that has met several resolutions does not learn
            to rely on one grid's quantisation (output spikes just above threshold at 1 ms can
            move or vanish at 0.1 ms). The network returns to ``dt_ms`` after each epoch.
    """

    def __init__(self, task="pattern", dt_ms: float = 1.0, mode: str = "traces", lr: float | None = None,
                 seed: int = 0, update_every: int | None = None, train_dt_ms=None,
                 lr_schedule: str | None = None, total_updates: int | None = None,
                 spike_cost: float | None = None, spike_cost_ramp: int | None = None,
                 **config_overrides):
        if train_dt_ms is not None:
            train_dt_ms = tuple(dt_value(d, "train_dt_ms") for d in train_dt_ms)
            if not train_dt_ms:
                raise ValueError("train_dt_ms must be None or a non-empty list of dt in ms")
        self.train_dt_ms = train_dt_ms
        self._dt_draws = random.Random(seed)
        self.task = make_task(task, seed=seed) if isinstance(task, str) else task
        if spike_cost_ramp is None:
            spike_cost_ramp = task_spike_cost_ramp(self.task)
        torch.manual_seed(seed)
        self.net = Network(self.task.network_config(dt_ms, **config_overrides), seed=seed)
        self.trainer = Trainer(self.net, mode=mode, loss=self.task.loss, lr=lr or self.task.lr,
                               update_every=update_every, warmup_ms=self.task.warmup_ms,
                               lr_schedule=lr_schedule, total_updates=total_updates,
                               spike_cost=(getattr(self.task, "spike_cost", 0.0)
                                           if spike_cost is None else spike_cost),
                               spike_cost_ramp=spike_cost_ramp)
        self.epoch_index = 0
        self.history: list[dict] = []
        self.last_result = None
        self.last_batch = None

    @property
    def cfg(self):
        return self.net.cfg

    def set_dt(self, dt_ms: float) -> None:
        """Train at a new resolution from the next epoch on (parameters are in ms)."""
        self.net.set_dt(dt_ms)

    def run_epoch(self) -> dict:
        """One training sequence (one batch); returns its loss and the task's metric."""
        start = time.perf_counter()
        home_dt = self.net.dt_ms
        if self.train_dt_ms is not None:
            self.net.set_dt(self._dt_draws.choice(self.train_dt_ms))
        try:
            inputs, targets = self.task.batch(self.net, self.epoch_index)
            result = self.trainer.train_sequence(inputs, targets, keep="all")
        finally:
            self.net.set_dt(home_dt)
        if self.task.loss == "ce":
            metrics = self.task.metrics(result, targets)
        else:
            metrics = self.task.metrics(result)
        row = {"epoch": self.epoch_index, "dt_ms": result.dt_ms, "loss": result.loss,
               **metrics, "spikes_per_neuron_per_s": result.spikes_per_neuron_per_s(
                   batch_size=inputs.shape[1]),
               "wall_s": time.perf_counter() - start}
        self.last_result, self.last_batch = result, (inputs, targets)
        self.history.append(row)
        self.epoch_index += 1
        return row

    def evaluate(self) -> dict:
        return self.task.evaluate(self.net)


def task_spike_cost_ramp(task, epochs: int | None = None) -> int:
    """The task's spike cost ramp in epochs: its ``spike_cost_ramp``, a fraction (0 when it has
    none), of ``epochs`` (``None``: its ``default_epochs``)."""
    if epochs is None:
        epochs = getattr(task, "default_epochs", 0)
    return ramp_over(getattr(task, "spike_cost_ramp", 0.0), epochs)


def test_at_dt(task, net: Network, dts_ms: Iterable) -> dict[str, dict]:
    """The trained ``net`` evaluated at each dt in ``dts_ms`` (the same inputs in ms, re-binned):
    ``{str(dt): task.evaluate(copy at dt)}``, each with ``spikes_per_neuron_per_s``. Keys are the
    values as given (strings stay as they are, e.g. from the command line); ``net`` is unchanged."""
    values = [(dt, dt_value(dt, "test dt_ms")) for dt in dts_ms]  # all checked before any run
    return {dt if isinstance(dt, str) else f"{value:g}": task.evaluate(net.copy_at_dt(value))
            for dt, value in values}


def dt_value(dt, field: str) -> float:
    """``dt`` (a number or its text) as a float in ms; ValueError naming ``field`` unless > 0."""
    try:
        value = float(dt)
    except (TypeError, ValueError):
        value = float("nan")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{field} must be a finite number > 0 in ms (got {dt!r})")
    return value
