"""Resolution explorer state: one trained network run at several dt, beside LIF baselines.

No Panel. The networks are the pattern task's, trained at dt = 1 ms: SpikingGamma (``spatial``),
the same with impulse inputs instead of the task's input synapse (``input_synapse_ms = 0``,
engine.input_synapse: what the synapse is for), and LIF with surrogate gradients (BPTT, OTTT). The first run of a seed trains them
(:meth:`ResolutionModel.train`, reporting ``progress``) and stores them in a cache folder outside
the repository (``$SPIKINGGAMMA_CACHE_DIR``, default ``~/.cache/spikinggamma/resolution``); later
sessions and server restarts load that run when it matches the engine's configuration.
:meth:`compare` runs every network at each of ``DTS_MS`` with :func:`engine.experiment.test_at_dt`
(the function ``spikinggamma train --test-dt-ms`` and ``bench resolution`` use), and
:meth:`probe` runs them at one test dt.
"""
from __future__ import annotations

import os
import threading

import param

DTS_MS = (2.0, 1.0, 0.5, 0.25, 0.1)
TEST_DT_BOUNDS = (0.05, 2.0)
LIF_KINDS = {"lif-bptt": "bptt", "lif-ottt": "ottt"}
#: SpikingGamma networks: name -> NetworkConfig overrides of the task's defaults
SG_KINDS = {"sg-spatial": {}, "sg-impulses": {"input_synapse_ms": 0.0}}
KINDS = (*SG_KINDS, *LIF_KINDS)
CACHE_ENV = "SPIKINGGAMMA_CACHE_DIR"
DEFAULT_EPOCHS = 150

_CACHE: dict = {}  # (seed, epochs) -> trained networks, shared by the server's sessions
_CACHE_LOCK = threading.Lock()


def store_dir() -> str:
    """Where trained explorer networks are kept: ``$SPIKINGGAMMA_CACHE_DIR/resolution`` or
    ``~/.cache/spikinggamma/resolution`` (generated files, never in the repository)."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "spikinggamma")
    return os.path.join(root, "resolution")


def store_path(seed: int, epochs: int, kind: str) -> str:
    return os.path.join(store_dir(), f"pattern_seed{seed}_epochs{epochs}_{kind}.pt")


class ResolutionModel(param.Parameterized):
    epochs = param.Integer(DEFAULT_EPOCHS, bounds=(1, 500), doc="training epochs at dt = 1 ms")
    seed = param.Integer(0, bounds=(0, 10**6), doc="network and task seed")
    test_dt_ms = param.Number(0.05, bounds=TEST_DT_BOUNDS, doc="the test dt of the probe (ms)")
    status = param.String("")
    progress = param.Integer(0, bounds=(0, 100), doc="training progress (%)")
    results = param.Dict(default={}, doc="{'dts': {model: {dt key: metrics}}, ...}")
    probe_results = param.Dict(default={}, doc="{model: metrics} at test_dt_ms")

    network = None  # an engine Network to use instead of training (e.g. uploaded)

    def task(self):
        from engine.tasks import PatternTask
        return PatternTask(seed=self.seed)

    # ------------------------------------------------------------------ networks
    def networks(self) -> dict:
        """{"sg-spatial": Network, "sg-impulses": Network, "lif-bptt": LIFNetwork, "lif-ottt":
        LIFNetwork} trained at 1 ms:
        this session's uploaded network, the server's cache, the stored run, or a new training
        (then stored)."""
        key = (self.seed, self.epochs)
        with _CACHE_LOCK:
            nets = _CACHE.get(key) or self._load_stored()
            if nets is None:
                nets = self.train()
                self._store(nets)
            _CACHE[key] = nets
        if self.network is not None:
            nets = {**nets, "sg-spatial": self.network}
        return nets

    def _load_stored(self) -> dict | None:
        import torch

        from engine.baselines import LIFConfig, LIFNetwork
        from engine.network import Network
        paths = {kind: store_path(self.seed, self.epochs, kind) for kind in KINDS}
        if not all(os.path.exists(p) for p in paths.values()):
            return None
        nets = {}
        for kind, overrides in SG_KINDS.items():
            nets[kind] = Network.load(paths[kind])
            if nets[kind].cfg != self.task().network_config(1.0, **overrides):
                return None  # stored with other engine defaults
        for kind in LIF_KINDS:
            blob = torch.load(paths[kind], map_location="cpu", weights_only=True)
            lif = LIFNetwork(LIFConfig(**blob["config"]))
            lif.load_state_dict(blob["state_dict"])
            nets[kind] = lif
        self.status = f"loaded the stored run ({store_dir()})"
        return nets

    def train(self) -> dict:
        """Train SpikingGamma and the two LIF baselines at 1 ms, updating ``progress``."""
        from engine.bench.resolution import train_lif_pattern
        from engine.experiment import Experiment

        task, total = self.task(), len(KINDS) * self.epochs
        self.progress = 0

        def tick(done):
            self.progress = min(100, int(100 * done / total))

        nets = {}
        for j, (kind, overrides) in enumerate(SG_KINDS.items()):
            ex = Experiment(task, dt_ms=1.0, mode="spatial", seed=self.seed, **overrides)
            self.status = f"training {kind} at dt = 1 ms ({self.epochs} epochs)…"
            for i in range(self.epochs):
                ex.run_epoch()
                tick(j * self.epochs + i + 1)
            nets[kind] = ex.net
        for j, (kind, mode) in enumerate(LIF_KINDS.items(), start=len(SG_KINDS)):
            self.status = f"training {kind.upper()} at dt = 1 ms…"
            nets[kind] = train_lif_pattern(task, 1.0, self.epochs, self.seed, mode=mode,
                                           on_epoch=lambda i, j=j: tick(j * self.epochs + i + 1))
        self.progress = 100
        return nets

    def _store(self, nets: dict) -> None:
        """Write trained networks to :func:`store_dir` atomically; a folder that cannot be
        written only costs the next session a training."""
        import dataclasses

        import torch

        from engine.checkpoint import atomic_path
        try:
            os.makedirs(store_dir(), exist_ok=True)
            for kind in SG_KINDS:
                nets[kind].save(store_path(self.seed, self.epochs, kind))
            for kind in LIF_KINDS:
                with atomic_path(store_path(self.seed, self.epochs, kind)) as tmp:
                    torch.save({"config": dataclasses.asdict(nets[kind].cfg),
                                "state_dict": nets[kind].state_dict()}, tmp)
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
            if kind in SG_KINDS:
                out[kind] = test_at_dt(task, nets[kind], [f"{dt:g}" for dt in dts])
            else:
                lif = copy.deepcopy(nets[kind])
                out[kind] = {f"{dt:g}": lif_pattern_metrics(lif, task, dt) for dt in dts}
        return out

    def compare(self) -> dict:
        """Every network at each of ``DTS_MS``; also the bucket kernels in ms at each dt."""
        from engine.buckets import gamma_kernels
        nets = self.networks()
        key = (self.seed, self.epochs, id(nets["sg-spatial"]))
        with _CACHE_LOCK:
            runs = _CACHE.get(("runs", key))
        if runs is None:
            runs = self._run_at(nets, DTS_MS)
            with _CACHE_LOCK:
                _CACHE[("runs", key)] = runs
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


def table_rows(results: dict, probe: dict | None = None) -> list[dict]:
    """One row per model and dt: score, matched, spurious, spikes/s (the page's table)."""
    rows = []
    for kind, per_dt in results.get("dts", {}).items():
        for dt, m in per_dt.items():
            rows.append({"model": kind, "dt (ms)": dt, "match score": round(m["match_score"], 3),
                         "matched": f"{round(m['matched_fraction'] * m['target_spikes'])}/{m['target_spikes']}",
                         "spurious": m["spurious_spikes"],
                         "hidden spikes/s": round(m["hidden_spikes_per_neuron_per_s"], 1),
                         "output spikes/s": round(m["output_spikes_per_neuron_per_s"], 1)})
    return rows


if __name__ == "__main__":
    import argparse

    import torch

    parser = argparse.ArgumentParser(description="train (or load) and print the Resolution "
                                                 "explorer's run; the trained networks are stored "
                                                 f"under ${CACHE_ENV} or ~/.cache/spikinggamma")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = ResolutionModel(seed=args.seed, epochs=args.epochs)
    for row in table_rows(model.compare()):
        print(row)
