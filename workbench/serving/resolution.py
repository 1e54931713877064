"""The Resolution explorer's networks and runs: its settings
(:class:`~workbench.models.resolution.ResolutionModel`) with the networks behind them.

The networks are the pattern task's, trained at dt = 1 ms: SpikingGamma (``spatial``), the same
with impulse inputs instead of the task's input synapse (``input_synapse_ms = 0``: what the
synapse is for), and LIF with surrogate gradients (BPTT, OTTT). The first run of a seed trains
them (:meth:`ResolutionExplorer.train`, reporting ``progress``) and stores them
(:mod:`workbench.serving.resolution_store`); later sessions and server restarts load that run
when it was trained with today's settings. :meth:`~ResolutionExplorer.compare` runs every network
at each of ``DTS_MS`` with :func:`engine.experiment.test_at_dt` (the function ``spikinggamma
train --test-dt-ms`` and ``bench resolution`` use), and :meth:`~ResolutionExplorer.probe` runs
them at one test dt. The page calls these in a background thread (``pages/resolution.py``).

    python -m workbench.serving.resolution --seed 0     # fill the store ahead of a class
"""
from __future__ import annotations

from ..models.resolution import (DEFAULT_EPOCHS, DTS_MS, KINDS, LIF_KINDS, SG_KINDS,  # noqa: F401
                                 TEST_DT_BOUNDS, ResolutionModel, table_rows)
from . import classroom
from . import resolution_store as store

__all__ = ["ResolutionExplorer"]


class ResolutionExplorer(ResolutionModel):
    """The explorer's settings (inherited params) and the trained networks behind them."""

    network = None  # an engine Network to use instead of training (e.g. uploaded)

    # ------------------------------------------------------------------ networks
    def networks(self) -> dict:
        """{"sg-spatial": Network, "sg-impulses": Network, "lif-bptt": LIFNetwork, "lif-ottt":
        LIFNetwork} trained at 1 ms: this session's uploaded network, the server's memory, the
        stored run, or a new training (then stored)."""
        recipes = store.run_recipes(self.task(), self.seed, self.epochs)
        key = (self.seed, self.epochs, store.digest(recipes))
        with store.LOCK:
            nets = store.MEMORY.get(key) or self._load_stored(recipes)
            if nets is None:
                nets = self.train()
                self._store(nets, recipes)
            store.MEMORY[key] = nets
        if self.network is not None:
            nets = {**nets, "sg-spatial": self.network}
        return nets

    def _load_stored(self, recipes: dict) -> dict | None:
        nets = store.load(self.seed, self.epochs, recipes)
        if nets is not None:
            self.status = f"loaded the stored run ({store.store_dir()})"
        return nets

    def train(self) -> dict:
        """Train SpikingGamma and the two LIF baselines at 1 ms, updating ``progress``."""
        from engine.bench.resolution import train_lif_pattern
        from engine.experiment import Experiment

        task, total = self.task(), len(KINDS) * self.epochs
        self.progress = 0

        def tick(done):
            classroom.check_stopping()  # the server is shutting down: stop between epochs
            self.progress = min(100, int(100 * done / total))

        nets = {}
        for j, (kind, overrides) in enumerate(SG_KINDS.items()):
            ex = Experiment(task, dt_ms=store.TRAIN_DT_MS, mode=store.SG_MODE, seed=self.seed,
                            **overrides)
            self.status = f"training {kind} at dt = 1 ms ({self.epochs} epochs)…"
            for i in range(self.epochs):
                ex.run_epoch()
                tick(j * self.epochs + i + 1)
            nets[kind] = ex.net
        for j, (kind, mode) in enumerate(LIF_KINDS.items(), start=len(SG_KINDS)):
            self.status = f"training {kind.upper()} at dt = 1 ms…"
            nets[kind] = train_lif_pattern(task, store.TRAIN_DT_MS, self.epochs, self.seed,
                                           mode=mode,
                                           on_epoch=lambda i, j=j: tick(j * self.epochs + i + 1))
        self.progress = 100
        return nets

    def _store(self, nets: dict, recipes: dict) -> None:
        """A folder that cannot be written only costs the next session a training."""
        try:
            store.save(nets, self.seed, self.epochs, recipes)
        except OSError as err:
            self.status = f"trained (not stored: {err})"

    # ------------------------------------------------------------------ runs
    def _run_at(self, nets: dict, dts, kinds=KINDS) -> dict:
        import copy

        from engine.bench.resolution import lif_pattern_metrics
        from engine.experiment import test_at_dt
        task = self.task()
        out = {}
        for kind in kinds:
            classroom.check_stopping()  # the server is shutting down: stop between networks
            if kind in SG_KINDS:
                out[kind] = test_at_dt(task, nets[kind], [f"{dt:g}" for dt in dts])
            else:
                lif = copy.deepcopy(nets[kind])
                out[kind] = {f"{dt:g}": lif_pattern_metrics(lif, task, dt) for dt in dts}
        return out

    def compare(self) -> dict:
        """Every network at each of ``DTS_MS``; also the bucket kernels in ms at each dt."""
        from engine.model.buckets import gamma_kernels
        nets = self.networks()
        key = ("runs", self.seed, self.epochs, id(nets["sg-spatial"]))
        with store.LOCK:
            runs = store.MEMORY.get(key)
        if runs is None:
            runs = self._run_at(nets, DTS_MS)
            with store.LOCK:
                store.MEMORY[key] = runs
        layer = nets["sg-spatial"].layers[0]
        tau = layer.tau_ms.detach().double()
        horizon = 4 * float(tau.sum())
        kernels = {}
        for dt in DTS_MS:
            h = gamma_kernels(dt, tau, horizon, discretisation=nets["sg-spatial"].cfg.discretisation)
            kernels[f"{dt:g}"] = {"time_ms": ((h.new_tensor(range(h.shape[0])) + 0.5) * dt).numpy(),
                                  "values": h.numpy()}
        task = self.task()
        self.results = {"dts": runs, "kernels": kernels,
                        "target_ms": [t.tolist() for t in task.target_times()],
                        "tolerance_ms": task.tolerance_ms}
        self.status = (f"trained {self.epochs} epochs at dt = 1 ms (seed {self.seed}); "
                       f"run at {', '.join(f'{d:g}' for d in DTS_MS)} ms")
        return self.results

    def probe(self, dt_ms: float | None = None, kinds=KINDS) -> dict:
        """The networks ``kinds`` at one test dt (``test_dt_ms``), e.g. from the slider; results
        for other kinds at another dt are dropped."""
        dt = float(self.test_dt_ms if dt_ms is None else dt_ms)
        lo, hi = TEST_DT_BOUNDS
        if not lo <= dt <= hi:
            raise ValueError(f"test dt_ms must be in [{lo}, {hi}] ms (got {dt})")
        runs = self._run_at(self.networks(), [dt], kinds)
        kept = {k: v for k, v in self.probe_results.items() if v["dt_ms"] == dt}
        self.probe_results = kept | {kind: next(iter(r.values())) | {"dt_ms": dt}
                                     for kind, r in runs.items()}
        return self.probe_results


if __name__ == "__main__":
    import argparse

    import torch

    parser = argparse.ArgumentParser(description="train (or load) and print the Resolution "
                                                 "explorer's run; the trained networks are stored "
                                                 f"under ${store.CACHE_ENV} or ~/.cache/spikinggamma")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    explorer = ResolutionExplorer(seed=args.seed, epochs=args.epochs)
    for row in table_rows(explorer.compare()):
        print(row)
