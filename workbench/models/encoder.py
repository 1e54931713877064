"""Encoder lab state: one analog signal, sigma-delta coded at threshold ϑ and step dt. No Panel.

The simulation is the engine's: a Network with analog input (``input_encoding="analog"``), whose
input spikes and input bucket 0 (the receivers' estimate ŷ⁰) are recorded with a Recorder.
Equations: ``engine/model/encoder.py`` (encoder_step).
"""
from __future__ import annotations

import numpy as np
import param

from .neuron import saturation_warning

DURATION_MS = 200.0


def test_signal(time_ms: np.ndarray) -> np.ndarray:
    """The lab's signal (signal units, ≥ 0): a slow wave, a faster one and a step at 120 ms."""
    return (0.5 + 0.3 * np.sin(2 * np.pi * time_ms / 80.0) + 0.15 * np.sin(2 * np.pi * time_ms / 13.0)
            + 0.4 * (time_ms >= 120.0))


class EncoderLabModel(param.Parameterized):
    dt_ms = param.Number(0.5, bounds=(0.05, 5.0), doc="time step (ms)")
    tau_ms = param.Number(10.0, bounds=(0.5, 50.0), doc="decay τ of the estimate ŷ⁰ (ms)")
    threshold = param.Number(0.05, bounds=(0.005, 1.0), doc="sigma-delta threshold ϑ")

    @param.depends("dt_ms", "tau_ms", "threshold")
    def simulate(self) -> dict:
        """Encode the signal; numpy arrays with time in ms and summary numbers."""
        import torch

        from engine import Network, NetworkConfig, Recorder, simulate

        cfg = NetworkConfig(sizes=(1, 1), dt_ms=self.dt_ms, tau_ms=self.tau_ms, n_buckets=1,
                            input_encoding="analog", input_threshold=self.threshold,
                            dtype="float64")
        t = np.arange(int(round(DURATION_MS / self.dt_ms))) * self.dt_ms
        y = test_signal(t)
        inputs = torch.as_tensor(y).reshape(-1, 1, 1)  # [T, 1, 1]
        net = Network(cfg)
        with Recorder(net, ["input.spikes", "layers.0.buckets"]) as rec:
            simulate(net, inputs)
        spikes = rec["input.spikes"][:, 0, 0].numpy()
        estimate = rec["layers.0.buckets"][:, 0, 0, 0].numpy()  # ŷ⁰ of the input [T]
        err = y - estimate
        settle = t >= 5 * self.tau_ms  # the estimate starts at 0: judge it after it caught up
        return {"time_ms": t, "signal": y, "estimate": estimate, "spike_ms": t[spikes > 0],
                "threshold": self.threshold, "n_spikes": int(spikes.sum()),
                "rate_hz": float(spikes.sum()) / (DURATION_MS / 1000.0),
                "rms_error": float(np.sqrt(np.mean(err[settle] ** 2))),
                "max_error": float(np.abs(err[settle]).max()),
                "warning": saturation_warning(self.threshold, self.tau_ms, self.dt_ms, float(y.max()))}
