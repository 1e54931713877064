"""`coincidence`: delayed coincidence detection, as in sound localisation by interaural time
difference (the barn owl). Two input populations receive the same spike trains, the second
delayed by Δ (one of ``itds_ms``); the network classifies Δ, so it must learn delays."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..model.buckets import bucket_delays_ms, gamma_kernels
from ..config import NetworkConfig, check_positive
from ..model.network import Network
from ..run.simulate import simulate
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
    #: what ``spikinggamma train --task coincidence`` uses when its flags leave them open, and the
    #: hidden spike cost, its weight grown from 0 over this fraction of the default epochs
    #: (BENCHMARKS.md, issue 17: 99.5 % at 47 Hz and within 0.5 points from 1 to 0.1 ms; 800
    #: epochs at 1e-5 from the start: 99.5 % at 549 Hz; at 5e-4 from the start the layer falls
    #: silent)
    default_mode: str = "spatial"
    default_epochs: int = 1600
    spike_cost: float = 6e-4
    spike_cost_ramp: float = 0.5

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
        """τ = 2 ms, K = 6, per-synapse bucket weights (every synapse learns its own delay), and
        events through a 1-ms input synapse (engine.model.synapse): trained at one dt, the
        network keeps its accuracy at the others."""
        kw = dict(sizes=(2 * self.n_per_side, self.n_hidden, self.n_classes), dt_ms=dt_ms,
                  tau_ms=2.0, n_buckets=6, threshold=(0.1, 0.5), bucket_weights="synapse",
                  readout="linear", weight_gain=(3.0, 1.0), input_synapse_ms=1.0)
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

    def hidden_tuning_ms(self, net: Network, resolution_ms: float = 0.1) -> torch.Tensor:
        """The ITD each hidden unit is tuned to (ms), read from its learned synaptic kernels.

        Channel i of population A and channel i of B carry the same train, B later by Δ. Unit h
        filters them with kernels κ_hi(t) = w_hi Σ_k v_hik h_k(t) (h_k: bucket k's gamma
        kernel), so one spike pair drives it by κ_{h,A_i}(t) + κ_{h,B_i}(t − Δ). Its preferred Δ
        is the lag that maximises the peak of that drive, summed over channels,
        Σ_i max_t [κ_{h,A_i}(t) + κ_{h,B_i}(t − Δ)], searched over [0, max ITD + 2 ms]. Shape: → [H].
        """
        hid = net.layers[0]
        # long enough for B's kernel shifted by the largest lag (a short kernel, e.g. K = 1, is not)
        horizon = float(bucket_delays_ms(hid.tau_ms.detach())[-1]) * 4 + max(self.itds_ms) + 2.0
        kern = gamma_kernels(resolution_ms, hid.tau_ms.detach(), horizon)  # [L, K]
        v = hid.bucket_weight.detach().double()
        v = v if v.dim() == 3 else v.unsqueeze(1).expand(-1, hid.weight.shape[1], -1)
        synaptic = hid.weight.detach().double().unsqueeze(-1) * v  # [H, 2n, K]
        kappa = synaptic @ kern.T  # [H, 2n, L]
        n = self.n_per_side
        a, b = kappa[:, :n], kappa[:, n:]  # [H, n, L]
        lags = range(int(round((max(self.itds_ms) + 2.0) / resolution_ms)) + 1)
        pad = torch.zeros_like(b)
        # B's kernel shifted Δ = lag steps later
        score = torch.stack([(a + torch.cat([pad[..., :lag], b[..., :b.shape[-1] - lag]], -1))
                             .amax(-1).sum(1) for lag in lags], -1)  # [H, lags]
        return score.argmax(-1).double() * resolution_ms  # [H]

    def learned_delays_ms(self, net: Network) -> list[float]:
        """Each output neuron's learned effective delay (ms): the ITD tunings of the hidden units
        (:meth:`hidden_tuning_ms`), averaged with the output's positive weights. A detector of
        Δ should approach Δ (MODEL.md §6: kernel correlation reads tuning better than the
        v-weighted mean bucket delay)."""
        tuning = self.hidden_tuning_ms(net)  # [H]
        w_out = net.layers[1].weight.detach().double().clamp_min(0)  # [C, H]
        return ((w_out * tuning).sum(1) / w_out.sum(1).clamp_min(1e-9)).tolist()

    def evaluate(self, net: Network) -> dict:
        inputs, labels = self.test_set(net.dt_ms)
        result = simulate(net, inputs, keep="all")
        pred = self.predictions(result.preacts[-1], net.dt_ms)
        counts = result.hardware_counts()
        return {"accuracy": float((pred == labels).double().mean()),
                "learned_delay_ms": [round(x, 2) for x in self.learned_delays_ms(net)],
                "itds_ms": list(self.itds_ms),
                "spikes_per_neuron_per_s": counts["hidden_spikes_per_neuron_per_s"], **counts}

    def metrics(self, result, labels: torch.Tensor) -> dict:
        pred = self.predictions(result.preacts[-1], result.dt_ms)
        return {"accuracy": float((pred == labels).double().mean())}

    @property
    def score_name(self) -> str:
        return "accuracy"
