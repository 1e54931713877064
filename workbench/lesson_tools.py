"""What a lesson and its exercise checks both compute (lessons hold no reusable logic). No Panel."""
from __future__ import annotations

import numpy as np
import torch

from engine import Network, NetworkConfig, Recorder, simulate
from engine.model.buckets import gamma_kernels
from engine.tasks.spiketrains import bin_times

#: lesson 3's coincidence neuron: τ, K, output threshold and bias
COINCIDENCE = {"tau_ms": 5.0, "n_buckets": 6, "threshold": 0.1, "bias": -1.2}


def coincidence_net(bucket_a: int, weight_a: float, dt_ms: float = 0.5) -> Network:
    """Lesson 3's two-input neuron: A's synapse all on bucket ``bucket_a`` with weight
    ``weight_a``, B's on bucket 0 with weight 1, bias −1.2."""
    c = COINCIDENCE
    cfg = NetworkConfig(sizes=(2, 1), dt_ms=dt_ms, tau_ms=c["tau_ms"], n_buckets=c["n_buckets"],
                        threshold=c["threshold"], bucket_weights="synapse", dtype="float64")
    net = Network(cfg, seed=0)
    v = torch.zeros(1, 2, c["n_buckets"], dtype=torch.float64)
    v[0, 0, int(bucket_a)], v[0, 1, 0] = 1.0, 1.0
    with torch.no_grad():
        net.layers[0].bucket_weight.copy_(v)
        net.layers[0].weight.copy_(torch.tensor([[float(weight_a), 1.0]], dtype=torch.float64))
        net.layers[0].bias.fill_(c["bias"])
    return net


def coincidence_response(net: Network, delta_ms: float, onset_ms: float = 30.0,
                         duration_ms: float = 100.0) -> tuple[np.ndarray, int]:
    """A spikes at ``onset_ms``, B ``delta_ms`` later: → (the signal y(t), output spikes)."""
    dt_ms = net.cfg.dt_ms
    times = [torch.tensor([onset_ms], dtype=torch.float64),
             torch.tensor([onset_ms + float(delta_ms)], dtype=torch.float64)]
    inputs = bin_times(times, dt_ms, duration_ms).unsqueeze(1).double()  # [T, 1, 2]
    with Recorder(net, ["layers.0.signal"]) as rec:
        result = simulate(net, inputs)
    return rec["layers.0.signal"][:, 0, 0].numpy(), int(result.spikes[-1].sum())


def coincidence_tuning(bucket_a: int, weight_a: float, dt_ms: float = 0.5,
                       deltas_ms=tuple(range(0, 31, 5))) -> dict[float, tuple[float, int]]:
    """{Δ: (peak of y, output spikes)} of :func:`coincidence_net` for each Δ of ``deltas_ms``."""
    net = coincidence_net(bucket_a, weight_a, dt_ms)
    out = {}
    for delta in deltas_ms:
        y, spikes = coincidence_response(net, float(delta))
        out[float(delta)] = (float(y.max()), spikes)
    return out


def pair_lag_ms(v_a, tau_ms: float = 2.0, max_lag_ms: float = 20.0,
                resolution_ms: float = 0.1) -> float:
    """The lag Δ at which a synapse pair lines up best: A's kernel Σₖ vₖ·hₖ(t), B's kernel h₀
    (bucket 0), B arriving Δ later; the Δ maximising max_t [κ_A(t) + κ_B(t − Δ)], the rule
    ``CoincidenceTask.hidden_tuning_ms`` applies to each hidden unit, searched over 0–``max_lag_ms``."""
    v = torch.as_tensor(v_a, dtype=torch.float64)
    kern = gamma_kernels(resolution_ms, torch.full((v.numel(),), float(tau_ms)),
                         max_lag_ms + 20 * tau_ms * v.numel()).double()  # [L, K]
    a, b = kern @ v, kern[:, 0]
    lags = range(int(round(max_lag_ms / resolution_ms)) + 1)
    score = torch.stack([(a + torch.cat([torch.zeros(lag, dtype=b.dtype), b[:b.numel() - lag]]))
                         .max() for lag in lags])
    return float(score.argmax()) * resolution_ms
