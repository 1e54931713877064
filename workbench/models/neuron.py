"""Neuron lab settings: one neuron, its K gamma buckets, signal, sigma-delta spikes. No Panel.

The simulation is the engine's: a Network with sizes (1, 1) and a Recorder on
``layers.0.buckets/signal/estimate/spikes`` (equations: engine/model/buckets.py, engine/model/encoder.py).
"""
from __future__ import annotations

import numpy as np
import param

DURATION_MS = 200.0
INPUT_TIMES_MS = (20.0, 23.0, 26.0, 29.0, 32.0, 90.0, 140.0, 142.0, 144.0, 146.0, 148.0, 150.0)
#: URL query keys of the settings (the page syncs them with pn.state.location)
URL_KEYS = {"dt_ms": "dt", "tau_ms": "tau", "n_buckets": "K", "threshold": "theta",
            "delay_ms": "delay", "spread": "spread", "weight": "w"}


def saturation_warning(threshold: float, tau_ms: float, dt_ms: float, max_signal: float) -> str:
    """Non-empty when 2ϑτ/dt (what one spike per step can follow) is below the signal: the
    encoder then sends several spikes in one step, where the paper's would saturate."""
    cap = 2 * threshold * tau_ms / dt_ms
    if cap < max_signal:
        return (f"One spike per step would saturate here: 2ϑτ/dt = {cap:.3g} is below the "
                f"largest signal {max_signal:.3g}, so the encoder sends several spikes in some "
                "steps (the paper's one-spike encoder, max_spikes_per_step=1, could not keep up; "
                "MODEL.md §6). Lower dt or raise ϑ or τ to keep one spike per step.")
    return ""


class NeuronLabModel(param.Parameterized):
    """Settings of the Neuron lab (bounds, step, label and help of each) and its simulation."""

    dt_ms = param.Number(
        0.5, bounds=(0.05, 5.0), step=0.05, label="dt (ms)",
        doc="Time step (ms). The kernels below do not change with dt (to O(dt/τ)).")
    tau_ms = param.Number(
        5.0, bounds=(0.5, 20.0), step=0.5, label="τ (ms)",
        doc="Time constant τ of every bucket (ms); bucket k peaks near k·τ.")
    n_buckets = param.Integer(6, bounds=(1, 10), label="buckets K",
                              doc="Number of gamma buckets K.")
    threshold = param.Number(
        0.1, bounds=(0.01, 1.0), step=0.01, label="ϑ",
        doc="Sigma-delta threshold ϑ (signal units): each spike adds 2ϑ to the estimate.")
    delay_ms = param.Number(
        15.0, bounds=(0.0, 60.0), step=0.5, label="delay (ms)",
        doc="Hand-set delay (ms): the bucket weights v peak on the bucket whose mean delay "
            "(k+1)·τ is nearest.")
    spread = param.Number(
        0.5, bounds=(0.0, 3.0), step=0.05, label="spread (buckets)",
        doc="Width of the Gaussian of v over buckets (in buckets; 0 = one bucket).")
    weight = param.Number(1.0, bounds=(0.1, 20.0), step=0.01, label="weight w",
                          doc="Synaptic weight w (signal units per unit bucket).")

    def bucket_weights(self) -> np.ndarray:
        """v^k: a Gaussian over bucket index centred on the bucket nearest delay_ms, sum 1."""
        k = np.arange(self.n_buckets)
        centre = np.clip(self.delay_ms / self.tau_ms - 1.0, 0, self.n_buckets - 1)
        if self.spread <= 0:
            v = (k == int(round(centre))).astype(float)
        else:
            v = np.exp(-0.5 * ((k - centre) / self.spread) ** 2)
        return v / v.sum()

    def saturation_warning(self, max_signal: float) -> str:
        return saturation_warning(self.threshold, self.tau_ms, self.dt_ms, max_signal)

    @param.depends("dt_ms", "tau_ms", "n_buckets", "threshold", "delay_ms", "spread", "weight")
    def simulate(self) -> dict:
        """Run the neuron; returns numpy arrays with time in ms."""
        import torch

        from engine import Network, NetworkConfig, Recorder, simulate
        from engine.model.buckets import bucket_delays_ms, gamma_kernels
        from engine.tasks.spiketrains import bin_times

        cfg = NetworkConfig(sizes=(1, 1), dt_ms=self.dt_ms, tau_ms=self.tau_ms,
                            n_buckets=self.n_buckets, threshold=self.threshold, bias=False,
                            dtype="float64")
        net = Network(cfg)
        with torch.no_grad():
            net.layers[0].weight.fill_(self.weight)
            net.layers[0].bucket_weight.copy_(torch.as_tensor(self.bucket_weights())[None])
        inputs = bin_times([torch.tensor(INPUT_TIMES_MS, dtype=torch.float64)], self.dt_ms,
                           DURATION_MS).unsqueeze(1).double()  # [T, 1, 1]
        names = ["layers.0.buckets", "layers.0.signal", "layers.0.estimate", "layers.0.spikes"]
        with Recorder(net, names) as rec:
            simulate(net, inputs)
        t = np.arange(inputs.shape[0]) * self.dt_ms
        tau = torch.full((self.n_buckets,), self.tau_ms, dtype=torch.float64)
        kern = gamma_kernels(self.dt_ms, tau, 10 * self.tau_ms + self.n_buckets * self.tau_ms)
        signal = rec["layers.0.signal"][:, 0, 0].numpy()
        spikes = rec["layers.0.spikes"][:, 0, 0].numpy()
        return {
            "time_ms": t, "input_ms": np.asarray(INPUT_TIMES_MS),
            "buckets": rec["layers.0.buckets"][:, 0, 0, :].numpy(),  # [T, K]
            "signal": signal, "estimate": rec["layers.0.estimate"][:, 0, 0].numpy(),
            "spike_ms": t[spikes > 0],
            "kernel_time_ms": np.arange(kern.shape[0]) * self.dt_ms,
            "kernels": kern.numpy(),  # response to one spike of height 1: the same at every dt
            "bucket_delay_ms": bucket_delays_ms(tau).numpy(), "v": self.bucket_weights(),
            "rate_hz": float(spikes.sum()) / (DURATION_MS / 1000.0),
            "warning": self.saturation_warning(float(signal.max())),
        }
