"""Every model in the benchmarks behind one interface: train on a batch, evaluate on a batch.

Kinds: ``sg-spatial``, ``sg-traces``, ``sg-bptt`` (SpikingGamma, :class:`engine.Trainer`),
``lif-bptt``, ``lif-ottt`` (:mod:`engine.baselines`), ``snntorch`` (the peer, BPTT).

Metrics are computed the same way for all: prediction = argmax of the logits summed after the
warm-up (one label per sample) or per step (per-step labels); spikes per neuron per second over
the spiking hidden layers; synaptic operations per sample = Σ_layers (spikes into the layer) ×
(its fan-out n_out), input events included.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from ..run.simulate import hardware_counts
from ..tasks.datasets import predictions_correct

KINDS = ("sg-spatial", "sg-traces", "sg-bptt", "lif-bptt", "lif-ottt", "snntorch")


class EvalOut(NamedTuple):
    correct: float       # correct predictions (samples, or labelled steps)
    total: float         # predictions made
    hidden_spikes: float
    hidden_neuron_s: float  # Σ over hidden neurons of simulated seconds (× batch)
    synops: float        # summed over the batch
    n_samples: int
    output_spikes: float  # of the output layer (0 for a non-spiking readout)
    output_neuron_s: float


class BenchModel:
    """A model of ``kind`` for ``task`` (a :class:`engine.tasks.datasets.BenchTask`) at ``dt_ms``."""

    def __init__(self, kind: str, task, dt_ms: float, hidden=(64,), lr: float = 1e-2, seed: int = 0,
                 sg_extra: dict | None = None, lif_extra: dict | None = None,
                 lr_schedule: str | None = None, total_updates: int | None = None,
                 spike_cost: float = 0.0, spike_cost_ramp: int = 0):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS} (got {kind!r})")
        self.kind, self.task, self.hidden = kind, task, tuple(hidden)
        torch.manual_seed(seed)
        if kind.startswith("sg-"):
            from ..learn.trainer import Trainer
            from ..model.network import Network
            self.net = Network(task.sg_config(dt_ms, self.hidden, **(sg_extra or {})), seed=seed)
            self.trainer = Trainer(self.net, mode=kind[3:], loss="ce", lr=lr, warmup_ms=task.warmup_ms,
                                   spike_cost=spike_cost, spike_cost_ramp=spike_cost_ramp)
        elif kind.startswith("lif-"):
            from ..baselines import LIFNetwork, LIFTrainer
            self.net = LIFNetwork(task.lif_config(dt_ms, self.hidden, **(lif_extra or {})), seed=seed)
            self.trainer = LIFTrainer(self.net, mode=kind[4:], loss="ce", lr=lr, warmup_ms=task.warmup_ms,
                                      spike_cost=spike_cost, spike_cost_ramp=spike_cost_ramp)
        elif spike_cost:
            raise ValueError("spike_cost: the snnTorch peer has none")
        else:
            from ..baselines import snntorch_peer
            if not snntorch_peer.available():
                raise ImportError("snnTorch is not installed (pip install snntorch): row skipped")
            cfg = task.lif_config(dt_ms, self.hidden, **(lif_extra or {}))
            self.net = snntorch_peer.SnnTorchNet(cfg.sizes, dt_ms, cfg.tau_mem_ms, cfg.tau_out_ms,
                                                 cfg.threshold, cfg.slope, seed)
            self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr)
        from ..learn.trainer import LRSchedule
        # one optimizer step per training batch for every kind, so one schedule fits all
        optimizer = self.optimizer if kind == "snntorch" else self.trainer.optimizer
        self.schedule = LRSchedule(optimizer, lr_schedule, total_updates)
        self._dt = dt_ms

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def set_dt(self, dt_ms: float) -> None:
        if self.kind == "snntorch":
            raise ValueError("the snnTorch peer fixes β at construction; build a new one")
        self.net.set_dt(dt_ms)
        self._dt = dt_ms

    def train_batch(self, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        loss = self._train_batch(inputs, labels)
        self.schedule.step()
        return loss

    def _train_batch(self, inputs: torch.Tensor, labels: torch.Tensor) -> float:
        if self.kind.startswith("sg-"):
            return self.trainer.train_sequence(inputs, labels, keep="none").loss
        if self.kind.startswith("lif-"):
            return self.trainer.train_sequence(inputs, labels, keep_logits=False).loss
        from ..baselines import snntorch_peer
        return snntorch_peer.train_sequence(self.net, self.optimizer, inputs, labels, self.task.warmup_ms)

    def evaluate_batch(self, inputs: torch.Tensor, labels: torch.Tensor) -> EvalOut:
        dt, batch = self._dt, inputs.shape[1]
        seconds = inputs.shape[0] * dt / 1000.0 * batch
        events = float(inputs.sum())
        sizes = (self.task.n_in, *self.hidden, self.task.n_classes)
        if self.kind.startswith("sg-"):
            from ..run.simulate import simulate
            res = simulate(self.net, inputs, keep="output")
            logits = res.preacts[-1]
            hidden_counts = [float(c.sum()) for c in res.spike_counts[:-1]]
            output = float(res.spike_counts[-1].sum())
        elif self.kind.startswith("lif-"):
            from ..baselines import run_lif
            res = run_lif(self.net, inputs)
            logits = res.logits
            hidden_counts = [float(c.sum()) for c in res.spike_counts[:len(self.hidden)]]
            output = sum(float(c.sum()) for c in res.spike_counts[len(self.hidden):])
        else:
            with torch.no_grad():
                logits = self.net(inputs)
            hidden_counts = [float("nan")] * len(self.hidden)
            output = float("nan")
        correct, total = predictions_correct(logits, labels, dt, self.task.warmup_ms)
        synops = hardware_counts(sizes[1:], events, hidden_counts, 0.0, inputs.shape[0], dt,
                                 batch)["synops_per_sample"] * batch
        return EvalOut(correct, total, sum(hidden_counts), sum(self.hidden) * seconds, synops, batch,
                       output, sizes[-1] * seconds)

    def evaluate(self, chunks) -> dict:
        """Accuracy (%), hidden and output spikes per neuron per second, synaptic ops per sample."""
        outs = [self.evaluate_batch(x, y) for x, y in chunks]
        n = sum(o.n_samples for o in outs)
        return {"accuracy": 100.0 * sum(o.correct for o in outs) / max(sum(o.total for o in outs), 1),
                "spikes_per_neuron_per_s": sum(o.hidden_spikes for o in outs) /
                max(sum(o.hidden_neuron_s for o in outs), 1e-12),
                "output_spikes_per_neuron_per_s": sum(o.output_spikes for o in outs) /
                max(sum(o.output_neuron_s for o in outs), 1e-12),
                "synops_per_sample": sum(o.synops for o in outs) / max(n, 1)}
