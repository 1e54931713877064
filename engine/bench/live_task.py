"""A real data set as a task for :class:`engine.experiment.Experiment` (the workbench's real-data
presets): one training batch per epoch, per-step cross-entropy on a linear readout, accuracy."""
from __future__ import annotations

import functools
import os

from ..data import DATA_ENV, DataNotFoundError
from .models import predictions_correct
from .tasks import make_task

DATASETS = ("qtdb", "fsdd", "nmnist", "smnist")


def available(data_dir: str | None = None) -> list[str]:
    """The data sets found under ``data_dir`` (default $SPIKINGGAMMA_DATA_DIR); [] when unset."""
    root = data_dir or os.environ.get(DATA_ENV)
    return list(_available(root)) if root else []


@functools.lru_cache(maxsize=8)
def _available(root: str) -> tuple[str, ...]:
    from ..data import load
    found = []
    for name in DATASETS:
        try:
            load(name, data_dir=root, split="test")
        except (DataNotFoundError, OSError, ValueError):
            continue
        found.append(name)
    return tuple(found)


@functools.lru_cache(maxsize=16)
def data_task(name: str, n_hidden: int = 128, seed: int = 0) -> "DataTask":
    """A shared :class:`DataTask` (loading a data set takes a second; tasks hold no state); the
    live workbench scores 100 test samples, not the whole split."""
    return DataTask(name, n_hidden=n_hidden, seed=seed, n_test=100)


class DataTask:
    """``name`` in DATASETS; ``n_hidden`` hidden neurons; ``seed`` (the network's; batches follow
    the benchmark's seeded order); ``n_test``: test samples scored (``None``: the whole official
    test split). One epoch of an Experiment is one batch; the data set's
    :class:`engine.bench.tasks.Recipe` gives the defaults ``default_dt_ms``, ``default_epochs``
    (batches), ``default_mode``, ``lr`` and ``lr_schedule``. Shapes: inputs [T, B, n_channels]; labels [B] or [T, B]."""

    loss = "ce"
    score_name = "accuracy"

    def __init__(self, name: str, n_hidden: int = 128, seed: int = 0, data_dir: str | None = None,
                 n_test: int | None = None):
        if name not in DATASETS:
            raise ValueError(f"data set must be one of {DATASETS} (got {name!r})")
        self.name, self.n_hidden, self.seed = name, n_hidden, seed
        self.bench = make_task(name, quick=False, data_dir=data_dir,
                               n_test=n_test or 10**9)  # None: every test sample
        self.warmup_ms = self.bench.warmup_ms
        recipe = self.bench.recipe
        self.lr, self.lr_schedule, self.default_dt_ms = recipe.lr, recipe.lr_schedule, recipe.dt_ms
        self.default_mode = recipe.mode
        self.default_epochs = recipe.epochs * self.bench.batches_per_epoch

    def network_config(self, dt_ms: float = 1.0, **overrides):
        return self.bench.sg_config(dt_ms, (self.n_hidden,), **overrides)

    def batch(self, net, epoch: int = 0):
        return self.bench.train_batch(net.dt_ms, epoch)

    def metrics(self, result, labels) -> dict:
        correct, total = predictions_correct(result.preacts[-1], labels, result.dt_ms, self.warmup_ms)
        return {"accuracy": correct / max(total, 1.0)}

    def evaluate(self, net) -> dict:
        from ..chunked import DEFAULT_CHUNK_STEPS
        from ..simulate import simulate
        correct = total = spikes = neuron_s = 0.0
        for inputs, labels in self.bench.test_chunks(net.dt_ms):
            result = simulate(net, inputs, keep="output", chunk_steps=DEFAULT_CHUNK_STEPS)
            c, t = predictions_correct(result.preacts[-1], labels, net.dt_ms, self.warmup_ms)
            correct, total = correct + c, total + t
            spikes += float(result.spike_counts[0].sum())  # the hidden layer
            neuron_s += self.n_hidden * inputs.shape[0] * net.dt_ms / 1000.0 * inputs.shape[1]
        return {"accuracy": correct / max(total, 1.0),
                "spikes_per_neuron_per_s": spikes / max(neuron_s, 1e-12)}
