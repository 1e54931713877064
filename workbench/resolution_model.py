"""Resolution explorer state: one trained network simulated at several dt, beside a LIF baseline.

No Panel. ``run()`` trains the SpikingGamma pattern network briefly (or uses ``network``, e.g. a
model exported from the Trainer), copies it per dt (``copy.deepcopy`` + ``set_dt``), simulates it,
and does the same with the LIF-BPTT baseline trained at 1 ms.
"""
from __future__ import annotations

import copy

import param

DTS_MS = (2.0, 1.0, 0.5, 0.1)


class ResolutionModel(param.Parameterized):
    epochs = param.Integer(40, bounds=(1, 500), doc="training epochs at dt = 1 ms")
    seed = param.Integer(0, bounds=(0, 10**6), doc="network and task seed")
    status = param.String("press Run to train at dt = 1 ms and compare resolutions")
    results = param.Dict(default={}, doc="{'gamma': {dt: row}, 'lif': {dt: row}}")

    network = None  # an engine Network to use instead of training (e.g. uploaded)

    def run(self) -> dict:
        from engine.experiment import Experiment
        from engine.simulate import simulate
        from engine.tasks import PatternTask
        from engine.tasks.spiketrains import bin_times, match_spikes, spike_times_ms

        from engine.baselines import LIFConfig, LIFNetwork, LIFTrainer, lif_output_spikes

        task = PatternTask(seed=self.seed)
        net = self.network
        if net is None:
            ex = Experiment(task, dt_ms=1.0, mode="spatial", seed=self.seed)
            for _ in range(self.epochs):
                ex.run_epoch()
            net = ex.net
        gamma, lif = {}, {}
        # LIF with a spiking output, BPTT + surrogate gradient at 1 ms on the filtered spikes
        lif_net = LIFNetwork(LIFConfig(sizes=(task.n_inputs, task.n_hidden, task.n_outputs),
                                       dt_ms=1.0, readout="count", weight_gain=(8.0, 2.0)),
                             seed=self.seed)
        trainer = LIFTrainer(lif_net, mode="bptt", loss="mse", lr=1e-2, mse_kernel=(5.0, 1.0))
        train_inputs = bin_times(task.input_times(), 1.0, task.duration_ms).unsqueeze(1)
        for _ in range(self.epochs):
            trainer.train_sequence(train_inputs, task.target_signal(1.0, 5.0, 1.0))
        for dt in DTS_MS:
            copy_net = copy.deepcopy(net)
            copy_net._step_hooks.clear()
            copy_net.set_dt(dt)
            res = simulate(copy_net, task.batch(copy_net)[0])
            gamma[dt] = {"spike_ms": spike_times_ms(res.spikes[-1][:, 0], dt)[0].numpy(),
                         **task.metrics(res), "rate_hz": res.spikes_per_neuron_per_s()}
            inputs = bin_times(task.input_times(), dt, task.duration_ms).unsqueeze(1)
            lif_net.set_dt(dt)
            spikes, out = lif_output_spikes(lif_net, inputs)
            times = spike_times_ms(spikes[:, 0], dt)[0]
            matched = match_spikes(times, task.target_times()[0], task.tolerance_ms)
            n_neurons = sum(c.numel() for c in out.spike_counts)
            lif[dt] = {"spike_ms": times.numpy(), "matched_fraction": matched / task.n_targets,
                       "output_spikes": int(spikes.sum()),
                       "rate_hz": float(sum(c.sum() for c in out.spike_counts)) / n_neurons
                       / (task.duration_ms / 1000)}
        self.results = {"gamma": gamma, "lif": lif,
                        "target_ms": task.target_times()[0].numpy()}
        self.status = f"done: trained {self.epochs} epochs at 1 ms, simulated at {DTS_MS} ms"
        return self.results
