"""Resolution explorer state: one trained network simulated at several dt, beside a LIF baseline.

No Panel. ``run()`` trains the SpikingGamma pattern network briefly (or uses ``network``, e.g. a
model exported from the Trainer), copies it per dt (``copy.deepcopy`` + ``set_dt``), simulates it,
and does the same with the LIF-BPTT baseline trained at 1 ms.
"""
from __future__ import annotations

import copy

import numpy as np
import param

DTS_MS = (2.0, 1.0, 0.5, 0.1)


class ResolutionModel(param.Parameterized):
    epochs = param.Integer(40, bounds=(1, 500), doc="training epochs at dt = 1 ms")
    seed = param.Integer(0, bounds=(0, 10**6), doc="network and task seed")
    status = param.String("press Run to train at dt = 1 ms and compare resolutions")
    results = param.Dict(default={}, doc="{'gamma': {dt: row}, 'lif': {dt: row}}")

    network = None  # an engine Network to use instead of training (e.g. uploaded)

    def run(self) -> dict:
        import torch

        from engine.experiment import Experiment
        from engine.simulate import simulate
        from engine.tasks import PatternTask
        from engine.tasks.spiketrains import bin_times, spike_times_ms

        from .lif_baseline import train_lif

        task = PatternTask(seed=self.seed)
        net = self.network
        if net is None:
            ex = Experiment(task, dt_ms=1.0, mode="spatial", seed=self.seed)
            for _ in range(self.epochs):
                ex.run_epoch()
            net = ex.net
        gamma, lif = {}, {}
        lif_net = train_lif(task, dt_ms=1.0, epochs=self.epochs, seed=self.seed)
        for dt in DTS_MS:
            copy_net = copy.deepcopy(net)
            copy_net._step_hooks.clear()
            copy_net.set_dt(dt)
            res = simulate(copy_net, task.batch(copy_net)[0])
            gamma[dt] = {"spike_ms": spike_times_ms(res.spikes[-1][:, 0], dt)[0].numpy(),
                         **task.metrics(res), "rate_hz": res.spikes_per_neuron_per_s()}
            inputs = bin_times(task.input_times(), dt, task.duration_ms).unsqueeze(1)
            with torch.no_grad():
                out, _, hid = lif_net(inputs, dt)
            from engine.tasks.spiketrains import match_spikes
            times = spike_times_ms(out[:, 0], dt)[0]
            matched = match_spikes(times, task.target_times()[0], task.tolerance_ms)
            lif[dt] = {"spike_ms": times.numpy(), "matched_fraction": matched / task.n_targets,
                       "output_spikes": int(out.sum()),
                       "rate_hz": float(hid.sum() + out.sum()) / (hid.shape[2] + out.shape[2])
                       / (task.duration_ms / 1000)}
        self.results = {"gamma": gamma, "lif": lif,
                        "target_ms": task.target_times()[0].numpy()}
        self.status = f"done: trained {self.epochs} epochs at 1 ms, simulated at {DTS_MS} ms"
        return self.results
