"""`coincidence`: delayed coincidence detection, as in sound localisation by interaural time
difference (the barn owl). Two input populations receive the same spike trains, the second
delayed by Δ (one of ``itds_ms``); the network classifies Δ, so it must learn delays."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..buckets import bucket_delays_ms
from ..config import NetworkConfig, check_positive
from ..network import Network
from ..neuron import kernel_delay_ms
from ..simulate import simulate
from .spiketrains import bin_times, poisson_times


@dataclass(frozen=True)
class CoincidenceTask:
    """``n_per_side`` channels per population at ``rate_hz``, ``duration_ms`` long; population B
    is population A delayed by Δ ∈ ``itds_ms``; the label is Δ's index. Per-step cross-entropy on
    a linear readout after ``warmup_ms``."""

    n_per_side: int = 8
    n_hidden: int = 24
    itds_ms: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0, 8.0)
    rate_hz: float = 80.0
    duration_ms: float = 60.0
    batch_size: int = 32
    n_test: int = 200
    seed: int = 0
    name: str = "coincidence"
    loss: str = "ce"
    warmup_ms: float = 20.0
    lr: float = 1e-2

    def __post_init__(self):
        for f in ("n_per_side", "n_hidden", "batch_size", "n_test"):
            check_positive(f, getattr(self, f), integer=True, minimum=1, inclusive=True)
        check_positive("rate_hz", self.rate_hz)
        check_positive("duration_ms", self.duration_ms, minimum=self.warmup_ms)
        if len(self.itds_ms) < 2 or any(d < 0 for d in self.itds_ms):
            raise ValueError(f"itds_ms must hold at least two delays >= 0 ms (got {self.itds_ms!r})")

    @property
    def n_classes(self) -> int:
        return len(self.itds_ms)

    def network_config(self, dt_ms: float = 1.0, **overrides) -> NetworkConfig:
        """τ = 2 ms, K = 6, per-synapse bucket weights (every synapse learns its own delay)."""
        kw = dict(sizes=(2 * self.n_per_side, self.n_hidden, self.n_classes), dt_ms=dt_ms,
                  tau_ms=2.0, n_buckets=6, threshold=(0.1, 0.5), bucket_weights="synapse",
                  readout="linear", weight_gain=(3.0, 1.0))
        kw.update(overrides)
        return NetworkConfig(**kw)

    # ------------------------------------------------------------------ data
    def sample_times(self, generator: torch.Generator) -> tuple[list[torch.Tensor], int]:
        label = int(torch.randint(self.n_classes, (1,), generator=generator))
        left = poisson_times(self.n_per_side, self.rate_hz, self.duration_ms, generator)
        right = [t + self.itds_ms[label] for t in left]
        return left + right, label

    def _batch(self, dt_ms: float, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(seed)
        samples = [self.sample_times(gen) for _ in range(n)]
        inputs = torch.stack([bin_times(tr, dt_ms, self.duration_ms) for tr, _ in samples], 1)
        return inputs, torch.tensor([lab for _, lab in samples])  # [T, B, 2n], [B]

    def batch(self, net: Network, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """A fresh training batch per epoch: (inputs [T, B, 2n], labels [B])."""
        return self._batch(net.dt_ms, self.batch_size, self.seed * 100003 + epoch + 1)

    def test_set(self, dt_ms: float) -> tuple[torch.Tensor, torch.Tensor]:
        return self._batch(dt_ms, self.n_test, self.seed * 100003 + 10**6)

    # ------------------------------------------------------------------ metrics
    def predictions(self, logits: torch.Tensor, dt_ms: float) -> torch.Tensor:
        """Class with the largest logit summed after the warm-up. logits [T, B, C] → [B]."""
        warm = int(round(self.warmup_ms / dt_ms))
        return logits[warm:].sum(0).argmax(-1)

    def learned_delays_ms(self, net: Network) -> list[float]:
        """Each output neuron's learned effective delay (ms): over hidden units, the |w|-weighted
        delay of population A's synapses minus B's (the v-weighted mean bucket delay), averaged
        with the output's positive weights. A detector of Δ should approach Δ."""
        hid = net.layers[0]
        delays = bucket_delays_ms(hid.tau_ms.detach())  # [K]
        v = hid.bucket_weight.detach()
        v = v if v.dim() == 3 else v.unsqueeze(1).expand(-1, hid.weight.shape[1], -1)
        d = kernel_delay_ms(v, delays)  # [H, 2n]
        w = hid.weight.detach().clamp_min(0)  # excitatory synapses carry the timing
        n = self.n_per_side
        wa, wb = w[:, :n], w[:, n:]
        da = (wa * d[:, :n]).sum(1) / wa.sum(1).clamp_min(1e-9)
        db = (wb * d[:, n:]).sum(1) / wb.sum(1).clamp_min(1e-9)
        unit = da - db  # [H]
        w_out = net.layers[1].weight.detach().clamp_min(0)  # [C, H]
        return ((w_out * unit).sum(1) / w_out.sum(1).clamp_min(1e-9)).tolist()

    def evaluate(self, net: Network) -> dict:
        inputs, labels = self.test_set(net.dt_ms)
        result = simulate(net, inputs, keep="all")
        pred = self.predictions(result.preacts[-1], net.dt_ms)
        hidden_rate = result.spikes_per_neuron_per_s(0, batch_size=inputs.shape[1])
        return {"accuracy": float((pred == labels).double().mean()),
                "learned_delay_ms": [round(x, 2) for x in self.learned_delays_ms(net)],
                "itds_ms": list(self.itds_ms),
                "spikes_per_neuron_per_s": hidden_rate}

    def metrics(self, result, labels: torch.Tensor) -> dict:
        pred = self.predictions(result.preacts[-1], result.dt_ms)
        return {"accuracy": float((pred == labels).double().mean())}

    @property
    def score_name(self) -> str:
        return "accuracy"
