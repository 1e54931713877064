"""Gradient lab state: the hidden layer's weight gradient of one sequence, step by step, under the
three learning modes (``spatial``, ``traces``, ``bptt``), read through gradient taps. No Panel.

The per-step contributions are the engine's ``layers.0.weight.grad`` tap (a Recorder on
:func:`engine.gradients`); they add up to the sequence gradient. Equations: MODEL.md §3 and
``engine/learn/learner.py`` / ``engine/learn/traces.py``.
"""
from __future__ import annotations

import numpy as np
import param

MODES = ("spatial", "traces", "bptt")


class GradientLabModel(param.Parameterized):
    parameter = param.Selector(objects=["weight", "bucket_weight"], default="weight",
                               doc="hidden-layer parameter: weights w or bucket weights v")
    hidden = param.Integer(1, bounds=(0, 7), doc="hidden neuron whose parameters are summed")
    seed = param.Integer(0, bounds=(0, 1000), doc="network and input seed")
    n_hidden = 8
    duration_ms = 100.0
    dt_ms = 1.0

    @param.depends("parameter", "hidden", "seed")
    def compute(self) -> dict:
        """Per-step gradient of the chosen hidden neuron's parameters (summed), per mode (float64)."""
        import torch

        from engine import Network, NetworkConfig, Recorder, gradients
        from engine.tasks.spiketrains import bin_times, poisson_times

        gen = torch.Generator().manual_seed(self.seed)
        n_in, n_steps = 10, int(round(self.duration_ms / self.dt_ms))
        trains = poisson_times(n_in, 40.0, self.duration_ms, gen)
        inputs = bin_times(trains, self.dt_ms, self.duration_ms).unsqueeze(1).double()  # [T, 1, n_in]
        t_ms = np.arange(n_steps) * self.dt_ms
        target = torch.as_tensor(0.5 + 0.5 * np.sin(2 * np.pi * t_ms / 50.0)).reshape(-1, 1, 1)
        cfg = NetworkConfig(sizes=(n_in, self.n_hidden, 1), dt_ms=self.dt_ms, tau_ms=5.0,
                            n_buckets=4, threshold=0.05,
                            weight_gain=(10.0, 1.0), dtype="float64")
        steps, totals = {}, {}
        for mode in MODES:
            net = Network(cfg, seed=self.seed)
            name = f"layers.0.{self.parameter}"
            with Recorder(net, [name + ".grad"]) as rec:
                totals[mode] = gradients(net, inputs, target, mode=mode)[name]
            per_step = rec[name + ".grad"][:, self.hidden]  # [T, n_in] or [T, K]
            steps[mode] = per_step.sum(-1).numpy()  # [T]
        ref = totals["bptt"].flatten()
        cosine = {m: float(torch.nn.functional.cosine_similarity(totals[m].flatten(), ref, dim=0))
                  for m in MODES}
        rel = {m: float((totals[m] - totals["bptt"]).norm() / ref.norm()) for m in MODES}
        return {"time_ms": t_ms, "per_step": steps,
                "cumulative": {m: np.cumsum(s) for m, s in steps.items()},
                "cosine_to_bptt": cosine, "relative_error": rel}
