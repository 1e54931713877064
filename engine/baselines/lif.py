"""A feed-forward LIF network, the baseline SpikingGamma is compared against.

One step, hidden layer l (time constants in ms, so any dt simulates the same model):

    v_l(t) = β_l · v_l(t−1) + W_l s_{l−1}(t) + b_l        β_l = exp(−dt / tau_mem_ms)
    s_l(t) = H(v_l(t) − ϑ)                                  surrogate: fast sigmoid
    v_l(t) ← v_l(t) − ϑ · s_l(t)                            reset by subtraction

An input spike delivers the charge W (not W·dt), so the same events give the same voltages at
every dt. Readout: ``"integrator"`` u(t) = β_out u(t−1) + W_out s_L(t) + b (logits u(t), one per
step), or ``"count"`` (logits = output-layer spike count so far). Surrogate derivative
∂s/∂v := 1 / (1 + slope·|v − ϑ|)² (the fast sigmoid of Zenke & Ganguli, snnTorch's default).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from ..config import check_choice, check_positive
from ..units import alpha_from_tau


class FastSigmoidSpike(torch.autograd.Function):
    """Heaviside forward; fast-sigmoid derivative backward."""

    @staticmethod
    def forward(ctx, v_minus_theta: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.save_for_backward(v_minus_theta)
        ctx.slope = slope
        return (v_minus_theta > 0).to(v_minus_theta.dtype)

    @staticmethod
    def backward(ctx, grad):
        (u,) = ctx.saved_tensors
        return grad / (1.0 + ctx.slope * u.abs()) ** 2, None


def spike_fn(v_minus_theta: torch.Tensor, slope: float) -> torch.Tensor:
    return FastSigmoidSpike.apply(v_minus_theta, slope)


@dataclass(frozen=True)
class LIFConfig:
    """A LIF network ``sizes = (n_in, hidden..., n_out)``.

    Args:
        dt_ms: time step (ms). tau_mem_ms: membrane time constant of hidden/output LIF layers
        (ms). tau_out_ms: the leaky-integrator readout's time constant (ms). threshold: ϑ.
        slope: surrogate steepness. readout: ``"integrator"`` or ``"count"``.
        weight_gain: weights start N(0, (gain/√n_in)²), one value or one per layer.
        tau_mem_max_ms: None (every neuron τ = tau_mem_ms) or > tau_mem_ms: the hidden neurons'
        τ spread log-evenly from tau_mem_ms to this, fixed (heterogeneous time constants,
        Perez-Nieves et al. 2021), so that a feed-forward layer holds inputs for as long as
        SpikingGamma's longest buckets do. The output layer keeps tau_mem_ms.
    """

    sizes: tuple[int, ...] = (50, 50, 2)
    dt_ms: float = 1.0
    tau_mem_ms: float = 10.0
    tau_out_ms: float = 20.0
    threshold: float = 1.0
    slope: float = 25.0
    readout: str = "integrator"
    weight_gain: float | tuple = 1.0
    tau_mem_max_ms: float | None = None

    def __post_init__(self):
        if len(self.sizes) < 2 or any(not isinstance(n, int) or n < 1 for n in self.sizes):
            raise ValueError(f"sizes must be a tuple of >= 2 positive integers (got {self.sizes!r})")
        for f in ("dt_ms", "tau_mem_ms", "tau_out_ms", "threshold", "slope"):
            check_positive(f, getattr(self, f))
        check_choice("readout", self.readout, ("integrator", "count"))
        if self.tau_mem_max_ms is not None and not (
                isinstance(self.tau_mem_max_ms, (int, float)) and math.isfinite(self.tau_mem_max_ms)
                and self.tau_mem_max_ms > self.tau_mem_ms):
            raise ValueError(f"tau_mem_max_ms must be None or a finite number > tau_mem_ms = "
                             f"{self.tau_mem_ms} (ms; got {self.tau_mem_max_ms!r})")

    def hidden_taus(self, n: int) -> torch.Tensor | float:
        """The membrane τ (ms) of a hidden layer of ``n`` neurons: one value, or [n] spread
        log-evenly from tau_mem_ms to tau_mem_max_ms."""
        if self.tau_mem_max_ms is None:
            return self.tau_mem_ms
        return torch.logspace(math.log10(self.tau_mem_ms), math.log10(self.tau_mem_max_ms), n)

    def gains(self) -> tuple[float, ...]:
        n = len(self.sizes) - 1
        g = self.weight_gain
        return tuple(g) if isinstance(g, (list, tuple)) else (float(g),) * n


class LIFState(NamedTuple):
    """Membrane potentials, one [B, N_l] per layer (the readout's integrator last)."""

    v: tuple[torch.Tensor, ...]


class LIFStep(NamedTuple):
    spikes: tuple[torch.Tensor, ...]  # [B, N_l] per spiking layer (hidden, and output if "count")
    logits: torch.Tensor              # [B, n_out] readout at this step
    v_out: torch.Tensor               # [B, n_out] the last layer's membrane before its reset


class LIFNetwork(nn.Module):
    """Feed-forward LIF layers (nn.Linear weights [N_out, N_in]) and a readout."""

    def __init__(self, cfg: LIFConfig, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        gen = torch.Generator().manual_seed(int(seed))
        self.layers = nn.ModuleList()
        for (n_in, n_out), gain in zip(zip(cfg.sizes[:-1], cfg.sizes[1:]), cfg.gains()):
            lin = nn.Linear(n_in, n_out)
            with torch.no_grad():
                lin.weight.copy_(torch.randn(n_out, n_in, generator=gen) * gain / math.sqrt(n_in))
                lin.bias.zero_()
            self.layers.append(lin)

    @property
    def dt_ms(self) -> float:
        return self.cfg.dt_ms

    def set_dt(self, dt_ms: float) -> None:
        from dataclasses import replace
        self.cfg = replace(self.cfg, dt_ms=dt_ms)

    def betas(self) -> list:
        """Per layer: the decay β = exp(−dt/τ), a float, or [N_l] for spread hidden τ."""
        cfg = self.cfg
        taus = [cfg.hidden_taus(lin.out_features) for lin in self.layers[:-1]]
        taus.append(cfg.tau_out_ms if cfg.readout == "integrator" else cfg.tau_mem_ms)
        return [alpha_from_tau(cfg.dt_ms, tau) for tau in taus]

    def init_state(self, batch_size: int) -> LIFState:
        return LIFState(tuple(torch.zeros(batch_size, lin.out_features) for lin in self.layers))

    def step(self, input_t: torch.Tensor, state: LIFState, currents=None) -> tuple[LIFStep, LIFState]:
        """One step of every layer. Shape: input_t [B, n_in] → logits [B, n_out].

        ``currents``: optional ``f(l, s_in, linear) -> current`` (the OTTT learner swaps in its
        trace-carrying current); default ``linear(s_in)``.
        """
        cfg, betas = self.cfg, self.betas()
        s, spikes, new_v = input_t, [], []
        n = len(self.layers)
        for l, lin in enumerate(self.layers):
            i_t = lin(s) if currents is None else currents(l, s, lin)  # [B, N_l]
            v = betas[l] * state.v[l] + i_t
            if l == n - 1 and cfg.readout == "integrator":
                new_v.append(v)
                return LIFStep(tuple(spikes), v, v), LIFState(tuple(new_v))
            v_pre = v
            s = spike_fn(v - cfg.threshold, cfg.slope)
            v = v - cfg.threshold * s.detach()
            spikes.append(s)
            new_v.append(v)
        return LIFStep(tuple(spikes), s, v_pre), LIFState(tuple(new_v))
